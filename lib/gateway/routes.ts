/**
 * The API's routes: Tollgate's own (`common/api-routes.ts`: token routes public, admin
 * routes IAM-signed) to their functions, and every other path of each service proxied to its
 * upstream behind the Lambda authorizer, with the caller's identity in headers and without
 * the caller's bearer token.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import {
  AuthorizationType,
  HttpIntegration,
  type IAuthorizer,
  type IModel,
  type IRequestValidator,
  type LambdaIntegration,
  type MethodOptions,
  type RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { type ApiRoute, PROXY_PARAMETER, upstreamResources } from '../../common/api-routes';
import { METHOD_OVERRIDE_HEADERS, PATH_OVERRIDE_HEADERS, UpstreamHeader, UpstreamHeaderSource, type UpstreamHeaderKey } from '../../common/gateway-contract';
import { INTEGRATION_TIMEOUT_SECONDS } from '../../common/gateway-responses';
import type { ServiceDefinition } from '../../common/services';
import { staticValue } from './responses';

/**
 * Admin routes whose body is a required JSON object: API Gateway refuses anything else
 * (malformed JSON, an array, a string) before the function runs. Routes with an optional
 * body (roll, rotate) are left to the function, which validates every field either way.
 */
export const JSON_BODY_ROUTES: ReadonlySet<string> = new Set(['POST /admin/clients/{clientId}/keys']);

/** The greedy parameter of an upstream proxy resource, as its method request names it. */
const PROXY_METHOD_PARAMETER = `method.request.path.${PROXY_PARAMETER}`;

/** Integration request parameters for the upstream: identity headers in, bearer token out. */
function upstreamRequestParameters(forwardBearerToken: boolean, withProxyPath: boolean): Record<string, string> {
  // Every name of the upstream header set is mapped, so the integration request carries
  // Tollgate's value under each, never the client's (a mapping sets the integration
  // request's header, replacing what the client sent under that name). A name with no
  // value yet gets an empty static value for the same reason. API Gateway cannot drop
  // other header names from a proxy integration: the authorizer refuses requests that
  // carry any `X-Tollgate-*` header (lambda/core/authorizer/reserved-headers.ts), and docs/api.md
  // states what that covers and what it does not (a request answered from the
  // authorizer cache is not seen by the authorizer).
  const identity = (Object.keys(UpstreamHeader) as UpstreamHeaderKey[]).map((key) => {
    const source = UpstreamHeaderSource[key];
    return [`integration.request.header.${UpstreamHeader[key]}`, source === null ? staticValue('') : `context.authorizer.${source}`] as const;
  });
  return {
    ...(withProxyPath && { [`integration.request.path.${PROXY_PARAMETER}`]: PROXY_METHOD_PARAMETER }),
    ...Object.fromEntries(identity),
    // Overrides neutralised: the method the authorizer decided on, and no other path.
    ...Object.fromEntries(METHOD_OVERRIDE_HEADERS.map((name) => [`integration.request.header.${name}`, 'context.httpMethod'])),
    ...Object.fromEntries(PATH_OVERRIDE_HEADERS.map((name) => [`integration.request.header.${name}`, staticValue('')])),
    // An HTTP proxy integration passes every client header through unless a mapping
    // overrides it; the empty static value replaces the bearer token (docs/api.md#what-the-upstream-receives-upstream-contract).
    ...(!forwardBearerToken && { 'integration.request.header.Authorization': staticValue('') }),
  };
}

/** What a route with a required JSON object body is checked with before its function runs. */
export interface JsonBodyCheck {
  readonly validator: IRequestValidator;
  readonly model: IModel;
}

export function addTollgateRoute(api: RestApi, route: ApiRoute, integration: LambdaIntegration, jsonBodyCheck: JsonBodyCheck): void {
  const resource = api.root.resourceForPath(route.resource);
  const jsonBody = JSON_BODY_ROUTES.has(`${route.method} ${route.resource}`);
  const options: MethodOptions = {
    authorizationType: route.auth === 'operator' ? AuthorizationType.IAM : AuthorizationType.NONE,
    ...(jsonBody && { requestValidator: jsonBodyCheck.validator, requestModels: { 'application/json': jsonBodyCheck.model } }),
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

export interface UpstreamRoutesProps {
  readonly services: readonly ServiceDefinition[];
  readonly authorizer: IAuthorizer;
  readonly forwardBearerToken: boolean;
  /** @default true */
  readonly requireUsageKey?: boolean;
}

export function addUpstreamRoutes(api: RestApi, props: UpstreamRoutesProps): void {
  const protectedMethod = (withProxyPath: boolean): MethodOptions => ({
    authorizer: props.authorizer,
    authorizationType: AuthorizationType.CUSTOM,
    apiKeyRequired: props.requireUsageKey ?? true,
    ...(withProxyPath && { requestParameters: { [PROXY_METHOD_PARAMETER]: true } }),
  });
  const upstream = (url: string, withProxyPath: boolean) =>
    new HttpIntegration(url, {
      proxy: true,
      httpMethod: 'ANY',
      options: {
        requestParameters: upstreamRequestParameters(props.forwardBearerToken, withProxyPath),
        timeout: Duration.seconds(INTEGRATION_TIMEOUT_SECONDS),
      },
    });
  for (const service of props.services) {
    // The prefix's own resource and everything below it; the upstream gets the path with or without the prefix.
    const resources = upstreamResources(service.pathPrefix);
    const keepPrefix = service.stripPrefix === false && service.pathPrefix !== '/';
    const base = `${service.upstreamUrl!}${keepPrefix ? service.pathPrefix : ''}`;
    api.root.resourceForPath(resources.prefix).addMethod('ANY', upstream(keepPrefix ? base : `${base}/`, false), protectedMethod(false));
    api.root.resourceForPath(resources.proxy).addMethod('ANY', upstream(`${base}/{${PROXY_PARAMETER}}`, true), protectedMethod(true));
  }
}
