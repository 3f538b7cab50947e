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
import { Template } from 'aws-cdk-lib/assertions';
import { Functions } from '../../common/functions';
import { readConfig, type SettingName } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/function';
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
}

export function buildApp(options: BuildOptions = {}): BuiltApp {
  const settings: Record<string, unknown> = { upstreamUrl: UPSTREAM, ...options.settings };
  const app = new App({
    builtinCloudFormationValidation: false,
    ...(options.outdir && { outdir: options.outdir }),
    context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
  const config = readConfig((setting) => settings[setting]);
  const data = new TollgateDataStack(app, 'TollgateData');
  const api = new TollgateApiStack(app, 'Tollgate', {
    config,
    tables: data.data.tables,
    ...(!options.bundle && { entryRoot: placeholderEntries() }),
  });
  return { app, data, api };
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
