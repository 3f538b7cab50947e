/**
 * The two stacks: stateful (tables and their key; termination-protected, RETAIN) and
 * stateless (functions, API, schedule, dashboards), so no change to the API stack can lose
 * a credential. Recreating it does change the API's URL (hence the default issuer) and its
 * usage plans; docs/deploy.md says what that means for live tokens and clients.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { Env } from '../common/names';
import { FUNCTION_NAME_OUTPUT, StackOutput, TABLE_NAME_OUTPUT, type FunctionName } from '../common/functions';
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

export interface TollgateApiStackProps extends StackProps {
  readonly config: TollgateConfig;
  readonly tables: TollgateTables;
  /** @see GatewayProps.requireUsageKey */
  readonly requireUsageKey?: boolean;
  /** @see GatewayProps.tokenRouteThrottle */
  readonly tokenRouteThrottle?: ThrottleSettings;
}

export class TollgateApiStack extends Stack {
  readonly gateway: Gateway;
  readonly functions: { readonly [K in FunctionName]: TollgateFunction };
  readonly rotation: SigningKeyRotation;
  readonly fanout: RevocationFanout;
  readonly observability: Observability;
  readonly metering: UsageMetering;
  /** The `iss` of every access token: the configured issuer, or the API's own URL. */
  readonly issuer: string;

  constructor(scope: Construct, id: string, props: TollgateApiStackProps) {
    super(scope, id, { description: 'Tollgate: API, authorizer, token functions, rotation (stateless)', ...props });
    const { config, tables } = props;
    const settings = functionSettings(config);

    this.rotation = new SigningKeyRotation(this, 'Rotation', { tables, keySpec: config.keySpec, environment: settings.rotation });
    const tokenApi = new TokenApi(this, 'TokenApi', {
      tables,
      keyRing: this.rotation.keyRing,
      rotationFunction: this.rotation.function.fn,
      tokenEnvironment: settings.token,
      adminEnvironment: settings.admin,
    });
    const leaks = new LeakResponse(this, 'LeakResponse', {
      tables,
      environment: settings.leaks,
      eventBus: this.rotation.eventBus,
    });
    const authorizer = new TokenAuthorizer(this, 'Authorizer', {
      tables,
      environment: settings.authorizer,
      cacheTtlSeconds: config.authorizerCacheTtlSeconds,
    });
    this.gateway = new Gateway(this, 'Gateway', {
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
    this.rotation.watchUpstreamCertificates(this.gateway.upstreamCertificate, this.gateway.nextUpstreamCertificate);
    if (config.leakRevokeRateLimitPerIp !== undefined) {
      new LeakRateLimit(this, 'LeakRateLimit', { stage: this.gateway.api.deploymentStage, limit: config.leakRevokeRateLimitPerIp });
    }
    // Per-client throttling: wired after the gateway exists, by values that make no cycle
    // (docs/throttling.md).
    this.gateway.useFallbackUsageKey(authorizer.function);
    this.gateway.grantUsageRegistration(tokenApi.admin);
    // One value for the signer and the verifier: a token is only valid where both agree.
    this.issuer = config.issuer ?? this.gateway.baseUrl;
    for (const fn of [tokenApi.token, authorizer.function]) fn.addEnvironment(Env.issuer, this.issuer);

    this.fanout = new RevocationFanout(this, 'Fanout', {
      tables,
      restApiId: this.gateway.restApiId,
      stageName: config.stageName,
      flushAuthorizerCache: config.authorizerCacheTtlSeconds > 0,
      environment: settings.fanout,
    });
    this.metering = new UsageMetering(this, 'Metering', {
      tables,
      accessLogs: this.gateway.accessLogs,
      environment: settings.metering,
      eventBus: this.rotation.eventBus,
    });
    this.functions = {
      metering: this.metering.function,
      authorizer: authorizer.function,
      token: tokenApi.token,
      admin: tokenApi.admin,
      fanout: this.fanout.function,
      leaks: leaks.function,
      rotation: this.rotation.function,
    };
    this.observability = new Observability(this, 'Observability', {
      gateway: this.gateway,
      functions: this.functions,
      fanoutDlq: this.fanout.dlq,
      rotationIntervalDays: config.rotationIntervalDays,
      revocationViewMaxStaleSeconds: config.revocationViewMaxStaleSeconds,
    });
    this.metering.observe(this.observability.dashboard, this.observability.alarmTopic);
    this.addOutputs(tables);
  }

  private addOutputs(tables: TollgateTables): void {
    const output = (key: string, value: string, description: string) => new CfnOutput(this, key, { value, description });
    output(StackOutput.apiUrl, this.gateway.api.url, 'Base URL of the Tollgate API (token, admin and proxied routes)');
    output(StackOutput.region, this.region, 'Region of the API, for SigV4-signed admin calls');
    output(StackOutput.restApiId, this.gateway.restApiId, 'REST API id');
    output(StackOutput.stageName, this.gateway.stageName, 'API stage');
    output(StackOutput.usagePlanId, this.gateway.usagePlan.usagePlanId, 'Usage plan that client usage keys are registered with');
    output(
      StackOutput.upstreamClientCertificateId,
      this.gateway.upstreamCertificate.ref,
      'Client certificate the stage presents to the upstream; the upstream must verify it (aws apigateway get-client-certificate gives its PEM)',
    );
    const next = this.gateway.nextUpstreamCertificate;
    if (next) {
      output(
        StackOutput.nextUpstreamClientCertificateId,
        next.ref,
        'Client certificate the stage presents once upstreamCertificateGeneration is raised by one; have the upstream trust it first',
      );
    }
    output(StackOutput.alarmTopicArn, this.observability.alarmTopic.topicArn, 'Subscribe here to receive Tollgate alarms');
    output(StackOutput.dashboardName, this.observability.dashboard.dashboardName, 'CloudWatch dashboard');
    for (const [name, fn] of Object.entries(this.functions) as [FunctionName, TollgateFunction][]) {
      output(FUNCTION_NAME_OUTPUT[name], fn.fn.functionName, `Lambda function: ${name}`);
    }
    for (const [key, table] of Object.entries(tables) as [TableKey, TollgateTables[TableKey]][]) {
      output(TABLE_NAME_OUTPUT[key], table.tableName, `DynamoDB table: ${key}`);
    }
  }
}
