/**
 * Route rules (contract §5) → which scopes a request needs, and the policy document the
 * authorizer returns for a token.
 *
 * Why the policy covers every route and not just the requested one: API Gateway caches
 * an authorizer's result by its identity source (here the Authorization header) and
 * reuses the cached policy for OTHER methods and paths of the same token for the cache
 * TTL (AWS knowledge center, "API Gateway Lambda authorizer returns 403 User is not
 * authorized to access this resource" with caching on). A policy naming only the first
 * request's ARN would refuse the token's next, legitimate call. So the policy allows the
 * ARN pattern of every rule the token's scopes satisfy and explicitly denies every rule
 * they do not.
 *
 * Why the explicit denies: in an execute-api policy `*` matches any run of characters,
 * `/` included (the resource is matched as one glob, not segment by segment), so
 * `GET/orders/*` compiled from `GET /orders/{id}` also matches `GET/orders/42/refunds`,
 * which a separate rule may reserve for another scope. In IAM evaluation an explicit
 * Deny wins over any Allow, so denying every unsatisfied rule's pattern keeps such
 * over-matches from granting what another rule withholds. `ANY` is expanded into each
 * method for the same reason: `*` in the method position would also match `GET/x/...`.
 *
 * What a policy cannot express: "exactly one segment". A `{param}` Allow also matches
 * deeper paths no rule serves (`GET/users/*` matches `GET/users/7/export`), and a policy
 * cached from another path would let them through. So, unless unmatched routes are
 * allowed anyway, the policy also denies each satisfied rule's paths with a slash inside
 * one of its parameters (for `GET /users/{id}`: `GET/users/` then a star, a slash and a
 * star) — except where such a Deny would also hit a path another satisfied rule serves (a
 * `{proxy+}` after the parameter, or a deeper rule such as `GET /users/{id}/posts`): there
 * the deeper unmatched paths stay reachable through a cached policy (the first, uncached
 * request to one is refused with a Deny of its own ARN), and operators who need them
 * closed add a rule for them.
 */
import type { PolicyDocument, Statement } from 'aws-lambda';
import { HTTP_METHODS, routeRulesProblem, type HttpMethod, type RouteRule, type UnmatchedRoutes } from '../../common/config';
import { ConfigurationError } from './env';
import { globMatch } from './policy-evaluation';

/** Distinct scope strings remembered with their precomputed grant. */
const GRANT_CACHE_LIMIT = 1024;
/** Distinct API/stage prefixes remembered per grant (one authorizer normally serves one stage). */
const POLICY_CACHE_LIMIT = 8;
const INVOKE = 'execute-api:Invoke';
const POLICY_VERSION = '2012-10-17';
const SLASH = 0x2f;

type Segment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param' } | { readonly kind: 'proxy' };

interface CompiledRule {
  readonly index: number;
  readonly rule: RouteRule;
  readonly methods: readonly HttpMethod[];
  readonly segments: readonly Segment[];
  /** Resource pattern per method, relative to the `{apiId}/{stage}/` prefix: `GET/orders/*`. */
  readonly patterns: ReadonlyMap<HttpMethod, string>;
  /** The path's exact shape for {@link shapeIntersectsGlob}: a parameter is {@link PARAM}, a greedy segment {@link PROXY}. */
  readonly shape: string;
  /** Globs (without the method) of the rule's paths with a slash inside one parameter. */
  readonly deeper: readonly string[];
}

/** In a rule's shape: one or more characters other than `/` (a `{param}` segment). */
const PARAM = '\u0001';
/** In a rule's shape: one or more characters of any kind (a `{proxy+}` segment). */
const PROXY = '\u0002';

/** What a token's scopes allow, computed once per distinct scope string. */
export interface Grant {
  /** The token's scopes, space-separated (the authorizer context value). */
  readonly scopes: string;
  /** Per rule index: whether the token has every scope the rule requires. */
  readonly satisfied: readonly boolean[];
  /**
   * Whether an unsatisfied rule's Deny pattern can match a path a satisfied rule serves,
   * so a request's own route match must also be checked against those patterns.
   */
  readonly denyOverlapsAllow: boolean;
  readonly policies: Map<string, PolicyDocument>;
  /** The last prefix asked for and its policy: one stage per authorizer is the norm. */
  lastPrefix: string;
  lastPolicy: PolicyDocument | undefined;
}

export type RouteOutcome = 'allow' | 'insufficient_scope' | 'unmatched';

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
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigurationError(`${setting} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = routeRulesProblem(value);
  if (problem) throw new ConfigurationError(`${setting}${problem.startsWith('[') ? '' : ' '}${problem}`);
  return (value as RouteRule[]).map(({ method, path, scopes }) => ({ method, path, scopes: [...scopes] }));
}

function compileRule(rule: RouteRule, index: number): CompiledRule {
  const methods = rule.method === 'ANY' ? HTTP_METHODS : [rule.method];
  const segments: Segment[] =
    rule.path === '/'
      ? []
      : rule.path
          .slice(1)
          .split('/')
          .map((text) => (text.endsWith('+}') ? { kind: 'proxy' } : text.startsWith('{') ? { kind: 'param' } : { kind: 'literal', text }));
  const glob = (spanning = -1) => segments.map((s, i) => (s.kind === 'literal' ? s.text : i === spanning ? '*/*' : '*')).join('/');
  const shape = segments.map((s) => (s.kind === 'literal' ? s.text : s.kind === 'param' ? PARAM : PROXY)).join('/');
  const deeper = segments.flatMap((s, i) => (s.kind === 'param' ? [glob(i)] : []));
  return { index, rule, methods, segments, patterns: new Map(methods.map((m) => [m, `${m}/${glob()}`])), shape, deeper };
}

export class RoutePolicy {
  private readonly rules: readonly CompiledRule[];
  /** Rules per index of HTTP_METHODS. */
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
    this.byMethod = HTTP_METHODS.map((m) => this.rules.filter((r) => r.methods.includes(m)));
  }

  /** The (memoised) grant of a token's `scope` claim. */
  grant(scope: string): Grant {
    const known = this.grants.get(scope);
    if (known !== undefined) return known;
    const tokens = new Set(scope.split(' ').filter((s) => s !== ''));
    const satisfied = this.rules.map((r) => r.rule.scopes.every((s) => tokens.has(s)));
    const grant: Grant = {
      scopes: [...tokens].join(' '),
      satisfied,
      denyOverlapsAllow: this.denyOverlapsAllow(satisfied),
      policies: new Map(),
      lastPrefix: '',
      lastPolicy: undefined,
    };
    if (this.grants.size >= GRANT_CACHE_LIMIT) this.grants.clear();
    this.grants.set(scope, grant);
    return grant;
  }

  /**
   * What the rules say about the request in `arn`. A request needs the scopes of every
   * rule that matches it (the policy's explicit denies enforce exactly that), and is also
   * refused where an unsatisfied rule's Deny pattern over-matches it, because API Gateway
   * will refuse it anyway and the decision we log must be the one the client gets.
   */
  outcome(grant: Grant, arn: string, parts: MethodArnParts): RouteOutcome {
    let matched = false;
    for (const rule of this.byMethod[parts.method]!) {
      if (!segmentsMatch(rule.segments, arn, parts.pathStart)) continue;
      if (!grant.satisfied[rule.index]) return 'insufficient_scope';
      matched = true;
    }
    if (!matched && this.unmatched === 'deny') return 'unmatched';
    if ((grant.denyOverlapsAllow || !matched) && this.deniedByPattern(grant, arn, parts)) return 'insufficient_scope';
    return 'allow';
  }

  /** The policy for a grant on one API stage: shared by every token with the same scopes. */
  policy(grant: Grant, prefix: string): PolicyDocument {
    if (grant.lastPrefix === prefix && grant.lastPolicy !== undefined) return grant.lastPolicy;
    const policy = grant.policies.get(prefix) ?? this.buildPolicy(grant, prefix);
    grant.lastPrefix = prefix;
    grant.lastPolicy = policy;
    return policy;
  }

  private buildPolicy(grant: Grant, prefix: string): PolicyDocument {
    const allow: string[] = [];
    const deny: string[] = [];
    for (const rule of this.rules) {
      for (const pattern of rule.patterns.values()) (grant.satisfied[rule.index] ? allow : deny).push(prefix + pattern);
    }
    if (this.unmatched === 'allow') allow.push(`${prefix}*/*`);
    else deny.push(...this.deeperPathDenies(grant).map((pattern) => prefix + pattern));
    const statements: Statement[] = [];
    if (allow.length) statements.push({ Action: INVOKE, Effect: 'Allow', Resource: allow });
    // A policy needs at least one statement; with nothing allowed, deny the whole stage.
    if (deny.length || !allow.length) statements.push({ Action: INVOKE, Effect: 'Deny', Resource: deny.length ? deny : [`${prefix}*`] });
    const policy = deepFreeze({ Version: POLICY_VERSION, Statement: statements });
    if (grant.policies.size >= POLICY_CACHE_LIMIT) grant.policies.clear();
    grant.policies.set(prefix, policy);
    return policy;
  }

  /**
   * `{METHOD}/{glob}` patterns of the satisfied rules' paths with a slash inside a parameter,
   * which no rule serves unless a satisfied rule's own paths reach into them (then left out).
   */
  private deeperPathDenies(grant: Grant): string[] {
    const denies: string[] = [];
    for (const rule of this.rules) {
      if (!grant.satisfied[rule.index]) continue;
      for (const method of rule.methods) {
        const serving = this.byMethod[HTTP_METHODS.indexOf(method)]!.filter((other) => grant.satisfied[other.index]);
        for (const glob of rule.deeper) {
          if (!serving.some((other) => shapeIntersectsGlob(other.shape, glob))) denies.push(`${method}/${glob}`);
        }
      }
    }
    return denies;
  }

  private deniedByPattern(grant: Grant, arn: string, parts: MethodArnParts): boolean {
    const start = parts.pathStart - HTTP_METHODS[parts.method]!.length - 1;
    for (const rule of this.byMethod[parts.method]!) {
      if (grant.satisfied[rule.index]) continue;
      if (globMatch(rule.patterns.get(HTTP_METHODS[parts.method]!)!, arn, start)) return true;
    }
    return false;
  }

  private denyOverlapsAllow(satisfied: readonly boolean[]): boolean {
    for (const allowed of this.rules) {
      if (!satisfied[allowed.index]) continue;
      for (const denied of this.rules) {
        if (satisfied[denied.index]) continue;
        for (const [method, pattern] of denied.patterns) {
          const other = allowed.patterns.get(method);
          if (other !== undefined && globsIntersect(other, pattern)) return true;
        }
      }
    }
    return false;
  }
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
 * Segment-aware match of a path (`arn[start..]`, no leading slash): literals equal,
 * `{param}` one non-empty segment, `{proxy+}` one or more remaining segments.
 */
function segmentsMatch(segments: readonly Segment[], arn: string, start: number): boolean {
  const end = arn.length;
  let pos = start;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    if (segment.kind === 'proxy') return pos < end;
    let segEnd: number;
    if (segment.kind === 'literal') {
      if (!arn.startsWith(segment.text, pos)) return false;
      segEnd = pos + segment.text.length;
      if (segEnd !== end && arn.charCodeAt(segEnd) !== SLASH) return false;
    } else {
      const slash = arn.indexOf('/', pos);
      segEnd = slash < 0 ? end : slash;
      if (segEnd === pos) return false;
    }
    if (i === segments.length - 1) return segEnd === end;
    if (segEnd === end) return false;
    pos = segEnd + 1;
  }
  return pos === end;
}

/**
 * Whether some string matches both `*`-glob patterns (no `?` in ours). Memoised search
 * over both positions: a star may stand for nothing or absorb one character of the
 * other side (that character may itself be the other side's star).
 */
export function globsIntersect(a: string, b: string): boolean {
  const memo = new Map<number, boolean>();
  const width = b.length + 1;
  const search = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const key = i * width + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i < a.length && a[i] === '*') result = search(i + 1, j) || (j < b.length && search(i, j + 1));
    else if (j < b.length && b[j] === '*') result = search(i, j + 1) || (i < a.length && search(i + 1, j));
    else result = i < a.length && j < b.length && a[i] === b[j] && search(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return search(0, 0);
}

/**
 * Whether some path has the exact `shape` of a rule (literal characters, {@link PARAM}: one
 * or more characters but `/`, {@link PROXY}: one or more of any) and matches the `*`-glob.
 * Memoised search over (shape position, glob position, whether the shape's current
 * parameter has taken a character yet); a state being searched counts as no match, which
 * cuts the cycles a glob star feeding a parameter would otherwise make.
 */
export function shapeIntersectsGlob(shape: string, glob: string): boolean {
  const memo = new Map<number, boolean>();
  const width = glob.length + 1;
  const search = (i: number, j: number, started: boolean): boolean => {
    if (i === shape.length && j === glob.length) return true;
    const key = ((i * width + j) << 1) | (started ? 1 : 0);
    const known = memo.get(key);
    if (known !== undefined) return known;
    memo.set(key, false);
    const s = shape[i];
    const g = glob[j];
    let result = false;
    if (s === PARAM || s === PROXY) {
      // End the segment (it has a character), or give it one more: the glob's next literal, or a character its star stands for.
      result =
        (started && search(i + 1, j, false)) ||
        (g !== undefined && g !== '*' && (s === PROXY || g !== '/') && search(i, j + 1, true)) ||
        (g === '*' && (search(i, j, true) || search(i, j + 1, started)));
    } else if (g === '*') {
      result = search(i, j + 1, false) || (s !== undefined && search(i + 1, j, false));
    } else {
      result = s !== undefined && s === g && search(i + 1, j + 1, false);
    }
    memo.set(key, result);
    return result;
  };
  return search(0, 0, false);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
