/**
 * The routes Tollgate itself serves (docs/api.md), and the resources each service's upstream
 * is served on. The CDK gateway creates exactly these resources and methods, and the local
 * gateway routes by the same table, so the deployed and local APIs cannot differ. Every other
 * request (another path, or another method on one of these paths) goes through the
 * authorizer to the upstream, where a service's resources match it.
 */
import { Defaults } from './defaults';
import { ApiPath, type HttpMethod } from './gateway-contract';
import { LeakPath, LeakThrottle } from './leaks';

/** Which function serves a route. */
export type ApiFunction = 'token' | 'admin' | 'leaks';
/** `public`: no gateway auth (clients authenticate in the handler); `operator`: IAM (SigV4) in AWS, admin token locally. */
export type RouteAuth = 'public' | 'operator';

export interface ApiRoute {
  readonly method: HttpMethod;
  /** API Gateway resource path, `{name}` for path parameters: what `event.resource` carries. */
  readonly resource: string;
  readonly fn: ApiFunction;
  readonly auth: RouteAuth;
}

const token = (method: HttpMethod, resource: string): ApiRoute => ({ method, resource, fn: 'token', auth: 'public' });
const admin = (method: HttpMethod, resource: string): ApiRoute => ({ method, resource, fn: 'admin', auth: 'operator' });
/** Leak reports: public (GitHub signs its own; anyone may report a leaked key), served by the leak function. */
const leaks = (method: HttpMethod, resource: string): ApiRoute => ({ method, resource, fn: 'leaks', auth: 'public' });

export const API_ROUTES: readonly ApiRoute[] = [
  token('POST', '/oauth/token'),
  token('POST', '/oauth/revoke'),
  token('GET', '/.well-known/jwks.json'),
  token('GET', '/.well-known/oauth-authorization-server'),
  token('GET', '/.well-known/oauth-protected-resource'),
  token('GET', '/.well-known/oauth-protected-resource/{service}'),
  admin('POST', '/admin/clients/{clientId}/keys'),
  admin('GET', '/admin/clients/{clientId}/keys'),
  admin('DELETE', '/admin/clients/{clientId}'),
  admin('GET', '/admin/clients/{clientId}/limits'),
  admin('PUT', '/admin/clients/{clientId}/limits'),
  admin('GET', '/admin/keys/{keyId}'),
  admin('DELETE', '/admin/keys/{keyId}'),
  admin('POST', '/admin/keys/{keyId}/roll'),
  admin('DELETE', '/admin/tokens/{jti}'),
  admin('GET', '/admin/signing-keys'),
  admin('POST', '/admin/signing-keys/rotate'),
  admin('GET', '/admin/clients/{clientId}/leak-response'),
  admin('PUT', '/admin/clients/{clientId}/leak-response'),
  admin('GET', '/admin/clients/{clientId}/grants'),
  admin('PUT', '/admin/clients/{clientId}/grants/{service}'),
  leaks('POST', '/secret-scanning/github'),
  leaks('POST', '/leaks/revoke'),
  admin('GET', '/admin/clients/{clientId}/usage'),
  admin('GET', '/admin/usage/top'),
  admin('GET', '/admin/clients/{clientId}/quota'),
  admin('PUT', '/admin/clients/{clientId}/quota'),
  admin('POST', '/admin/clients/{clientId}/resume'),
  admin('PUT', '/admin/clients/{clientId}/credits'),
  admin('GET', '/admin/keys/{keyId}/quota'),
  admin('PUT', '/admin/keys/{keyId}/quota'),
  admin('POST', '/admin/keys/{keyId}/resume'),
  admin('PUT', '/admin/clients/{clientId}/anomaly-policy'),
  admin('GET', '/admin/anomalies'),
];

/** The greedy path parameter of every upstream proxy resource (`event.pathParameters.proxy`). */
export const PROXY_PARAMETER = 'proxy';

/**
 * The two resources a service's upstream is served on, each with the `ANY` method behind the
 * authorizer: its prefix (the root for the single-service form) and the greedy `{proxy+}`
 * below it. `lib/gateway/routes.ts` creates them; the local gateway routes to them.
 */
export function upstreamResources(pathPrefix: string): { readonly prefix: string; readonly proxy: string } {
  const base = pathPrefix === '/' ? '' : pathPrefix;
  return { prefix: pathPrefix, proxy: `${base}/{${PROXY_PARAMETER}+}` };
}

/** A stage throttle: a token bucket of `burstLimit` requests refilled at `rateLimit` per second. */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * The stage throttle of a public route, all its callers together (nothing else limits them:
 * the usage plans apply to upstream methods only). `POST /oauth/token`'s is the deployment's
 * `tokenRouteThrottle`; the leak endpoints' are their own (GitHub reports in bursts, the
 * public endpoint is a write path); every other public route's is `Defaults.publicRouteThrottle`.
 * The deployed stage's method settings (`lib/gateway/stage-settings.ts`) and the local
 * gateway both read it here.
 */
export function publicRouteThrottle(route: ApiRoute, tokenRoute: RouteThrottle): RouteThrottle {
  if (route.auth !== 'public') throw new RangeError(`${route.method} ${route.resource} is not a public route`);
  if (route.resource === ApiPath.token) return tokenRoute;
  if (route.resource === LeakPath.github) return LeakThrottle.github;
  if (route.resource === LeakPath.revoke) return LeakThrottle.revoke;
  return Defaults.publicRouteThrottle;
}
