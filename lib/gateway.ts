/**
 * The REST API (contract §2): Tollgate's own routes from `common/api-routes.ts` (token
 * routes public, admin routes IAM-signed), and every other path proxied to the upstream
 * behind the Lambda authorizer, with the caller's identity in headers and without the
 * caller's bearer token. Refusals use the bodies and headers of
 * `common/gateway-responses.ts`; every request writes one JSON access-log line
 * (`common/access-log.ts`).
 */
import { Duration, Stack, Tags, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKey,
  ApiKeySourceType,
  AuthorizationType,
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
  type MethodOptions,
  type ThrottleSettings,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { accessLogFormat } from '../common/access-log';
import { API_ROUTES, type ApiFunction, type ApiRoute } from '../common/api-routes';
import { AuthorizerContextKey, Defaults, Env, UpstreamHeader, UsageNaming } from '../common/config';
import { AUTHORIZER_FAILURE, INSUFFICIENT_SCOPE, INVALID_TOKEN, INVALID_USAGE_KEY, NO_ROUTE, QUOTA_EXCEEDED, THROTTLED } from '../common/gateway-responses';
import { KMS_TAG_APPLICATION_VALUE } from '../common/tokens';
import type { TollgateFunction } from './function';
import { acknowledgeUsageRegistrationWildcards, fallbackUsageKeyValue, usageRegistrationStatements } from './usage-plans';

/** A refusal API Gateway renders itself: status, static headers, JSON body. */
export interface Refusal {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
}

/**
 * Admin routes whose body is a required JSON object: API Gateway refuses anything else
 * (malformed JSON, an array, a string) before the function runs. Routes with an optional
 * body (roll, rotate) are left to the function, which validates every field either way.
 */
export const JSON_BODY_ROUTES: ReadonlySet<string> = new Set(['POST /admin/clients/{clientId}/keys']);

/** API Gateway's answer when a request validator rejects the body (BAD_REQUEST_BODY). */
export const INVALID_REQUEST_BODY: Refusal = {
  statusCode: 400,
  body: { error: 'invalid_request', error_description: 'The request body must be a JSON object.' },
};

/** Which refusal answers each gateway response type. */
export const GATEWAY_REFUSALS: ReadonlyArray<readonly [ResponseType, Refusal]> = [
  // No or malformed token: the authorizer throws "Unauthorized" (or API Gateway finds no
  // Authorization header and does not invoke it).
  [ResponseType.UNAUTHORIZED, INVALID_TOKEN],
  [ResponseType.EXPIRED_TOKEN, INVALID_TOKEN],
  // The authorizer's Deny policy (insufficient scope, unmatched route) or an IAM denial.
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
];

/**
 * A static value in an API Gateway mapping: a string literal in single quotes, with no
 * escape for a quote inside (API Gateway developer guide, "Parameter mapping").
 */
export function staticValue(value: string): string {
  if (value.includes("'")) throw new Error(`API Gateway static values cannot contain a single quote: ${value}`);
  return `'${value}'`;
}

/** A gateway response rendering `refusal`; its body is a VTL template, so it must hold no VTL syntax. */
export function gatewayResponse(type: ResponseType, refusal: Refusal): GatewayResponseOptions {
  const body = JSON.stringify(refusal.body);
  if (/[$#]/.test(body)) throw new Error(`gateway response body would be read as VTL: ${body}`);
  const headers = Object.entries(refusal.headers ?? {}).map(([name, value]) => [name, staticValue(value)] as const);
  return {
    type,
    statusCode: String(refusal.statusCode),
    responseHeaders: Object.fromEntries(headers),
    templates: { 'application/json': body },
  };
}

/** Integration request parameters for the upstream: identity headers in, bearer token out. */
export function upstreamRequestParameters(forwardBearerToken: boolean, withProxyPath: boolean): Record<string, string> {
  return {
    ...(withProxyPath && { 'integration.request.path.proxy': 'method.request.path.proxy' }),
    // Set from the authorizer's context, so a client cannot forge them: a header the
    // client sends under the same name is replaced.
    [`integration.request.header.${UpstreamHeader.clientId}`]: `context.authorizer.${AuthorizerContextKey.clientId}`,
    [`integration.request.header.${UpstreamHeader.scopes}`]: `context.authorizer.${AuthorizerContextKey.scopes}`,
    [`integration.request.header.${UpstreamHeader.tokenId}`]: `context.authorizer.${AuthorizerContextKey.jti}`,
    // An HTTP proxy integration passes every client header through unless a mapping
    // overrides it; the empty static value replaces the bearer token (contract §2.1).
    ...(!forwardBearerToken && { 'integration.request.header.Authorization': staticValue('') }),
  };
}

export interface GatewayProps {
  readonly upstreamUrl: string;
  readonly stageName: string;
  readonly authorizer: IAuthorizer;
  readonly functions: { readonly [F in ApiFunction]: IFunction };
  readonly forwardBearerToken: boolean;
  /** A regional WAFv2 web ACL to associate with the stage. */
  readonly wafWebAclArn?: string;
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
  private readonly bodyValidator: IRequestValidator;
  private readonly jsonObjectModel: IModel;

  constructor(scope: Construct, id: string, props: GatewayProps) {
    super(scope, id);
    this.stageName = props.stageName;
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.ONE_YEAR });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'tollgate',
      description: 'Tollgate: API tokens in front of the upstream service',
      endpointTypes: [EndpointType.REGIONAL],
      apiKeySourceType: ApiKeySourceType.AUTHORIZER,
      cloudWatchRole: false,
      deployOptions: {
        stageName: props.stageName,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(accessLogFormat()),
        metricsEnabled: true,
        // Execution logs need the account-wide API Gateway CloudWatch role; the access
        // log attributes every request, and data tracing would log bearer tokens.
        loggingLevel: MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
      },
    });
    for (const [type, refusal] of GATEWAY_REFUSALS) this.api.addGatewayResponse(type.responseType, gatewayResponse(type, refusal));
    this.bodyValidator = this.api.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    this.jsonObjectModel = this.api.addModel('JsonObject', {
      contentType: 'application/json',
      modelName: 'JsonObject',
      schema: { schema: JsonSchemaVersion.DRAFT4, title: 'JsonObject', type: JsonSchemaType.OBJECT },
    });

    const integrations = {
      token: new LambdaIntegration(props.functions.token, { allowTestInvoke: false }),
      admin: new LambdaIntegration(props.functions.admin, { allowTestInvoke: false }),
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
    // Not tagged as Tollgate's: the admin function can never delete or move it.
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
        reason: 'A web ACL is the operator\'s choice (setting wafWebAclArn associates one); without it every upstream request still needs a valid access token, admin requests SigV4, and clients are throttled by the usage plan.',
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
        reason: 'OAuth token, revocation and JWKS endpoints: clients authenticate with their API key inside the token function (RFC 6749 §2.3), and the JWKS is public by design (RFC 7517).',
      });
    }
  }

  private addUpstream(props: GatewayProps): void {
    const protectedMethod = (withProxyPath: boolean): MethodOptions => ({
      authorizer: props.authorizer,
      authorizationType: AuthorizationType.CUSTOM,
      apiKeyRequired: props.requireUsageKey ?? true,
      ...(withProxyPath && { requestParameters: { 'method.request.path.proxy': true } }),
    });
    const upstream = (path: string, withProxyPath: boolean) =>
      new HttpIntegration(`${props.upstreamUrl}${path}`, {
        proxy: true,
        httpMethod: 'ANY',
        options: { requestParameters: upstreamRequestParameters(props.forwardBearerToken, withProxyPath), timeout: Duration.seconds(29) },
      });
    this.api.root.addMethod('ANY', upstream('/', false), protectedMethod(false));
    this.api.root.addResource('{proxy+}').addMethod('ANY', upstream('/{proxy}', true), protectedMethod(true));
  }
}
