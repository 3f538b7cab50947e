/**
 * Route rules (docs/api.md, "Route rules") → which scopes a request needs, and the policy
 * document the authorizer returns for it.
 *
 * The policy names exactly one method ARN: the request's own. API Gateway caches an
 * authorizer's result under the values of its identity sources and reuses the cached
 * policy for later requests with the same values, evaluating it against each one's method
 * ARN (API Gateway developer guide, "Lambda authorizer" caching). Tollgate's identity
 * sources are the Authorization header, the HTTP method and the request path
 * (`AUTHORIZER_IDENTITY_SOURCES`), so a cached policy only ever meets the method and path
 * it was decided for, and it cannot be wider than the decision. A policy covering the
 * token's whole route table could not be exact: in an execute-api policy `*` matches any
 * run of characters, the empty one and `/` included, so no set of Allow and Deny patterns
 * says "exactly one non-empty segment" when a deeper rule shares the prefix.
 *
 * What a request must look like to be decided at all: upstream frameworks disagree on
 * empty segments, trailing slashes, dot segments, percent-encoded separators and letter
 * case (Express, for one, ignores case and a trailing slash by default), so a path that
 * two of them could read as different routes is refused as `ambiguous_path` rather than
 * guessed at. What is left is matched as the most lenient upstream would read it:
 * literal segments compare after percent-decoding and case-folding, so `/ORDERS/%37`
 * needs the scopes of `GET /orders/{id}`.
 *
 * Which rules decide: every rule whose method is the request's (and, for HEAD, every GET
 * rule, since servers answer HEAD with their GET handler, RFC 9110 §9.3.2) and whose path
 * matches must be satisfied. A path that a rule of another method matches is known to the
 * table, so a method no rule grants there is refused (`insufficient_scope`) even when
 * unmatched routes are allowed: only paths the table does not know fall to that setting.
 */
import type { PolicyDocument } from 'aws-lambda';
import { AMBIGUOUS_ASCII, canonicalPathSegment, checkedJson, routeRulesProblem } from '../../../common/setting-checks';
import { DEFAULT_ROUTES, HTTP_METHODS, type HttpMethod, type RouteRule, type UnmatchedRoutes } from '../../../common/gateway-contract';
import { routes } from '../../../common/settings';
import { ConfigurationError } from '../shared/env';

/** Distinct scope strings remembered with their precomputed grant. */
const GRANT_CACHE_LIMIT = 1024;
const INVOKE = 'execute-api:Invoke';
const POLICY_VERSION = '2012-10-17';
const SLASH = 0x2f;
const PERCENT = 0x25;
const DOT = 0x2e;
const SPACE = 0x20;
const HEAD = HTTP_METHODS.indexOf('HEAD');
const GET = HTTP_METHODS.indexOf('GET');

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param' } | { readonly kind: 'proxy' };

interface CompiledRule {
  readonly index: number;
  readonly rule: RouteRule;
  readonly methods: readonly HttpMethod[];
  /** Literal segments percent-decoded and lower-cased, as request segments are compared. */
  readonly segments: readonly Segment[];
}

/** What a token's scopes allow, computed once per distinct scope string. */
export interface Grant {
  /** The token's scopes, space-separated (the authorizer context value). */
  readonly scopes: string;
  /** Per rule index: whether the token has every scope the rule requires. */
  readonly satisfied: readonly boolean[];
}

export type RouteOutcome = 'allow' | 'insufficient_scope' | 'unmatched' | 'ambiguous_path';

/** Where the parts of a method ARN start, found once per request without allocating. */
export interface MethodArnParts {
  /** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/` */
  readonly prefix: string;
  readonly method: number;
  /** Index of the first character of the path (after `{METHOD}/`). */
  readonly pathStart: number;
}

/**
 * Parses and validates `TOLLGATE_ROUTES`-style JSON with the same rules the stack checks at
 * synth (`routeRulesProblem`); every error names the setting and the bad rule.
 */
export function parseRouteRules(json: string, setting: string): RouteRule[] {
  const checked = checkedJson(json, setting, routeRulesProblem);
  if ('message' in checked) throw new ConfigurationError(checked.message);
  return (checked.value as RouteRule[]).map(({ method, path, scopes }) => ({ method, path, scopes: [...scopes] }));
}

/** The function's route rules: the `routes` setting's variable when set, else the default rules. */
export function routesFrom(env: Readonly<Record<string, string | undefined>>): readonly RouteRule[] {
  const json = env[routes.env];
  return json ? parseRouteRules(json, routes.env) : DEFAULT_ROUTES;
}

function compileRule(rule: RouteRule, index: number): CompiledRule {
  const methods = rule.method === 'ANY' ? HTTP_METHODS : [rule.method];
  const segments: Segment[] =
    rule.path === '/'
      ? []
      : rule.path
          .slice(1)
          .split('/')
          .map((text) => {
            if (text.endsWith('+}')) return { kind: 'proxy' };
            if (text.startsWith('{')) return { kind: 'param' };
            const decoded = canonicalPathSegment(text);
            if (decoded === undefined)
              throw new ConfigurationError(`route rule ${index} (${rule.method} ${rule.path}): segment "${text}" is not a plain, unambiguous path segment`);
            return { kind: 'literal', text: decoded };
          });
  return { index, rule, methods, segments };
}

export class RoutePolicy {
  private readonly rules: readonly CompiledRule[];
  /** Rules per index of HTTP_METHODS (HEAD also holds the GET rules). */
  private readonly byMethod: readonly (readonly CompiledRule[])[];
  private readonly grants = new Map<string, Grant>();

  constructor(
    rules: readonly RouteRule[],
    readonly unmatched: UnmatchedRoutes,
  ) {
    const seen = new Set<string>();
    this.rules = rules.map((rule, i) => {
      const key = `${rule.method} ${rule.path}`;
      if (seen.has(key)) throw new ConfigurationError(`route rule ${i} (${key}) duplicates an earlier rule`);
      seen.add(key);
      return compileRule(rule, i);
    });
    this.byMethod = HTTP_METHODS.map((m, i) => this.rules.filter((r) => r.methods.includes(m) || (i === HEAD && r.methods.includes(HTTP_METHODS[GET]!))));
  }

  /** The (memoised) grant of a token's `scope` claim. */
  grant(scope: string): Grant {
    const known = this.grants.get(scope);
    if (known !== undefined) return known;
    const tokens = new Set(scope.split(' ').filter((s) => s !== ''));
    const grant: Grant = {
      scopes: [...tokens].join(' '),
      satisfied: this.rules.map((r) => r.rule.scopes.every((s) => tokens.has(s))),
    };
    if (this.grants.size >= GRANT_CACHE_LIMIT) this.grants.clear();
    this.grants.set(scope, grant);
    return grant;
  }

  /**
   * Index of the first rule that names a request (`path` with its leading `/`), matched as
   * {@link outcome} matches rules; -1 when none does or the path is ambiguous.
   */
  ruleIndex(method: string, path: string): number {
    const m = HTTP_METHODS.indexOf(method as HttpMethod);
    const canonical = m < 0 || path.charCodeAt(0) !== SLASH ? undefined : requestPath(path, 1);
    if (canonical === undefined) return -1;
    for (const rule of this.byMethod[m]!) if (segmentsMatch(rule.segments, canonical)) return rule.index;
    return -1;
  }

  /**
   * What the rules say about the request in `arn` (see the module comment), whose path is
   * read from `pathStart`: below a service's prefix, a later index than `parts.pathStart`.
   */
  outcome(grant: Grant, arn: string, parts: MethodArnParts, pathStart: number = parts.pathStart): RouteOutcome {
    const path = requestPath(arn, pathStart);
    if (path === undefined) return 'ambiguous_path';
    let matched = false;
    for (const rule of this.byMethod[parts.method]!) {
      if (!segmentsMatch(rule.segments, path)) continue;
      if (!grant.satisfied[rule.index]) return 'insufficient_scope';
      matched = true;
    }
    if (matched) return 'allow';
    // A path the table knows under another method is decided by the table, never by the fallback.
    for (const rule of this.rules) if (segmentsMatch(rule.segments, path)) return 'insufficient_scope';
    return this.unmatched === 'deny' ? 'unmatched' : 'allow';
  }
}

/**
 * The policy for one request: its own method ARN, allowed or denied. A glob character in
 * the ARN cannot widen it, because `requestPath` refuses paths holding one.
 */
export function requestPolicy(effect: 'Allow' | 'Deny', methodArn: string): PolicyDocument {
  const policies = effect === 'Allow' ? ALLOW_POLICIES : DENY_POLICIES;
  const known = policies.get(methodArn);
  if (known !== undefined) return known;
  // Frozen: one object answers every token's request to the same method ARN.
  const policy: PolicyDocument = deepFreeze({ Version: POLICY_VERSION, Statement: [{ Action: INVOKE, Effect: effect, Resource: methodArn }] });
  if (policies.size >= POLICY_CACHE_LIMIT) policies.clear();
  policies.set(methodArn, policy);
  return policy;
}

/** Policies by method ARN: requests to the same path share one (per-token policies would cost memory per cached token). */
const ALLOW_POLICIES = new Map<string, PolicyDocument>();
const DENY_POLICIES = new Map<string, PolicyDocument>();
const POLICY_CACHE_LIMIT = 4096;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The prefix of the previous method ARN: requests to one stage share it, so its string is reused. */
let lastPrefix = '';

/** Parses the method ARN of an authorizer event; undefined when it is not one. */
export function methodArnParts(arn: string): MethodArnParts | undefined {
  // arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}
  let methodStart: number;
  if (lastPrefix !== '' && arn.startsWith(lastPrefix)) {
    methodStart = lastPrefix.length;
  } else {
    const apiSlash = arn.indexOf('/');
    const stageSlash = apiSlash < 0 ? -1 : arn.indexOf('/', apiSlash + 1);
    if (stageSlash < 0 || !arn.startsWith('arn:')) return undefined;
    methodStart = stageSlash + 1;
    lastPrefix = arn.slice(0, methodStart);
  }
  const methodEnd = arn.indexOf('/', methodStart);
  const method = methodEnd < 0 ? -1 : methodIndex(arn, methodStart, methodEnd);
  return method < 0 ? undefined : { prefix: lastPrefix, method, pathStart: methodEnd + 1 };
}

/** Index in HTTP_METHODS of `arn[start, end)`, or -1; compares one candidate, found by length and first letter. */
function methodIndex(arn: string, start: number, end: number): number {
  for (let m = 0; m < HTTP_METHODS.length; m += 1) {
    const name = HTTP_METHODS[m]!;
    if (name.length === end - start && name.charCodeAt(0) === arn.charCodeAt(start) && arn.startsWith(name, start)) return m;
  }
  return -1;
}

/**
 * The request path (`arn[start..]`, no leading slash) as segments are compared: as it is
 * when it is already plain (no `%`, no capital letter: the common case, no allocation
 * beyond the slice), else percent-decoded and lower-cased segment by segment. Undefined
 * when it is ambiguous: an empty segment (`//`, a trailing `/`), a dot segment, an
 * encoded `/` or `\`, a raw `\`, `%` that is not a valid escape or encodes `%` (double
 * decoding), `;` (path parameters, raw or encoded: `..;` traverses on Tomcat), `?` or `#`
 * (raw or encoded: a URL parser ends the path there), a control character (C0, DEL, C1), white space at a segment's end (trimmed by some upstreams), a glob character (`*`) that a policy would read as a
 * wildcard, or a non-ASCII character another case mapping would read differently.
 */
export function requestPath(arn: string, start: number): string | undefined {
  if (start === arn.length) return '';
  let plain = true;
  let segmentStart = start;
  for (let i = start; i <= arn.length; i += 1) {
    const c = i === arn.length ? SLASH : arn.charCodeAt(i);
    if (c === SLASH) {
      const length = i - segmentStart;
      if (length === 0) return undefined;
      if (arn.charCodeAt(segmentStart) === 0x2e /* . */ && (length === 1 || (length === 2 && arn.charCodeAt(segmentStart + 1) === 0x2e))) return undefined;
      // A raw space at a segment's end is as ambiguous as an encoded one (`canonicalPathSegment`).
      if (arn.charCodeAt(segmentStart) === SPACE || arn.charCodeAt(i - 1) === SPACE) return undefined;
      segmentStart = i + 1;
    } else if (c === PERCENT || (c >= 0x41 && c <= 0x5a) /* A-Z */ || c > 0x7e /* folds case too: U+212A is a K */) {
      plain = false;
    } else if (AMBIGUOUS_ASCII[c] === 1) {
      return undefined;
    }
  }
  const path = arn.slice(start);
  if (plain) return path;
  const segments = path.split('/');
  for (let i = 0; i < segments.length; i += 1) {
    const segment = canonicalPathSegment(segments[i]!);
    if (segment === undefined) return undefined;
    segments[i] = segment;
  }
  return segments.join('/');
}

/**
 * Segment-aware match of a canonical path (no leading slash): literals equal (or followed
 * by a `.` format suffix), `{param}` one non-empty segment, `{proxy+}` one or more
 * remaining segments.
 */
function segmentsMatch(segments: readonly Segment[], path: string): boolean {
  const end = path.length;
  if (segments.length === 0) return end === 0;
  let pos = 0;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    if (segment.kind === 'proxy') return pos < end;
    let segEnd: number;
    if (segment.kind === 'literal') {
      if (!path.startsWith(segment.text, pos)) return false;
      segEnd = pos + segment.text.length;
      if (segEnd !== end && path.charCodeAt(segEnd) !== SLASH) {
        // `export.json` is `export` to upstreams that read a format suffix (Rails, older Spring MVC):
        // matching it too can only require more scopes, never fewer.
        if (path.charCodeAt(segEnd) !== DOT) return false;
        const slash = path.indexOf('/', segEnd);
        segEnd = slash < 0 ? end : slash;
      }
    } else {
      const slash = path.indexOf('/', pos);
      segEnd = slash < 0 ? end : slash;
      if (segEnd === pos) return false;
    }
    if (i === segments.length - 1) return segEnd === end;
    if (segEnd === end) return false;
    pos = segEnd + 1;
  }
  return pos === end;
}
