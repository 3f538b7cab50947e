/**
 * Builds the Tollgate app for infra tests. The fast path skips asset bundling
 * (`aws:cdk:bundling-stacks: []`) and CloudFormation's built-in validation, and resolves
 * the handler entries against a directory of placeholder files: with bundling skipped
 * only their existence matters, so the template is the same whatever the handlers hold.
 * One test (`full-synth.test.ts`) bundles the real handlers instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import { Functions } from '../../common/functions';
import { readConfig } from '../../lib/config';
import type { SettingName } from '../../lib/settings';
import { type FunctionCode, overrideFunctionCode, PROJECT_ROOT } from '../../lib/function';
import { TollgateApiStack, TollgateDataStack } from '../../lib/stacks';

export const UPSTREAM = 'https://upstream.example.com';

let placeholderRoot: string | undefined;

/** A directory holding an empty module at every handler entry path. */
export function placeholderEntries(): string {
  if (placeholderRoot) return placeholderRoot;
  // Under the repository (CDK wants entries under the project root), in the ignored `.local/`.
  const root = path.join(PROJECT_ROOT, '.local', 'infra-entries');
  for (const spec of Object.values(Functions)) {
    const file = path.join(root, spec.entry);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'export const handler = async () => undefined;\n');
  }
  placeholderRoot = root;
  return root;
}

export interface BuiltApp {
  readonly app: App;
  readonly data: TollgateDataStack;
  readonly api: TollgateApiStack;
}

export interface BuildOptions {
  /** Context settings on top of `upstreamUrl`. */
  readonly settings?: Partial<Record<SettingName, unknown>>;
  /** Bundle the real handlers (slow). */
  readonly bundle?: boolean;
  /** Extra app setup before the stacks are built (e.g. validation plugins). */
  readonly outdir?: string;
  /** @see TollgateApiStackProps.requireUsageKey */
  readonly requireUsageKey?: boolean;
  /** The API stack's `tokenRouteThrottle`. */
  readonly tokenRouteThrottle?: ThrottleSettings;
  /** The API stack's id (and name). @default Tollgate */
  readonly apiStackId?: string;
  /** The stacks' account and Region, as the CDK CLI sets them. @default none: both unresolved */
  readonly env?: { readonly account?: string; readonly region?: string };
  /** Construct-tree context on top of the defaults. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Where the functions' code comes from. @default placeholder entries, or the real handlers with `bundle` */
  readonly functionCode?: FunctionCode;
}

/**
 * An `App` for infra tests: with `bundle`, the real handlers bundled at synth; otherwise
 * bundling skipped and every function's code from `functionCode`, placeholder entries by
 * default (through `overrideFunctionCode`, which no CDK context can reach).
 */
export function testApp(options: Pick<BuildOptions, 'bundle' | 'outdir' | 'context' | 'functionCode'> = {}): App {
  const app = new App({
    builtinCloudFormationValidation: false,
    ...(options.outdir && { outdir: options.outdir }),
    context: { ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...options.context },
  });
  const code = options.functionCode ?? (options.bundle ? undefined : { source: placeholderEntries() });
  if (code) overrideFunctionCode(app, code);
  return app;
}

export function buildApp(options: BuildOptions = {}): BuiltApp {
  const settings: Record<string, unknown> = { upstreamUrl: UPSTREAM, ...options.settings };
  const app = testApp(options);
  const config = readConfig((setting) => settings[setting]);
  const env = options.env && { env: options.env };
  const data = new TollgateDataStack(app, 'TollgateData', { ...env });
  const api = new TollgateApiStack(app, options.apiStackId ?? 'Tollgate', {
    ...env,
    config,
    tables: data.data.tables,
    ...(options.requireUsageKey !== undefined && { requireUsageKey: options.requireUsageKey }),
    ...(options.tokenRouteThrottle && { tokenRouteThrottle: options.tokenRouteThrottle }),
  });
  return { app, data, api };
}

/** Resource types and how many of each, CDK's own metadata resource left out (one per stack). */
export function resourceCounts(templates: readonly Record<string, { Type: string }>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resources of templates) for (const { Type } of Object.values(resources)) if (Type !== 'AWS::CDK::Metadata') counts[Type] = (counts[Type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export function template(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** One IAM statement as CloudFormation renders it. */
export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Sid?: string;
}

export const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
export const resourcesOf = (statement: Statement): unknown[] => [statement.Resource].flat();

/** The identity-policy statements of one function's role. */
export function roleStatements(built: BuiltApp, fn: keyof TollgateApiStack['functions']): Statement[] {
  const role = built.api.functions[fn].role;
  const roleId = built.api.getLogicalId(role.node.defaultChild as CfnElement);
  const policies = template(built.api).findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

/** The data stack's logical id of a table, which every reference to it (import or output) contains. */
export function tableLogicalId(built: BuiltApp, table: keyof BuiltApp['data']['data']['tables']): string {
  const resource = built.data.data.tables[table].node.defaultChild as CfnElement;
  return built.data.getLogicalId(resource);
}

type TemplateResources = Record<string, { DependsOn?: string | string[]; Properties?: unknown }>;

/** The logical ids one resource refers to: `Ref`, `Fn::GetAtt`, `Fn::Sub` names and `DependsOn`. */
function referencesOf(resource: TemplateResources[string], ids: ReadonlySet<string>): Set<string> {
  const found = new Set<string>([resource.DependsOn ?? []].flat());
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? String(inner[0]) : String(inner);
        for (const match of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) found.add(match[1]!);
        if (Array.isArray(inner)) walk(inner[1]);
      } else walk(inner);
    }
  };
  walk(resource.Properties);
  return new Set([...found].filter((id) => ids.has(id)));
}

/**
 * A cycle of references between the template's resources (CloudFormation refuses such a
 * template: "Circular dependency between resources"), as the logical ids around it, or
 * undefined. `cdk synth` does not check this within one stack.
 */
export function referenceCycle(resources: TemplateResources): string[] | undefined {
  const ids = new Set(Object.keys(resources));
  const edges = new Map([...ids].map((id) => [id, referencesOf(resources[id]!, ids)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'open');
    stack.push(id);
    for (const next of edges.get(id)!) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}
