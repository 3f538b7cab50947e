/**
 * The REST API (docs/api.md): Tollgate's own routes and the upstream services behind the
 * Lambda authorizer (`routes.ts`), refusals with the bodies and headers of
 * `common/gateway-responses.ts` (`responses.ts`), and one JSON access-log line per request
 * (`common/access-log.ts`). The stage presents a client certificate to the upstream (mTLS,
 * `client-certificates.ts`), throttles the unauthenticated token routes per method
 * (`stage-settings.ts`) and clients by the default usage plan (`client-plan.ts`); with
 * `operatorPrincipals`, a resource policy confines the admin routes to those principals
 * (`resource-policy.ts`).
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  RestApi,
  type ApiKey,
  type CfnClientCertificate,
  type IAuthorizer,
  type ThrottleSettings,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { accessLogFormat } from '../../common/access-log';
import { API_ROUTES, type ApiFunction } from '../../common/api-routes';
import type { ServiceDefinition } from '../../common/services';
import { Defaults } from '../../common/defaults';
import { upstreamCertificateGeneration } from '../../common/settings';
import { Env } from '../../common/names';
import type { KeySpec } from '../../common/tokens';
import type { TollgateFunction } from '../function';
import { ConfigError } from '../settings';
import { acknowledgeUsageRegistrationWildcards, guardStackUsageResources, usageRegistrationStatements } from '../usage-plans';
import { upstreamCertificate } from './client-certificates';
import { addClientPlan, clientPlanName } from './client-plan';
import { operatorResourcePolicy } from './resource-policy';
import { addGatewayResponses } from './responses';
import { addTollgateRoute, addUpstreamRoutes } from './routes';
import { publicRouteThrottles, STAGE_METHOD_SETTINGS, tokenRouteThrottle, tokenRouteThrottleProblems } from './stage-settings';

export interface GatewayProps {
  /**
   * The upstream services (`common/services.ts`), each with its https upstream URL: a
   * resource tree per path prefix (`/` for the single-service form), each proxied to its own
   * upstream.
   */
  readonly services: readonly ServiceDefinition[];
  readonly stageName: string;
  readonly authorizer: IAuthorizer;
  readonly functions: { readonly [F in ApiFunction]: IFunction };
  readonly forwardBearerToken: boolean;
  /** A regional WAFv2 web ACL to associate with the stage. */
  readonly wafWebAclArn?: string;
  /** The signing keys' spec: it bounds how fast `POST /oauth/token` can sign (KMS `Sign` quota). */
  readonly keySpec: KeySpec;
  /**
   * Rate and burst of `POST /oauth/token`, all callers together. A field left out keeps its
   * default; a negative rate, or a burst that is negative or fractional, throws a
   * `ConfigurationError` naming `tokenRouteThrottle`.
   * @default `Defaults.tokenRouteThrottle[keySpec]`, a little under the account's KMS `Sign` quota
   */
  readonly tokenRouteThrottle?: ThrottleSettings;
  /**
   * IAM principal ARN patterns (`aws:PrincipalArn`, `*` and `?` wildcards) that may call the
   * admin routes; a resource policy denies them to everyone else.
   * @default none: any principal whose IAM policy allows `execute-api:Invoke` on the API
   */
  readonly operatorPrincipals?: readonly string[];
  /**
   * Per-client limits of the default usage plan. Clients' usage keys (returned by the
   * authorizer as `usageIdentifierKey`) are registered with this plan.
   * @default `Defaults.rateLimit` requests/s, bursts of `Defaults.burstLimit`
   */
  readonly clientThrottle?: ThrottleSettings;
  /**
   * Make upstream methods require a usage key (`apiKeyRequired`): API Gateway then applies
   * the usage plan holding the authorizer's `usageIdentifierKey` to each request, per key.
   * Safe by default: every allowed token yields a key some plan of the stage holds (the
   * client's own, else the fallback key). Off, no usage plan applies to upstream requests
   * (only the stage's and the account's throttling), e.g. when another layer limits clients.
   * @default true
   */
  readonly requireUsageKey?: boolean;
  /** @default one year */
  readonly accessLogRetention?: RetentionDays;
  /**
   * Which client certificate the stage presents to the upstream. Each generation is its own
   * certificate (its own logical id), so raising it replaces the certificate.
   * @default the `upstreamCertificateGeneration` setting's default
   */
  readonly upstreamCertificateGeneration?: number;
  /**
   * Also create the next generation's certificate without presenting it, so the upstream can
   * be told to trust it before a deployment with the generation raised switches to it.
   * @default false
   */
  readonly prepareNextUpstreamCertificate?: boolean;
}

export class Gateway extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  readonly usagePlan: UsagePlan;
  /**
   * The fallback usage key: an API Gateway API key in the default plan, returned by the
   * authorizer for a token without its client's own key (`uik`). Every such client shares
   * its bucket.
   */
  readonly fallbackUsageKey: ApiKey;
  /** Its value, known at synth (see `fallbackUsageKeyValue`). */
  readonly fallbackUsageKeyValue: string;
  readonly stageName: string;
  /**
   * The client certificate the stage presents to the upstream (TLS client authentication):
   * how the upstream tells requests from this stage, whose identity headers it may trust,
   * from anyone else's. Its PEM: `aws apigateway get-client-certificate`.
   */
  readonly upstreamCertificate: CfnClientCertificate;
  /** Its successor, made ahead of a switch (`prepareNextUpstreamCertificate`); not presented yet. */
  readonly nextUpstreamCertificate?: CfnClientCertificate;

  constructor(scope: Construct, id: string, props: GatewayProps) {
    super(scope, id);
    this.stageName = props.stageName;
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.ONE_YEAR });
    const generation = props.upstreamCertificateGeneration ?? upstreamCertificateGeneration.default;
    this.upstreamCertificate = upstreamCertificate(this, generation);
    if (props.prepareNextUpstreamCertificate) this.nextUpstreamCertificate = upstreamCertificate(this, generation + 1);
    const policy = props.operatorPrincipals && operatorResourcePolicy(props.stageName, props.operatorPrincipals);
    const tokenThrottle = tokenRouteThrottle(props.tokenRouteThrottle, props.keySpec);
    // A `Lazy` rate or burst is known only at synth: checked then, so it fails there, not at deploy.
    this.node.addValidation({ validate: () => tokenRouteThrottleProblems(tokenThrottle, (value) => Stack.of(this).resolve(value)) });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'tollgate',
      description: 'Tollgate: API tokens in front of the upstream service',
      endpointTypes: [EndpointType.REGIONAL],
      apiKeySourceType: ApiKeySourceType.AUTHORIZER,
      cloudWatchRole: false,
      ...(policy && { policy }),
      deployOptions: {
        stageName: props.stageName,
        clientCertificateId: this.upstreamCertificate.ref,
        methodOptions: publicRouteThrottles(tokenThrottle),
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(accessLogFormat()),
        ...STAGE_METHOD_SETTINGS,
      },
    });
    addGatewayResponses(this.api);
    const jsonBodyCheck = {
      validator: this.api.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true }),
      model: this.api.addModel('JsonObject', {
        contentType: 'application/json',
        modelName: 'JsonObject',
        schema: { schema: JsonSchemaVersion.DRAFT4, title: 'JsonObject', type: JsonSchemaType.OBJECT },
      }),
    };

    const integrations = {
      token: new LambdaIntegration(props.functions.token, { allowTestInvoke: false }),
      admin: new LambdaIntegration(props.functions.admin, { allowTestInvoke: false }),
      leaks: new LambdaIntegration(props.functions.leaks, { allowTestInvoke: false }),
    };
    for (const route of API_ROUTES) addTollgateRoute(this.api, route, integrations[route.fn], jsonBodyCheck);
    addUpstreamRoutes(this.api, props);

    const clientPlan = addClientPlan(this, this.api, props.clientThrottle ?? { rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit });
    this.usagePlan = clientPlan.plan;
    this.fallbackUsageKey = clientPlan.fallbackKey;
    this.fallbackUsageKeyValue = clientPlan.fallbackKeyValue;
    if (props.wafWebAclArn) {
      refuseWebAclOfOtherRegion(props.wafWebAclArn, Stack.of(this).region);
      new CfnWebACLAssociation(this, 'Waf', { resourceArn: this.api.deploymentStage.stageArn, webAclArn: props.wafWebAclArn });
    } else {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          "A web ACL is the operator's choice (setting wafWebAclArn associates one; docs/deploy.md recommends a rate-based rule). Without it the token, revocation and JWKS methods have their own stage throttles (the token endpoint under the KMS Sign quota), upstream requests need a valid access token and are then throttled per client by the usage plan, and admin requests need SigV4; authorizer invocations for unknown tokens are limited only by the account-level API Gateway throttle.",
      });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG6',
        reason:
          'Execution logging needs the account-wide API Gateway CloudWatch role, which this stack does not own; the JSON access log attributes every request, and the functions log every decision.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are authorized by the Tollgate Lambda authorizer (access tokens), IAM SigV4 (admin routes) or client credentials checked in the token function; no Cognito user pool is involved.',
      },
    );
  }

  get restApiId(): string {
    return this.api.restApiId;
  }

  /** The default plan's name, by which the admin function finds it (its id would be a dependency cycle). */
  get usagePlanName(): string {
    return clientPlanName(this);
  }

  /**
   * Grant and wire in one call, for the admin function: the API Gateway permissions usage-key
   * registration needs, and the variables naming the default plan and its stage. The REST
   * API id is a reference the function may hold (the API does not depend on its methods);
   * the plan's id is not (plan -> stage -> methods -> function).
   */
  grantUsageRegistration(fn: TollgateFunction): void {
    for (const statement of usageRegistrationStatements(Stack.of(this), this.usagePlanName)) fn.role.addToPolicy(statement);
    acknowledgeUsageRegistrationWildcards(fn);
    guardStackUsageResources(this, fn.role, { plan: this.usagePlan, fallbackKey: this.fallbackUsageKey });
    fn.addEnvironment(Env.defaultUsagePlanName, this.usagePlanName);
    fn.addEnvironment(Env.restApiId, this.restApiId);
    fn.addEnvironment(Env.stageName, this.stageName);
  }

  /** The authorizer: the usage key it returns for tokens without their client's own. */
  useFallbackUsageKey(fn: TollgateFunction): void {
    fn.addEnvironment(Env.fallbackUsageKey, this.fallbackUsageKeyValue);
  }

  /**
   * The stage's base URL built from the API id and the configured stage name, not from
   * the stage resource: functions the stage depends on (authorizer, token) can carry it
   * in their environment without a dependency cycle.
   */
  get baseUrl(): string {
    const stack = Stack.of(this);
    return `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${this.stageName}`;
  }
}

/**
 * A regional web ACL can only be associated with a stage in its own Region, which the
 * setting's check (`common/settings.ts`) cannot see: the stack's Region is known only here,
 * and only when the stack is not environment-agnostic. Then a web ACL of another Region is
 * refused at synth, naming `wafWebAclArn`, rather than by the association at deploy. The
 * ARN itself is always a literal: the setting's pattern refuses a token.
 */
function refuseWebAclOfOtherRegion(webAclArn: string, stackRegion: string): void {
  if (Token.isUnresolved(stackRegion)) return;
  const aclRegion = webAclArn.split(':')[3];
  if (aclRegion === stackRegion) return;
  throw new ConfigError(
    'wafWebAclArn',
    `must be a web ACL in the stack's Region ${stackRegion} (a regional web ACL protects only stages of its own Region), got one in ${aclRegion}: ${JSON.stringify(webAclArn)}`,
  );
}
