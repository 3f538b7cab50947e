/**
 * The upstream services one Tollgate deployment fronts (docs/services.md). Each has a name,
 * a path prefix under which API Gateway routes to it, its own audience (the `aud` of the
 * tokens minted for it), its own route rules and scopes, and its own upstream URL.
 *
 * Read by the stack (`lib/config.ts`, one resource tree and integration per service), by
 * the authorizer (which service a request is for, and its rules), by the token function
 * (RFC 8707 resource indicators, scopes per service, RFC 8414/9728 metadata) and by local
 * mode, from one JSON value: the `services` setting, `TOLLGATE_SERVICES` in the functions'
 * environment. Without it a deployment fronts one service, built from the older single-
 * service settings (`upstreamUrl`, `routes`, `unmatchedRoutes`, `audience`) exactly as
 * before: the same audience, the same paths, no prefix.
 */
import { API_ROUTES } from './api-routes';
import { ConfigurationError } from './errors';
import { checkedJson, routeRulesProblem, SCOPE_TOKEN_PATTERN } from './setting-checks';
import { DEFAULT_ROUTES, type RouteRule, type UnmatchedRoutes } from './gateway-contract';
import { audience } from './settings';

export interface ServiceDefinition {
  /** 1–32 lower-case letters, digits and `-`, starting with a letter: the `X-Tollgate-Service` value. */
  readonly name: string;
  /** `/` (only for a single service) or one or more literal segments, e.g. `/billing`. */
  readonly pathPrefix: string;
  /** Whether the upstream receives paths without the prefix (`/billing/invoices` → `/invoices`). @default true */
  readonly stripPrefix?: boolean;
  /** The tokens' `aud` for this service. @default the API's URL followed by the prefix */
  readonly audience?: string;
  /** Absolute http(s) URL; local mode runs an echo service in its place when absent. */
  readonly upstreamUrl?: string;
  /** Rules with paths relative to the prefix. @default the default routes for a single service, none otherwise */
  readonly routes?: readonly RouteRule[];
  readonly unmatchedRoutes?: UnmatchedRoutes;
  /** Scopes of the service that no route names (e.g. for the upstream's own checks). */
  readonly scopes?: readonly string[];
}

/** A service with every default applied and its audience known. */
export interface ResolvedService {
  readonly name: string;
  readonly pathPrefix: string;
  readonly stripPrefix: boolean;
  readonly audience: string;
  /** The URL clients call it under, which is also a resource indicator for it (RFC 8707). */
  readonly resource: string;
  readonly upstreamUrl?: string;
  readonly routes: readonly RouteRule[];
  readonly unmatchedRoutes: UnmatchedRoutes;
  /** Every scope its routes name plus its declared ones, sorted. */
  readonly scopes: readonly string[];
}

/** The one service of a deployment configured the single-service way. */
export const DEFAULT_SERVICE_NAME = 'default';
export const SERVICES_MAX = 20;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const FIELDS = ['name', 'pathPrefix', 'stripPrefix', 'audience', 'upstreamUrl', 'routes', 'unmatchedRoutes', 'scopes'];
/**
 * The prefixes Tollgate's own routes live under, the first segment of each (`/oauth`,
 * `/.well-known`, `/admin`, `/secret-scanning`, `/leaks`): a service cannot take them.
 */
const RESERVED_PREFIXES: readonly string[] = [...new Set(API_ROUTES.map((route) => `/${route.resource.split('/')[1]}`))];

/**
 * Why route rules of a service at the root (the single-service `routes`, or a `services`
 * entry with prefix `/`) are invalid, or undefined: `routeRulesProblem`, and a rule for the
 * method and path of one of Tollgate's own routes (`POST /oauth/token`), which Tollgate
 * answers itself, so the upstream never sees what the rule is written for. A literal segment
 * counts as a match for a route's `{name}` segment, as API Gateway routes it.
 */
export function rootRouteRulesProblem(rules: unknown): string | undefined {
  const problem = routeRulesProblem(rules);
  if (problem) return problem;
  for (const [i, rule] of (rules as readonly RouteRule[]).entries()) {
    const own = API_ROUTES.find((route) => route.method === rule.method && ownResourceMatches(route.resource, rule.path));
    if (own) return `[${i}] (${rule.method} ${rule.path}): is Tollgate's own route ${own.method} ${own.resource}, which never reaches the upstream`;
  }
  return undefined;
}

function ownResourceMatches(resource: string, path: string): boolean {
  const own = resource.split('/');
  const given = path.split('/');
  const param = (segment: string) => /^\{[^+}]+\}$/.test(segment);
  return own.length === given.length && own.every((segment, i) => segment === given[i] || (param(segment) && !given[i]!.endsWith('+}')));
}

/** Why a `services` value is invalid (naming the service by index and name), or undefined. */
export function servicesProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return 'must be a non-empty array of services {name, pathPrefix, upstreamUrl, routes, …}';
  if (value.length > SERVICES_MAX) return `has ${value.length} services; at most ${SERVICES_MAX} are allowed`;
  const names = new Set<string>();
  const audiences = new Set<string>();
  const prefixes: string[] = [];
  for (const [i, service] of value.entries()) {
    const problem = serviceProblem(service, value.length);
    if (problem) return `[${i}] ${problem}`;
    const s = service as ServiceDefinition;
    if (names.has(s.name)) return `[${i}] (${s.name}) has the same name as an earlier service`;
    names.add(s.name);
    if (s.audience !== undefined) {
      if (audiences.has(s.audience)) return `[${i}] (${s.name}) has the same audience as an earlier service: "${s.audience}"`;
      audiences.add(s.audience);
    }
    const overlap = prefixes.find((p) => prefixesOverlap(p, s.pathPrefix));
    if (overlap !== undefined)
      return `[${i}] (${s.name}) pathPrefix "${s.pathPrefix}" overlaps "${overlap}" of an earlier service: a request must reach exactly one service`;
    prefixes.push(s.pathPrefix);
  }
  return undefined;
}

function serviceProblem(service: unknown, count: number): string | undefined {
  if (typeof service !== 'object' || service === null || Array.isArray(service)) return 'must be an object {name, pathPrefix, …}';
  const s = service as Record<string, unknown>;
  // A service without a name is named by its index alone.
  const label = s.name === undefined ? '' : `(${typeof s.name === 'string' ? s.name : String(s.name)}) `;
  const unknown = Object.keys(s).filter((k) => !FIELDS.includes(k));
  if (unknown.length) return `${label}has unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; the fields are ${FIELDS.join(', ')}`;
  if (typeof s.name !== 'string' || !SERVICE_NAME.test(s.name)) return `${label}name must be 1–32 lower-case letters, digits or "-", starting with a letter`;
  const prefixProblem = pathPrefixProblem(s.pathPrefix, count);
  if (prefixProblem) return `${label}pathPrefix ${prefixProblem}`;
  if (s.stripPrefix !== undefined && typeof s.stripPrefix !== 'boolean') return `${label}stripPrefix must be true or false`;
  // A service's audience is checked as the single-service form's `audience` setting is.
  if (s.audience !== undefined && !(typeof s.audience === 'string' && audience.pattern.test(s.audience))) return `${label}audience ${audience.rule}`;
  if (s.upstreamUrl !== undefined && !isHttpUrl(s.upstreamUrl))
    return `${label}upstreamUrl must be an absolute http:// or https:// URL without credentials, query or fragment`;
  if (s.routes !== undefined) {
    const routes = s.pathPrefix === '/' ? rootRouteRulesProblem(s.routes) : routeRulesProblem(s.routes);
    if (routes) return `${label}routes${routes.startsWith('[') ? '' : ' '}${routes}`;
  }
  if (s.unmatchedRoutes !== undefined && s.unmatchedRoutes !== 'deny' && s.unmatchedRoutes !== 'allow')
    return `${label}unmatchedRoutes must be "deny" or "allow"`;
  if (s.scopes !== undefined && !(Array.isArray(s.scopes) && s.scopes.every((x) => typeof x === 'string' && SCOPE_TOKEN_PATTERN.test(x)))) {
    return `${label}scopes must be an array of scope tokens (RFC 6749 §3.3)`;
  }
  return undefined;
}

function pathPrefixProblem(prefix: unknown, count: number): string | undefined {
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) return 'must start with "/"';
  if (prefix === '/') return count > 1 ? 'may be "/" only when there is one service' : undefined;
  const segments = prefix.slice(1).split('/');
  if (segments.some((s) => !PREFIX_SEGMENT.test(s)))
    return `"${prefix}" must be literal segments of letters, digits, ".", "_", "~" or "-" without a trailing "/"`;
  if (segments.some((s) => s === '.' || s === '..')) return `"${prefix}" must not hold dot segments`;
  const reserved = RESERVED_PREFIXES.find((r) => prefixesOverlap(r, prefix));
  if (reserved) return `"${prefix}" overlaps Tollgate's own routes under ${reserved}`;
  return undefined;
}

/** Whether one prefix is the other or lies under it, segment by segment. */
export function prefixesOverlap(a: string, b: string): boolean {
  if (a === '/' || b === '/') return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long === short || long.startsWith(`${short}/`);
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.search && !url.hash;
}

/** The single-service form, as every deployment without `services` is configured. */
export function singleService(settings: {
  upstreamUrl?: string;
  routes?: readonly RouteRule[];
  unmatchedRoutes?: UnmatchedRoutes;
  audience: string;
}): ServiceDefinition {
  return {
    name: DEFAULT_SERVICE_NAME,
    pathPrefix: '/',
    stripPrefix: false,
    audience: settings.audience,
    ...(settings.upstreamUrl !== undefined && { upstreamUrl: settings.upstreamUrl }),
    routes: settings.routes ?? DEFAULT_ROUTES,
    ...(settings.unmatchedRoutes !== undefined && { unmatchedRoutes: settings.unmatchedRoutes }),
  };
}

/**
 * Every default applied. `apiUrl` is the API's base URL (the issuer): a service's default
 * audience, and its resource URL, is that URL followed by its prefix.
 */
export function resolveServices(services: readonly ServiceDefinition[], apiUrl: string, defaultUnmatched: UnmatchedRoutes = 'deny'): ResolvedService[] {
  const base = apiUrl.replace(/\/+$/, '');
  const resolved = services.map((s) => {
    const routes = s.routes ?? (services.length === 1 ? DEFAULT_ROUTES : []);
    const resource = s.pathPrefix === '/' ? base : `${base}${s.pathPrefix}`;
    const scopes = [...new Set([...routes.flatMap((r) => r.scopes), ...(s.scopes ?? [])])].sort();
    return {
      name: s.name,
      pathPrefix: s.pathPrefix,
      stripPrefix: s.stripPrefix ?? s.pathPrefix !== '/',
      audience: s.audience ?? resource,
      resource,
      ...(s.upstreamUrl !== undefined && { upstreamUrl: s.upstreamUrl.replace(/\/+$/, '') }),
      routes,
      unmatchedRoutes: s.unmatchedRoutes ?? defaultUnmatched,
      scopes,
    };
  });
  // A service's audience or URL equal to another's (an explicit audience set to another
  // service's URL, which the checks at synth cannot see without the API's URL) would let a
  // token minted for one pass the other's audience check.
  const names = new Map<string, string>();
  for (const service of resolved) {
    for (const name of new Set([service.audience, service.resource])) {
      const other = names.get(name);
      if (other !== undefined && other !== service.name)
        throw new ConfigurationError(`services ${other} and ${service.name} share the audience or URL "${name}": each service needs its own`);
      names.set(name, service.name);
    }
  }
  return resolved;
}

/** The service whose prefix a path (with its leading `/`) lies under, and the path without it. */
export function serviceOfPath<S extends { readonly pathPrefix: string }>(services: readonly S[], path: string): { service: S; rest: string } | undefined {
  for (const service of services) {
    const prefix = service.pathPrefix;
    if (prefix === '/') return { service, rest: path };
    if (path === prefix) return { service, rest: '/' };
    if (path.startsWith(`${prefix}/`)) return { service, rest: path.slice(prefix.length) };
  }
  return undefined;
}

/** Parses `TOLLGATE_SERVICES`-style JSON; the error names the setting. */
export function parseServices(json: string, setting: string): ServiceDefinition[] {
  const checked = checkedJson(json, setting, servicesProblem);
  if ('message' in checked) throw new ConfigurationError(checked.message, setting);
  return checked.value as ServiceDefinition[];
}
