/**
 * The REST API (contract §2): Tollgate's own routes from `common/api-routes.ts` (token
 * routes public, admin routes IAM-signed), and every other path proxied to the upstream
 * behind the Lambda authorizer, with the caller's identity in headers and without the
 * caller's bearer token. Refusals use the bodies and headers of
 * `common/gateway-responses.ts`; every request writes one JSON access-log line
 * (`common/access-log.ts`). The stage presents a client certificate to the upstream (mTLS),
 * throttles the unauthenticated token routes per method, and, with `operatorPrincipals`,
 * a resource policy confines the admin routes to those principals.
 */
import { Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKey,
  ApiKeySourceType,
  AuthorizationType,
  CfnClientCertificate,
  EndpointType,
  HttpIntegration,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type GatewayResponseOptions,
  type IAuthorizer,
  type IModel,
  type IRequestValidator,
  type MethodDeploymentOptions,
  type MethodOptions,
  type ThrottleSettings,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { accessLogFormat } from '../common/access-log';
import { withSuspensionBodies } from './usage-metering';
import { API_ROUTES, type ApiFunction, type ApiRoute } from '../common/api-routes';
import type { ServiceDefinition } from '../common/services';
import { ApiPath, Defaults, Env, HTTP_METHODS, METHOD_OVERRIDE_HEADERS, PATH_OVERRIDE_HEADERS, UpstreamHeader, UpstreamHeaderSource, UsageNaming, type UpstreamHeaderKey } from '../common/config';
import {
  AUTHORIZER_FAILURE,
  EXPIRED_CREDENTIALS,
  GATEWAY_FAILURE,
  GATEWAY_REJECTED,
  INSUFFICIENT_SCOPE,
  INTEGRATION_TIMEOUT_SECONDS,
  INVALID_REQUEST_BODY,
  INVALID_TOKEN,
  INVALID_USAGE_KEY,
  NO_ROUTE,
  NO_STORE_HEADERS,
  QUOTA_EXCEEDED,
  THROTTLED,
} from '../common/gateway-responses';
import { LeakPath, LeakThrottle } from '../common/leaks';
import { KMS_TAG_APPLICATION_VALUE, type KeySpec } from '../common/tokens';
import type { TollgateFunction } from './function';
import { acknowledgeUsageRegistrationWildcards, fallbackUsageKeyValue, guardStackUsageResources, usageRegistrationStatements } from './usage-plans';

/** A refusal API Gateway renders itself: status, static headers, JSON body. */
export interface Refusal {
  /** Absent: the status API Gateway gives the response type (DEFAULT_4XX and DEFAULT_5XX cover many). */
  readonly statusCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
}

/**
 * Admin routes whose body is a required JSON object: API Gateway refuses anything else
 * (malformed JSON, an array, a string) before the function runs. Routes with an optional
 * body (roll, rotate) are left to the function, which validates every field either way.
 */
export const JSON_BODY_ROUTES: ReadonlySet<string> = new Set(['POST /admin/clients/{clientId}/keys']);

/** Which refusal answers each gateway response type. */
export const GATEWAY_REFUSALS: ReadonlyArray<readonly [ResponseType, Refusal]> = [
  // No or malformed token: the authorizer throws "Unauthorized" (or API Gateway finds no
  // Authorization header and does not invoke it).
  [ResponseType.UNAUTHORIZED, INVALID_TOKEN],
  // Expired AWS credentials on a SigV4-signed (admin) call; the Lambda authorizer never causes it.
  [ResponseType.EXPIRED_TOKEN, EXPIRED_CREDENTIALS],
  // The authorizer's Deny policy (insufficient scope, unmatched route), an IAM denial or the
  // resource policy's (`operatorPrincipals`): one stage-wide response for all three.
  [ResponseType.ACCESS_DENIED, INSUFFICIENT_SCOPE],
  [ResponseType.AUTHORIZER_FAILURE, AUTHORIZER_FAILURE],
  [ResponseType.AUTHORIZER_CONFIGURATION_ERROR, AUTHORIZER_FAILURE],
  // API Gateway's name for "no method on this resource".
  [ResponseType.MISSING_AUTHENTICATION_TOKEN, NO_ROUTE],
  // Usage plans (per-client throttling): static `Retry-After` headers, as gateway responses allow.
  [ResponseType.THROTTLED, THROTTLED],
  [ResponseType.QUOTA_EXCEEDED, QUOTA_EXCEEDED],
  [ResponseType.INVALID_API_KEY, INVALID_USAGE_KEY],
  [ResponseType.BAD_REQUEST_BODY, INVALID_REQUEST_BODY],
  // Everything else API Gateway answers itself, with the status of the response type.
  [ResponseType.DEFAULT_4XX, GATEWAY_REJECTED],
  [ResponseType.DEFAULT_5XX, GATEWAY_FAILURE],
];

/**
 * A static value in an API Gateway mapping: a string literal in single quotes, with no
 * escape for a quote inside (API Gateway developer guide, "Parameter mapping").
 */
export function staticValue(value: string): string {
  if (value.includes("'")) throw new Error(`API Gateway static values cannot contain a single quote: ${value}`);
  return `'${value}'`;
}

/**
 * A gateway response rendering `refusal`, with the no-store headers every error carries; its
 * body is a VTL template, so it must hold no VTL syntax.
 */
export function gatewayResponse(type: ResponseType, refusal: Refusal): GatewayResponseOptions {
  const body = JSON.stringify(refusal.body);
  if (/[$#]/.test(body)) throw new Error(`gateway response body would be read as VTL: ${body}`);
  const headers = Object.entries({ ...refusal.headers, ...NO_STORE_HEADERS }).map(([name, value]) => [name, staticValue(value)] as const);
  return {
    type,
    ...(refusal.statusCode !== undefined && { statusCode: String(refusal.statusCode) }),
    responseHeaders: Object.fromEntries(headers),
    templates: { 'application/json': body },
  };
}

/** Integration request parameters for the upstream: identity headers in, bearer token out. */
export function upstreamRequestParameters(forwardBearerToken: boolean, withProxyPath: boolean): Record<string, string> {
  // Every name of the upstream header set is mapped, so the integration request carries
  // Tollgate's value under each, never the client's (a mapping sets the integration
  // request's header, replacing what the client sent under that name). A name with no
  // value yet gets an empty static value for the same reason. API Gateway cannot drop
  // other header names from a proxy integration: the authorizer refuses requests that
  // carry any `X-Tollgate-*` header (lambda/core/reserved-headers.ts), and docs/api.md
  // states what that covers and what it does not (a request answered from the
  // authorizer cache is not seen by the authorizer).
  const identity = (Object.keys(UpstreamHeader) as UpstreamHeaderKey[]).map((key) => {
    const source = UpstreamHeaderSource[key];
    return [`integration.request.header.${UpstreamHeader[key]}`, source === null ? staticValue('') : `context.authorizer.${source}`] as const;
  });
  return {
    ...(withProxyPath && { 'integration.request.path.proxy': 'method.request.path.proxy' }),
    ...Object.fromEntries(identity),
    // Overrides neutralised: the method the authorizer decided on, and no other path.
    ...Object.fromEntries(METHOD_OVERRIDE_HEADERS.map((name) => [`integration.request.header.${name}`, 'context.httpMethod'])),
    ...Object.fromEntries(PATH_OVERRIDE_HEADERS.map((name) => [`integration.request.header.${name}`, staticValue('')])),
    // An HTTP proxy integration passes every client header through unless a mapping
    // overrides it; the empty static value replaces the bearer token (contract §2.1).
    ...(!forwardBearerToken && { 'integration.request.header.Authorization': staticValue('') }),
  };
}

/**
 * The stage's settings for every method. Execution logs need the account-wide API Gateway
 * CloudWatch role; the access log attributes every request, and data tracing would log
 * bearer tokens.
 */
const STAGE_METHOD_SETTINGS = { metricsEnabled: true, loggingLevel: MethodLoggingLevel.OFF, dataTraceEnabled: false } as const;

/** The leak endpoints' own method throttles (`common/leaks.ts`): GitHub reports in bursts, the public endpoint is a write path. */
const LEAK_ROUTE_THROTTLES: Readonly<Record<string, ThrottleSettings>> = {
  [LeakPath.github]: LeakThrottle.github,
  [LeakPath.revoke]: LeakThrottle.revoke,
};

/**
 * Per-method stage settings of the unauthenticated Tollgate routes: nothing else limits them
 * (the usage plans apply only to upstream methods, after the authorizer), so each gets its
 * own rate and burst, shared by all its callers. A method's entry replaces the stage-wide
 * settings for that method, so it repeats {@link STAGE_METHOD_SETTINGS}.
 */
export function publicRouteThrottles(tokenRoute: ThrottleSettings): Record<string, MethodDeploymentOptions> {
  const entries = API_ROUTES.filter((route) => route.auth === 'public').map((route) => {
    const throttle = route.resource === ApiPath.token ? tokenRoute : (LEAK_ROUTE_THROTTLES[route.resource] ?? Defaults.publicRouteThrottle);
    const options: MethodDeploymentOptions = {
      throttlingRateLimit: throttle.rateLimit,
      throttlingBurstLimit: throttle.burstLimit,
      ...STAGE_METHOD_SETTINGS,
    };
    // CDK's methodOptions key: the resource path, then the method.
    return [`${route.resource}/${route.method}`, options] as const;
  });
  return Object.fromEntries(entries);
}

/**
 * The REST API's resource policy when operators are named: every route stays open to every
 * caller as before (the token, JWKS and upstream routes are not IAM-authorized, so without
 * the Allow they would refuse everyone), and an explicit Deny refuses the admin paths to
 * any principal whose `aws:PrincipalArn` matches none of `operatorPrincipals`. Within one
 * account an Allow in a resource policy does not narrow who IAM admits; only the Deny does
 * (and the Allow admits a matching principal of this account even without an IAM policy of
 * its own that allows `execute-api:Invoke`).
 *
 * The resources use the `execute-api:/` shorthand API Gateway expands to this API (its ARN
 * would make the API refer to itself), with the stage and each method spelled out: in an
 * ARN pattern `*` also matches `/`, so a wildcard method would let the Deny
 * catch `/v1/GET/orders/admin/x` too. Each method names the bare `/admin` as well as
 * `/admin/*` (which, `*` matching the empty string, also covers `/admin/`): a path API
 * Gateway answers under the admin prefix, with or without a trailing slash, is an operator's.
 * An unsigned caller has no `aws:PrincipalArn`, which `ArnNotLike` counts as no match: refused.
 */
export function operatorResourcePolicy(stageName: string, operatorPrincipals: readonly string[]): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'InvokeEveryRoute',
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        sid: 'AdminRoutesOnlyForOperators',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: HTTP_METHODS.flatMap((method) => [`execute-api:/${stageName}/${method}${ApiPath.admin}`, `execute-api:/${stageName}/${method}${ApiPath.admin}/*`]),
        conditions: { ArnNotLike: { 'aws:PrincipalArn': [...operatorPrincipals] } },
      }),
    ],
  });
}

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
   * Rate and burst of `POST /oauth/token`, all callers together.
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
   * @default `Defaults.upstreamCertificateGeneration`
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
  private readonly bodyValidator: IRequestValidator;
  private readonly jsonObjectModel: IModel;

  constructor(scope: Construct, id: string, props: GatewayProps) {
    super(scope, id);
    this.stageName = props.stageName;
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.ONE_YEAR });
    const generation = props.upstreamCertificateGeneration ?? Defaults.upstreamCertificateGeneration;
    this.upstreamCertificate = this.upstreamCertificateOf(generation);
    if (props.prepareNextUpstreamCertificate) this.nextUpstreamCertificate = this.upstreamCertificateOf(generation + 1);
    const policy = props.operatorPrincipals && operatorResourcePolicy(props.stageName, props.operatorPrincipals);
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
        methodOptions: publicRouteThrottles(props.tokenRouteThrottle ?? Defaults.tokenRouteThrottle[props.keySpec]),
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(accessLogFormat()),
        ...STAGE_METHOD_SETTINGS,
      },
    });
    for (const [type, refusal] of GATEWAY_REFUSALS) {
      const response = gatewayResponse(type, refusal);
      // A suspended client's Deny is an ACCESS_DENIED too: its body names the suspension (docs/usage.md).
      this.api.addGatewayResponse(type.responseType, type === ResponseType.ACCESS_DENIED ? withSuspensionBodies(response) : response);
    }
    this.bodyValidator = this.api.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    this.jsonObjectModel = this.api.addModel('JsonObject', {
      contentType: 'application/json',
      modelName: 'JsonObject',
      schema: { schema: JsonSchemaVersion.DRAFT4, title: 'JsonObject', type: JsonSchemaType.OBJECT },
    });

    const integrations = {
      token: new LambdaIntegration(props.functions.token, { allowTestInvoke: false }),
      admin: new LambdaIntegration(props.functions.admin, { allowTestInvoke: false }),
      leaks: new LambdaIntegration(props.functions.leaks, { allowTestInvoke: false }),
    };
    for (const route of API_ROUTES) this.addTollgateRoute(route, integrations[route.fn]);
    this.addUpstream(props);

    this.usagePlan = this.api.addUsagePlan('ClientPlan', {
      name: this.usagePlanName,
      description: 'Tollgate: default per-client throttle; client usage keys are registered here',
      throttle: props.clientThrottle ?? { rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    // The admin function may bind and unbind keys only in Tollgate-tagged plans (lib/usage-plans.ts).
    Tags.of(this.usagePlan).add(UsageNaming.applicationTag, KMS_TAG_APPLICATION_VALUE);
    const fallbackKeyId = 'FallbackUsageKey';
    this.fallbackUsageKeyValue = fallbackUsageKeyValue(Stack.of(this).stackName, `${this.node.path}/${fallbackKeyId}`);
    // Not tagged as Tollgate's; the admin function's explicit Denies (guardStackUsageResources) keep it from deleting or unbinding it.
    this.fallbackUsageKey = new ApiKey(this, fallbackKeyId, {
      apiKeyName: `${Stack.of(this).stackName}-fallback-usage-key`,
      description: 'Tollgate: usage key of clients without their own (registration failed or pending); they share its bucket',
      value: this.fallbackUsageKeyValue,
      enabled: true,
    });
    this.usagePlan.addApiKey(this.fallbackUsageKey);
    if (props.wafWebAclArn) {
      new CfnWebACLAssociation(this, 'Waf', { resourceArn: this.api.deploymentStage.stageArn, webAclArn: props.wafWebAclArn });
    } else {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: 'A web ACL is the operator\'s choice (setting wafWebAclArn associates one; docs/deploy.md recommends a rate-based rule). Without it the token, revocation and JWKS methods have their own stage throttles (the token endpoint under the KMS Sign quota), upstream requests need a valid access token and are then throttled per client by the usage plan, and admin requests need SigV4; authorizer invocations for unknown tokens are limited only by the account-level API Gateway throttle.',
      });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG6',
        reason: 'Execution logging needs the account-wide API Gateway CloudWatch role, which this stack does not own; the JSON access log attributes every request, and the functions log every decision.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'Callers are authorized by the Tollgate Lambda authorizer (access tokens), IAM SigV4 (admin routes) or client credentials checked in the token function; no Cognito user pool is involved.',
      },
    );
  }

  get restApiId(): string {
    return this.api.restApiId;
  }

  /** The default plan's name, by which the admin function finds it (its id would be a dependency cycle). */
  get usagePlanName(): string {
    return `${Stack.of(this).stackName}-clients`;
  }

  /**
   * Grant and wire in one call, for the admin function: the API Gateway permissions usage-key
   * registration needs, and the variables naming the default plan and its stage. The REST
   * API id is a reference the function may hold (the API does not depend on its methods);
   * the plan's id is not (plan -> stage -> methods -> function).
   */
  grantUsageRegistration(fn: TollgateFunction): void {
    for (const statement of usageRegistrationStatements(Stack.of(this))) fn.role.addToPolicy(statement);
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

  private addTollgateRoute(route: ApiRoute, integration: LambdaIntegration): void {
    const resource = this.api.root.resourceForPath(route.resource);
    const jsonBody = JSON_BODY_ROUTES.has(`${route.method} ${route.resource}`);
    const options: MethodOptions = {
      authorizationType: route.auth === 'operator' ? AuthorizationType.IAM : AuthorizationType.NONE,
      ...(jsonBody && { requestValidator: this.bodyValidator, requestModels: { 'application/json': this.jsonObjectModel } }),
    };
    const method = resource.addMethod(route.method, integration, options);
    if (route.auth === 'public') {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          route.fn === 'leaks'
            ? 'Leak reports: GitHub signs its secret-scanning reports (verified in the leak function before anything else), and anyone holding a leaked key may revoke it (the endpoint answers the same whatever it is sent); both are method-throttled.'
            : 'OAuth token, revocation, JWKS and discovery endpoints: clients authenticate with their API key inside the token function (RFC 6749 §2.3), and the JWKS and metadata documents are public by design (RFC 7517, RFC 8414, RFC 9728).',
      });
    }
  }

  /**
   * Generation 1 keeps the logical id the certificate had before generations existed, so a
   * stack deployed then keeps presenting the certificate its upstream already trusts.
   * Retained when it leaves the template: the deployment that switches to the next
   * generation must not delete the one the upstream still accepts, in case the switch has
   * to be undone; the operator deletes it once the new one is seen working (docs/deploy.md).
   */
  private upstreamCertificateOf(generation: number): CfnClientCertificate {
    const certificate = new CfnClientCertificate(this, generation === 1 ? 'UpstreamCertificate' : `UpstreamCertificateGen${generation}`, {
      description: `Tollgate ${Stack.of(this).stackName}: upstream client certificate, generation ${generation}; the upstream must verify it before trusting the X-Tollgate-* headers`,
    });
    certificate.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return certificate;
  }

  private addUpstream(props: GatewayProps): void {
    const protectedMethod = (withProxyPath: boolean): MethodOptions => ({
      authorizer: props.authorizer,
      authorizationType: AuthorizationType.CUSTOM,
      apiKeyRequired: props.requireUsageKey ?? true,
      ...(withProxyPath && { requestParameters: { 'method.request.path.proxy': true } }),
    });
    const upstream = (url: string, withProxyPath: boolean) =>
      new HttpIntegration(url, {
        proxy: true,
        httpMethod: 'ANY',
        options: { requestParameters: upstreamRequestParameters(props.forwardBearerToken, withProxyPath), timeout: Duration.seconds(INTEGRATION_TIMEOUT_SECONDS) },
      });
    for (const service of props.services) {
      // The prefix's own resource and everything below it; the upstream gets the path with or without the prefix.
      const resource = service.pathPrefix === '/' ? this.api.root : this.api.root.resourceForPath(service.pathPrefix);
      const keepPrefix = service.stripPrefix === false && service.pathPrefix !== '/';
      const base = `${service.upstreamUrl!}${keepPrefix ? service.pathPrefix : ''}`;
      resource.addMethod('ANY', upstream(keepPrefix ? base : `${base}/`, false), protectedMethod(false));
      resource.addResource('{proxy+}').addMethod('ANY', upstream(`${base}/{proxy}`, true), protectedMethod(true));
    }
  }

}
