/**
 * The gateway's contract with clients and upstreams: route rules and their default set, the
 * authorizer's identity sources and context keys, the upstream and reserved headers, and the
 * paths of Tollgate's own HTTP API.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export type UnmatchedRoutes = 'deny' | 'allow';

/**
 * A route rule (docs/deploy.md#deploy). `method` is an HTTP method or `ANY`; `path` may contain
 * `{param}` segments and end in `{proxy+}`. A request needs every scope listed.
 */
export interface RouteRule {
  readonly method: HttpMethod | 'ANY';
  readonly path: string;
  readonly scopes: readonly string[];
}

/** README.md#quickstart: the routes local mode (and the stack, unless configured) protects. */
export const DEFAULT_ROUTES: readonly RouteRule[] = [
  { method: 'GET', path: '/orders', scopes: ['orders:read'] },
  { method: 'GET', path: '/orders/{proxy+}', scopes: ['orders:read'] },
  { method: 'POST', path: '/orders', scopes: ['orders:write'] },
  { method: 'PUT', path: '/orders/{proxy+}', scopes: ['orders:write'] },
  { method: 'PATCH', path: '/orders/{proxy+}', scopes: ['orders:write'] },
  { method: 'DELETE', path: '/orders/{proxy+}', scopes: ['orders:write'] },
];

/**
 * The authorizer's identity sources, which are also API Gateway's key for its cached
 * results: the bearer token, the method and the path. With the method and path in the
 * key, a cached policy is only reused for the request it was decided for, so it can name
 * that one method ARN and never allow more than the authorizer would decide afresh
 * (`lambda/core/authorizer/route-policy.ts`). The CDK authorizer and local mode's cache emulation
 * both read this list.
 */
export const AUTHORIZER_IDENTITY_SOURCES = [
  { kind: 'header', name: 'Authorization' },
  { kind: 'context', name: 'httpMethod' },
  { kind: 'context', name: 'path' },
] as const satisfies readonly { kind: 'header' | 'context'; name: string }[];

/**
 * The upstream headers Tollgate defines (docs/api.md#what-the-upstream-receives-upstream-contract): the whole set, set on every proxied request — in AWS by the integration's
 * request parameters, locally by the gateway — so an upstream may rely on each name
 * holding Tollgate's value and never a client's. `service` names the service the request
 * is for (`common/services.ts`).
 */
export const UpstreamHeader = {
  clientId: 'X-Tollgate-Client-Id',
  scopes: 'X-Tollgate-Scopes',
  tokenId: 'X-Tollgate-Token-Id',
  /** The API key the token was exchanged from (its id, never the key). */
  keyId: 'X-Tollgate-Key-Id',
  service: 'X-Tollgate-Service',
} as const;
export type UpstreamHeaderKey = keyof typeof UpstreamHeader;

/**
 * Every header name starting with this (compared case-insensitively, RFC 9110 §5.1) belongs
 * to Tollgate: the authorizer refuses a request that carries one. Only the names the stage's
 * integration maps ({@link MAPPED_HEADER_NAMES}) are overwritten on the way to the upstream;
 * any other reaches it as sent on a request answered from the authorizer cache.
 */
export const RESERVED_HEADER_PREFIX = 'x-tollgate-';

/**
 * Headers some upstream frameworks read as the request's real method (Rails' Rack,
 * Symfony, Laravel, Express's method-override) or real path (IIS URL Rewrite, some
 * Symfony setups). The authorizer decides on the method and path API Gateway saw, so the
 * gateway sets every method override to that very method and empties every path override:
 * a client cannot turn an allowed POST into a DELETE, or one path into another, upstream.
 */
export const METHOD_OVERRIDE_HEADERS = ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override'] as const;
export const PATH_OVERRIDE_HEADERS = ['X-Original-URL', 'X-Rewrite-URL'] as const;
/** Both lists, lower-cased: the names the gateway overwrites (and whose `_` spellings the authorizer refuses). */
export const OVERRIDE_HEADER_NAMES: ReadonlySet<string> = new Set([...METHOD_OVERRIDE_HEADERS, ...PATH_OVERRIDE_HEADERS].map((name) => name.toLowerCase()));
/**
 * Every header name the stage's integration sets (`lib/gateway/routes.ts`), lower-cased: the
 * upstream header set and the overrides. These, and only these, reach the upstream with the
 * gateway's value whatever the client sent; local mode drops the client's copies of them
 * and passes every other name through, as API Gateway does.
 */
export const MAPPED_HEADER_NAMES: ReadonlySet<string> = /* @__PURE__ */ (() =>
  new Set([...Object.values(UpstreamHeader).map((name) => name.toLowerCase()), ...OVERRIDE_HEADER_NAMES]))();

/** Keys of the authorizer's `context` map: flat strings only (API Gateway rejects nested values). */
export const AuthorizerContextKey = {
  clientId: 'clientId',
  scopes: 'scopes',
  jti: 'jti',
  keyId: 'keyId',
  kid: 'kid',
  /** The name of the service the request is for (`common/services.ts`). */
  service: 'service',
} as const;
export type AuthorizerContextKey = (typeof AuthorizerContextKey)[keyof typeof AuthorizerContextKey];

/** Where each upstream header's value comes from: an authorizer context key, or none (sent as an empty value). */
export const UpstreamHeaderSource: { readonly [K in UpstreamHeaderKey]: AuthorizerContextKey | null } = {
  clientId: AuthorizerContextKey.clientId,
  scopes: AuthorizerContextKey.scopes,
  tokenId: AuthorizerContextKey.jti,
  keyId: AuthorizerContextKey.keyId,
  service: AuthorizerContextKey.service,
};

/** Paths of the Tollgate HTTP API (docs/api.md); everything else goes to the upstream. */
export const ApiPath = {
  token: '/oauth/token',
  revoke: '/oauth/revoke',
  jwks: '/.well-known/jwks.json',
  /** RFC 8414 authorization server metadata. */
  serverMetadata: '/.well-known/oauth-authorization-server',
  /** RFC 9728 protected resource metadata: of the service at the root, and of each service by name. */
  resourceMetadata: '/.well-known/oauth-protected-resource',
  resourceMetadataOf: '/.well-known/oauth-protected-resource/{service}',
  admin: '/admin',
} as const;
