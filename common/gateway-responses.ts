/**
 * What a client sees when the gateway refuses it (contract §2.1, RFC 6750 §3). The CDK
 * gateway responses and the local gateway both render these, so the two cannot differ.
 * The body is deliberately generic: the reason is logged, never told to the caller.
 */
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

/** API Gateway's answer when a usage plan throttles a client (429, `Retry-After`). */
export const THROTTLED = {
  statusCode: 429,
  body: { error: 'too_many_requests', error_description: 'Rate or quota limit exceeded for this client.' },
} as const;

/** A path or method Tollgate does not serve (API Gateway's MISSING_AUTHENTICATION_TOKEN, reshaped). */
export const NO_ROUTE = {
  statusCode: 404,
  body: { error: 'not_found', error_description: 'No route serves this method and path.' },
} as const;

/** The authorizer failed (API Gateway's AUTHORIZER_FAILURE / AUTHORIZER_CONFIGURATION_ERROR). */
export const AUTHORIZER_FAILURE = {
  statusCode: 500,
  body: { error: 'server_error', error_description: 'The request could not be authorized; try again.' },
} as const;
