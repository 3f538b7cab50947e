/**
 * The stage's gateway responses: how API Gateway's own refusals (no token, a Deny, throttling,
 * a bad body…) answer, with the bodies and headers of `common/gateway-responses.ts`. They are
 * stage-wide: one response per type for every route.
 */
import { ResponseType, type GatewayResponseOptions, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AUTHORIZER_FAILURE,
  EXPIRED_CREDENTIALS,
  GATEWAY_FAILURE,
  GATEWAY_REJECTED,
  INSUFFICIENT_SCOPE,
  INVALID_REQUEST_BODY,
  INVALID_TOKEN,
  INVALID_USAGE_KEY,
  NO_ROUTE,
  NO_STORE_HEADERS,
  QUOTA_EXCEEDED,
  THROTTLED,
} from '../../common/gateway-responses';
import { SUSPENDED_RESPONSES, SuspensionContextKey } from '../../common/usage';

/** A refusal API Gateway renders itself: status, static headers, JSON body. */
export interface Refusal {
  /** Absent: the status API Gateway gives the response type (DEFAULT_4XX and DEFAULT_5XX cover many). */
  readonly statusCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
}

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

/** Every refusal of {@link GATEWAY_REFUSALS} on the API's stage. */
export function addGatewayResponses(api: RestApi): void {
  for (const [type, refusal] of GATEWAY_REFUSALS) {
    const response = gatewayResponse(type, refusal);
    // A suspended client's Deny is an ACCESS_DENIED too: its body names the suspension (docs/usage.md).
    api.addGatewayResponse(type.responseType, type === ResponseType.ACCESS_DENIED ? withSuspensionBodies(response) : response);
  }
}

/**
 * The ACCESS_DENIED gateway response, made to answer a suspended client as the local gateway
 * does: API Gateway renders gateway-response templates with `$context.authorizer.*` from the
 * authorizer's Deny, so the template picks the suspension's body by the context's `refusal` and
 * adds `retry_after` from its `retryAfter`; any other Deny keeps the scope refusal's body.
 * The status and the static headers stay those of ACCESS_DENIED (403).
 */
export function withSuspensionBodies(response: GatewayResponseOptions): GatewayResponseOptions {
  const otherwise = response.templates?.['application/json'];
  if (otherwise === undefined) throw new Error('the ACCESS_DENIED gateway response has no JSON template');
  const refusal = `$context.authorizer.${SuspensionContextKey.refusal}`;
  const retryAfter = `$context.authorizer.${SuspensionContextKey.retryAfter}`;
  const body = (refusal: { readonly body: { readonly error: string; readonly error_description: string } }) =>
    `{"error":"${refusal.body.error}","error_description":"${refusal.body.error_description}","retry_after":"${retryAfter}"}`;
  const template = [
    `#if("${refusal}" == "quota_exceeded")${body(SUSPENDED_RESPONSES.quota_exceeded)}`,
    `#elseif("${refusal}" == "suspended")${body(SUSPENDED_RESPONSES.suspended)}`,
    `#else${otherwise}#end`,
  ].join('');
  return { ...response, templates: { 'application/json': template } };
}
