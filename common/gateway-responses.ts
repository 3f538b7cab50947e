/**
 * What a client sees when the gateway refuses it (docs/api.md#errors-common-to-all-routes, RFC 6750 §3). The CDK
 * gateway responses and the local gateway both render these, so the two cannot differ.
 * The body is deliberately generic: the reason is logged, never told to the caller.
 */
/**
 * Headers on every answer the gateway makes itself, whatever its status: an error must not be
 * reused by a cache (docs/api.md). `no-store` for HTTP/1.1 caches (RFC 9111 §5.2.2.5), `Pragma`
 * for HTTP/1.0 ones (RFC 9111 §5.4). The CDK gateway responses and the local gateway both add them.
 */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export interface GatewayRefusal {
  readonly statusCode: 401 | 403;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
}

export const INVALID_TOKEN: GatewayRefusal = {
  statusCode: 401,
  headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"', 'Content-Type': 'application/json' },
  body: { error: 'invalid_token', error_description: 'The access token is missing, malformed, expired or revoked.' },
};

/** API Gateway cannot tell which scope the route wanted, so the header names none (RFC 6750 §3 makes `scope` optional). */
export const INSUFFICIENT_SCOPE: GatewayRefusal = {
  statusCode: 403,
  headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"', 'Content-Type': 'application/json' },
  body: { error: 'insufficient_scope', error_description: 'The access token does not grant the scope this route requires.' },
};

/**
 * API Gateway's answer when a usage plan throttles a client (429, RFC 6585 §4). A gateway
 * response can only carry static headers, so `Retry-After` (RFC 9110 §10.2.3) is the
 * shortest sensible wait: one token-bucket refill at any rate of at least 1 request/s.
 */
export const THROTTLED = {
  statusCode: 429,
  headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
  body: { error: 'too_many_requests', error_description: 'Rate or quota limit exceeded for this client.' },
} as const;

/**
 * The usage plan's quota for the period (UTC day, week or month) is used up (429). The
 * deployed static `Retry-After` is an hour, a polite polling interval for any period; the
 * local gateway, which knows the period, sends the exact time until it resets.
 */
export const QUOTA_EXCEEDED = {
  statusCode: 429,
  headers: { 'Retry-After': '3600', 'Content-Type': 'application/json' },
  body: { error: 'quota_exceeded', error_description: 'The request quota of this client for the current period is used up.' },
} as const;

/**
 * The authorizer allowed the request but named no usage key that a usage plan of this
 * stage holds (API Gateway's INVALID_API_KEY, 403, on methods with `apiKeyRequired`).
 */
export const INVALID_USAGE_KEY = {
  statusCode: 403,
  headers: { 'Content-Type': 'application/json' },
  body: { error: 'forbidden', error_description: 'No usage plan admits this client on this API.' },
} as const;

/** A path or method Tollgate does not serve (API Gateway's MISSING_AUTHENTICATION_TOKEN, reshaped). */
export const NO_ROUTE = {
  statusCode: 404,
  body: { error: 'not_found', error_description: 'No route serves this method and path.' },
} as const;

/**
 * The authorizer could not decide (API Gateway's AUTHORIZER_FAILURE / AUTHORIZER_CONFIGURATION_ERROR):
 * its revocation view is older than `revocationViewMaxStaleSeconds` or its key ring never
 * loaded (DynamoDB unreachable), or the function failed. 503 with the RFC 6749 §4.1.2.1 code
 * rather than API Gateway's default 500 or a 401: the token may be perfectly good, so a
 * client must retry after `Retry-After` (static in a gateway response: a few revocation-feed
 * polls), not discard its token or re-authenticate (docs/revocation.md, "Outages").
 */
export const AUTHORIZER_FAILURE = {
  statusCode: 503,
  headers: { 'Retry-After': '5', 'Content-Type': 'application/json' },
  body: {
    error: 'temporarily_unavailable',
    error_description: 'The request could not be authorized right now; retry after the Retry-After delay with the same token.',
  },
} as const;

/**
 * A request body that is not a JSON object on an admin route that requires one (API Gateway's
 * request validator: BAD_REQUEST_BODY), refused before the function runs.
 */
export const INVALID_REQUEST_BODY = {
  statusCode: 400,
  body: { error: 'invalid_request', error_description: 'The request body must be a JSON object.' },
} as const;

/**
 * A SigV4-signed call with expired AWS credentials (API Gateway's EXPIRED_TOKEN, 403). Only
 * IAM-authorized admin routes can cause it, so it carries no Bearer challenge: no access
 * token is involved, and retrying with one would not help.
 */
export const EXPIRED_CREDENTIALS = {
  statusCode: 403,
  headers: { 'Content-Type': 'application/json' },
  body: { error: 'expired_credentials', error_description: 'The AWS credentials that signed this request have expired; refresh them and sign again.' },
} as const;

/**
 * Every other refusal API Gateway makes itself (DEFAULT_4XX: a body too large or of an
 * unsupported media type, a SigV4 signature it cannot verify, a web ACL block…), keeping
 * API Gateway's status code: the contract wants every error body to be JSON with an `error`.
 */
export const GATEWAY_REJECTED = {
  body: { error: 'invalid_request', error_description: 'The gateway refused this request before it reached its route.' },
} as const;

/**
 * Every other failure of API Gateway itself (DEFAULT_5XX: upstream unreachable or timed out,
 * its answer over {@link PAYLOAD_MAX_BYTES}, configuration error), status kept. An integration
 * failure is logged as `INTEGRATION_FAILURE` (502), one whose answer took longer than
 * {@link INTEGRATION_TIMEOUT_SECONDS} as `INTEGRATION_TIMEOUT` (504).
 */
export const GATEWAY_FAILURE = {
  body: { error: 'server_error', error_description: 'The gateway could not complete this request; try again.' },
} as const;

/**
 * How long the stage waits for an integration's whole answer, headers and body: API Gateway's
 * default (and, for REST APIs, usual maximum) of 29 s. Longer is `INTEGRATION_TIMEOUT` (504).
 */
export const INTEGRATION_TIMEOUT_SECONDS = 29;
/**
 * API Gateway REST's payload limit (10 MB), both ways: a request body over it is refused
 * before any route (`REQUEST_TOO_LARGE`, 413), an integration response over it is not
 * delivered (`INTEGRATION_FAILURE`, 502). The local gateway applies it the same way.
 */
export const PAYLOAD_MAX_BYTES = 10 * 1024 * 1024;
