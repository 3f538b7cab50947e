/**
 * The two stacks: stateful (tables and their key; termination-protected, RETAIN) and
 * stateless (functions, API, schedule, dashboards), so no change to the API stack can lose
 * a credential. Recreating it does change the API's URL (hence the default issuer) and its
 * usage plans; docs/deploy.md says what that means for live tokens and clients. The stateless
 * half is also a construct of its own ({@link TollgateApi}), which `Tollgate` (`lib/tollgate.ts`)
 * puts next to the tables in one scope.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { Env } from '../common/names';
import type { FunctionName } from '../common/functions';
import { FUNCTION_NAME_OUTPUT, StackOutput, TABLE_NAME_OUTPUT } from '../common/stack-outputs';
import type { TableKey } from '../common/tables';
import { TokenAuthorizer } from './authorizer';
import { functionSettings } from './function-settings';
import type { TollgateConfig } from './settings';
import { TokenData, type TollgateTables } from './data';
import { RevocationFanout } from './fanout';
import type { TollgateFunction } from './function';
import { Gateway } from './gateway';
import { LeakRateLimit, LeakResponse } from './leak-response';
import { Observability } from './observability';
import { SigningKeyRotation } from './rotation';
import { TokenApi } from './token-api';
import { UsageMetering } from './usage-metering';

export class TollgateDataStack extends Stack {
  readonly data: TokenData;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, { terminationProtection: true, description: 'Tollgate: credential tables (stateful)', ...props });
    this.data = new TokenData(this, 'Data');
  }
}

/** What the stateless half is built from. */
export interface TollgateApiProps {
  readonly config: TollgateConfig;
  readonly tables: TollgateTables;
  /** @see GatewayProps.requireUsageKey */
  readonly requireUsageKey?: boolean;
  /** @see GatewayProps.tokenRouteThrottle */
  readonly tokenRouteThrottle?: ThrottleSettings;
  /**
   * Whether to add the stack outputs the CLI's `tollgate --stack` reads (`ApiUrl`, `Region`,
   * the function and table names…). They have those fixed keys wherever the construct sits,
   * so a stack can hold one Tollgate with outputs, and no output of its own under one of
   * those keys: turn them off for any other. Without them `tollgate --stack` cannot operate
   * this Tollgate. @default true
   */
  readonly outputs?: boolean;
}

/** The stateless half of Tollgate as it is built: functions, API, rotation, fan-out, dashboards. */
export interface TollgateApiParts {
  readonly gateway: Gateway;
  readonly functions: { readonly [K in FunctionName]: TollgateFunction };
  readonly rotation: SigningKeyRotation;
  readonly fanout: RevocationFanout;
  readonly observability: Observability;
  readonly metering: UsageMetering;
  /** The `iss` of every access token: the configured issuer, or the API's own URL. */
  readonly issuer: string;
}

export interface TollgateApiStackProps extends StackProps, TollgateApiProps {}

/** The stateless half in a stack of its own, next to a {@link TollgateDataStack}. */
export class TollgateApiStack extends Stack implements TollgateApiParts {
  declare readonly gateway: Gateway;
  declare readonly functions: { readonly [K in FunctionName]: TollgateFunction };
  declare readonly rotation: SigningKeyRotation;
  declare readonly fanout: RevocationFanout;
  declare readonly observability: Observability;
  declare readonly metering: UsageMetering;
  declare readonly issuer: string;

  constructor(scope: Construct, id: string, props: TollgateApiStackProps) {
    super(scope, id, { description: 'Tollgate: API, authorizer, token functions, rotation (stateless)', ...props });
    // Built directly in the stack, not in a child construct, so the stack's logical ids and
    // construct paths are those of every earlier deploy.
    Object.assign(this, buildApi(this, props));
  }
}

/** The stateless half as a construct in any stack, for tables made elsewhere (a {@link TokenData}). */
export class TollgateApi extends Construct implements TollgateApiParts {
  declare readonly gateway: Gateway;
  declare readonly functions: { readonly [K in FunctionName]: TollgateFunction };
  declare readonly rotation: SigningKeyRotation;
  declare readonly fanout: RevocationFanout;
  declare readonly observability: Observability;
  declare readonly metering: UsageMetering;
  declare readonly issuer: string;

  constructor(scope: Construct, id: string, props: TollgateApiProps) {
    super(scope, id);
    Object.assign(this, buildApi(this, props));
  }
}

/**
 * Builds the stateless half into `scope` (a stack or a construct) and adds its outputs there.
 * The two classes above `Object.assign` the result to themselves: their `declare`d fields emit
 * no initialiser, and `implements TollgateApiParts` keeps their list in step with this type.
 */
function buildApi(scope: Construct, props: TollgateApiProps): TollgateApiParts {
  const { config, tables } = props;
  const settings = functionSettings(config);

  const rotation = new SigningKeyRotation(scope, 'Rotation', {
    tables,
    keySpec: config.keySpec,
    keyDeletionWindowDays: config.keyDeletionWindowDays,
    environment: settings.rotation,
  });
  const tokenApi = new TokenApi(scope, 'TokenApi', {
    tables,
    keyRing: rotation.keyRing,
    rotationFunction: rotation.function.fn,
    tokenEnvironment: settings.token,
    adminEnvironment: settings.admin,
  });
  const leaks = new LeakResponse(scope, 'LeakResponse', {
    tables,
    environment: settings.leaks,
    eventBus: rotation.eventBus,
  });
  const authorizer = new TokenAuthorizer(scope, 'Authorizer', {
    tables,
    environment: settings.authorizer,
    cacheTtlSeconds: config.authorizerCacheTtlSeconds,
  });
  const gateway = new Gateway(scope, 'Gateway', {
    services: config.services,
    stageName: config.stageName,
    authorizer: authorizer.authorizer,
    functions: { token: tokenApi.token.fn, admin: tokenApi.admin.fn, leaks: leaks.function.fn },
    forwardBearerToken: config.forwardBearerToken,
    keySpec: config.keySpec,
    ...(config.operatorPrincipals && { operatorPrincipals: config.operatorPrincipals }),
    ...(config.wafWebAclArn && { wafWebAclArn: config.wafWebAclArn }),
    ...(props.requireUsageKey !== undefined && { requireUsageKey: props.requireUsageKey }),
    ...(props.tokenRouteThrottle && { tokenRouteThrottle: props.tokenRouteThrottle }),
    upstreamCertificateGeneration: config.upstreamCertificateGeneration,
    prepareNextUpstreamCertificate: config.prepareNextUpstreamCertificate,
  });
  rotation.watchUpstreamCertificates(gateway.upstreamCertificate, gateway.nextUpstreamCertificate);
  if (config.leakRevokeRateLimitPerIp !== undefined) {
    new LeakRateLimit(scope, 'LeakRateLimit', { stage: gateway.api.deploymentStage, limit: config.leakRevokeRateLimitPerIp });
  }
  // Per-client throttling: wired after the gateway exists, by values that make no cycle
  // (docs/throttling.md).
  gateway.useFallbackUsageKey(authorizer.function);
  gateway.grantUsageRegistration(tokenApi.admin);
  // One value for the signer and the verifier: a token is only valid where both agree.
  const issuer = config.issuer ?? gateway.baseUrl;
  for (const fn of [tokenApi.token, authorizer.function]) fn.addEnvironment(Env.issuer, issuer);

  const fanout = new RevocationFanout(scope, 'Fanout', {
    tables,
    restApiId: gateway.restApiId,
    stageName: config.stageName,
    flushAuthorizerCache: config.authorizerCacheTtlSeconds > 0,
    environment: settings.fanout,
  });
  const metering = new UsageMetering(scope, 'Metering', {
    tables,
    accessLogs: gateway.accessLogs,
    environment: settings.metering,
    eventBus: rotation.eventBus,
  });
  const functions = {
    metering: metering.function,
    authorizer: authorizer.function,
    token: tokenApi.token,
    admin: tokenApi.admin,
    fanout: fanout.function,
    leaks: leaks.function,
    rotation: rotation.function,
  };
  const observability = new Observability(scope, 'Observability', {
    gateway,
    functions,
    fanoutDlq: fanout.dlq,
    rotationIntervalDays: config.rotationIntervalDays,
    revocationViewMaxStaleSeconds: config.revocationViewMaxStaleSeconds,
  });
  metering.observe(observability.dashboard, observability.alarmTopic);
  const parts = { gateway, functions, rotation, fanout, observability, metering, issuer };
  if (props.outputs ?? true) addOutputs(scope, parts, tables);
  return parts;
}

/** The outputs each Tollgate construct added with the CLI's fixed keys, by the construct. */
const FIXED_KEY_OUTPUTS = new WeakMap<CfnOutput, Construct>();

/**
 * The outputs the CLI's `--stack` reads by key (`StackOutput`). Inside a construct their
 * logical ids would carry its path, so there they are given the plain key: one Tollgate with
 * outputs per stack, and no other output under those keys. CloudFormation's unique output
 * keys would enforce that too, but CDK only finds the clash when it renders the template
 * (`section 'Outputs' already contains 'ApiUrl'`); {@link outputClashes} names the cause and
 * the fix, at construction for what the stack holds already and as a validation at synth for
 * what is added later.
 */
function addOutputs(scope: Construct, api: TollgateApiParts, tables: TollgateTables): void {
  const inStack = Stack.isStack(scope);
  if (!inStack) {
    const clashes = outputClashes(scope, FIXED_KEYS);
    if (clashes.length > 0) throw new Error(clashes[0]);
    scope.node.addValidation({ validate: () => outputClashes(scope, FIXED_KEYS) });
  }
  const output = (key: string, value: string, description: string) => {
    const made = new CfnOutput(scope, key, { value, description });
    if (!inStack) {
      made.overrideLogicalId(key);
      FIXED_KEY_OUTPUTS.set(made, scope);
    }
  };
  output(StackOutput.apiUrl, api.gateway.api.url, 'Base URL of the Tollgate API (token, admin and proxied routes)');
  output(StackOutput.region, Stack.of(scope).region, 'Region of the API, for SigV4-signed admin calls');
  output(StackOutput.restApiId, api.gateway.restApiId, 'REST API id');
  output(StackOutput.stageName, api.gateway.stageName, 'API stage');
  output(StackOutput.usagePlanId, api.gateway.usagePlan.usagePlanId, 'Usage plan that client usage keys are registered with');
  output(
    StackOutput.upstreamClientCertificateId,
    api.gateway.upstreamCertificate.ref,
    'Client certificate the stage presents to the upstream; the upstream must verify it (aws apigateway get-client-certificate gives its PEM)',
  );
  const next = api.gateway.nextUpstreamCertificate;
  if (next) {
    output(
      StackOutput.nextUpstreamClientCertificateId,
      next.ref,
      'Client certificate the stage presents once upstreamCertificateGeneration is raised by one; have the upstream trust it first',
    );
  }
  output(StackOutput.alarmTopicArn, api.observability.alarmTopic.topicArn, 'Subscribe here to receive Tollgate alarms');
  output(StackOutput.dashboardName, api.observability.dashboard.dashboardName, 'CloudWatch dashboard');
  for (const [name, fn] of Object.entries(api.functions) as [FunctionName, TollgateFunction][]) {
    output(FUNCTION_NAME_OUTPUT[name], fn.fn.functionName, `Lambda function: ${name}`);
  }
  for (const [key, table] of Object.entries(tables) as [TableKey, TollgateTables[TableKey]][]) {
    output(TABLE_NAME_OUTPUT[key], table.tableName, `DynamoDB table: ${key}`);
  }
}

/** Every key {@link addOutputs} may give an output. */
const FIXED_KEYS: ReadonlySet<string> = new Set([...Object.values(StackOutput), ...Object.values(FUNCTION_NAME_OUTPUT), ...Object.values(TABLE_NAME_OUTPUT)]);

/**
 * What keeps `scope`'s outputs from their fixed keys in its stack: another output, of the
 * stack or of another Tollgate, under one of `keys`. One message per clash.
 */
function outputClashes(scope: Construct, keys: ReadonlySet<string>): string[] {
  const stack = Stack.of(scope);
  const messages: string[] = [];
  for (const construct of stack.node.findAll()) {
    if (!(construct instanceof CfnOutput) || Stack.of(construct) !== stack) continue;
    const owner = FIXED_KEY_OUTPUTS.get(construct);
    if (owner === scope) continue;
    const key = stack.resolve(construct.logicalId) as string;
    if (!keys.has(key)) continue;
    messages.push(
      owner
        ? `Tollgate at ${scope.node.path}: stack ${stack.node.path} already has a Tollgate with outputs (${owner.node.path}), and the outputs' keys are fixed (the CLI's --stack reads them); pass \`outputs: false\` to all but one Tollgate in the stack`
        : `Tollgate at ${scope.node.path}: stack ${stack.node.path} has an output of its own with the key ${key} (${construct.node.path}), one of the fixed keys of Tollgate's outputs (the CLI's --stack reads them); rename that output, or pass \`outputs: false\` to Tollgate`,
    );
    if (owner) break;
  }
  return messages;
}
