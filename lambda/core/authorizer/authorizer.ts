/**
 * The authorizer's decision: bearer token → verified (or cached) token → revocation view
 * → route rules → a decision with the response API Gateway gets. Pure apart from the
 * ports it is given (key ring source, revocation feed, clock).
 *
 * The cached path is the product (BENCHMARKS.md, P2): one SHA-256
 * of the token, one Map lookup, four Set lookups, a route match without allocation, and
 * the response built when the token was last allowed on the same method ARN (a new ARN
 * costs one small policy object: each names only its request). Anything slower —
 * verification, policy building, waiting for a stale view — happens off that path.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { AuthorizerContextKey } from '../../../common/gateway-contract';
import { SuspensionContextKey } from '../../../common/usage';
import { ForbidReason, RejectReason, TokenRejected, type TokenFacts } from './authorizer-errors';
import { type AccessTokenVerifier, namesAudience, type VerifiedToken } from './access-token-verifier';
import { authorizationHeader, bearerToken, type HeaderMap, type MultiValueHeaderMap } from './bearer';
import type { KeyRingCache } from './key-ring-cache';
import type { RevocationView } from '../revocation/revocation-view';
import { methodArnParts, requestPolicy, type Grant, type MethodArnParts } from './route-policy';
import type { RoutedService, ServiceRouter } from './service-router';
import { VerifiedTokenCache, type Cacheable } from './verified-token-cache';

/** The parts of an API Gateway REQUEST authorizer event the decision reads. */
export interface AuthorizationRequest {
  readonly headers: HeaderMap | null | undefined;
  readonly multiValueHeaders: MultiValueHeaderMap | null | undefined;
  readonly methodArn: string;
}

/** `context` values: flat strings only (API Gateway refuses nested values). */
export type AuthorizerContext = { readonly [K in keyof typeof AuthorizerContextKey as (typeof AuthorizerContextKey)[K]]: string };

export interface AuthorizerResponse extends APIGatewayAuthorizerResult {
  readonly context: AuthorizerContext;
}

interface TokenSummary {
  readonly clientId: string;
  readonly jti: string;
  readonly kid: string;
}

export interface Allowed extends TokenSummary {
  readonly outcome: 'allow';
  readonly response: AuthorizerResponse;
}

/** A valid token refused for this route: the response's policy denies it (API Gateway: 403). */
export interface Forbidden extends TokenSummary {
  readonly outcome: 'forbid';
  readonly reason: ForbidReason;
  readonly response: AuthorizerResponse;
}

/** No valid token (API Gateway: 401). */
export interface Rejected extends TokenFacts {
  readonly outcome: 'reject';
  readonly reason: RejectReason;
  /** Set for `internal_error` only: the unexpected error, for the error log. */
  readonly error?: unknown;
}

export type Decision = Allowed | Forbidden | Rejected;

/**
 * A verified token as cached, with the allow decision for the last method ARN it was
 * allowed on: a client repeating a request gets that decision back without allocating.
 */
interface CachedToken extends Cacheable, TokenSummary {
  readonly apiKeyId: string;
  /** Interned: tokens with the same scopes share the string. */
  readonly scope: string;
  /** The ring of audiences' own string where the token names one (the usual case), so it is shared. */
  readonly aud: string | readonly string[];
  /**
   * The service of the token's last request, with the token's grant and context there. A
   * token is minted for one service, so this is nearly always its only one; a request to
   * another recomputes both (two Map lookups and one small object).
   */
  serviceIndex: number;
  grant: Grant | undefined;
  context: AuthorizerContext | undefined;
  /** What API Gateway meters this token's requests under (`usageIdentifierKey`). */
  readonly usageKey: string | undefined;
  /** The method ARN of {@link lastAllowed}. */
  lastArn: string;
  /** Never modified once made: a decision handed out stays what it was. */
  lastAllowed: Allowed | undefined;
  cacheKey: string;
}

export interface AuthorizerDeps {
  readonly verifier: AccessTokenVerifier;
  readonly keys: KeyRingCache;
  readonly revocations: RevocationView;
  readonly services: ServiceRouter;
  readonly clockSkewSeconds: number;
  readonly now: () => number;
  readonly cacheCapacity?: number;
  /**
   * The usage key for a token without a `uik` claim (a client whose usage key is not
   * registered): a key of the default usage plan, so API Gateway meters the request there
   * instead of refusing it. Absent: such tokens get no `usageIdentifierKey`.
   */
  readonly fallbackUsageKey?: string;
}

/** Counters the handler publishes as metrics; plain integers so the hot path only increments. */
export interface AuthorizerStats {
  cacheHits: number;
  cacheMisses: number;
}

export class Authorizer {
  readonly stats: AuthorizerStats = { cacheHits: 0, cacheMisses: 0 };
  private readonly cache: VerifiedTokenCache<CachedToken>;

  constructor(private readonly deps: AuthorizerDeps) {
    this.cache = new VerifiedTokenCache<CachedToken>(deps.cacheCapacity);
  }

  get cachedTokens(): number {
    return this.cache.size;
  }

  /** How old the revocation view is (ms); Infinity before its first successful read. */
  revocationViewAgeMs(): number {
    return this.deps.revocations.ageMs(this.deps.now());
  }

  /** Loads the key ring and the revocation view (cold start); never rejects. */
  start(): Promise<void> {
    const nowMs = this.deps.now();
    return Promise.all([this.deps.keys.refresh(nowMs), this.deps.revocations.refresh(nowMs)]).then(() => undefined);
  }

  /** Drops cached tokens that newly arrived revocations cover (the view refuses them anyway). */
  forgetRevoked(): number {
    const revocations = this.deps.revocations;
    return this.cache.deleteWhere((t) => revocations.isRevoked(t.jti, t.apiKeyId, t.clientId, t.kid));
  }

  /** Never throws and the promise never rejects: every failure is a decision (docs/api.md#errors-common-to-all-routes). */
  decide(request: AuthorizationRequest): Decision | Promise<Decision> {
    try {
      const nowMs = this.deps.now();
      const token = bearerToken(authorizationHeader(request.headers, request.multiValueHeaders));
      const parts = methodArnParts(request.methodArn);
      if (parts === undefined) return rejected(RejectReason.internalError, {}, new Error('methodArn is not an execute-api method ARN'));
      const { keys, revocations } = this.deps;
      keys.refreshIfDue(nowMs);
      revocations.refreshIfDue(nowMs);
      if (!keys.loaded || revocations.mustReadBeforeDeciding(nowMs)) return this.decideWhenReady(token, request.methodArn, parts, nowMs).catch(refusal);
      const decision = this.decideNow(token, request.methodArn, parts, nowMs);
      return decision instanceof Promise ? decision.catch(refusal) : decision;
    } catch (error) {
      return refusal(error);
    }
  }

  /** `afterKeyReload`: the second attempt of {@link retryWithFreshKeys}. */
  private async decideWhenReady(token: string, arn: string, parts: MethodArnParts, nowMs: number, afterKeyReload = false): Promise<Decision> {
    const { keys, revocations } = this.deps;
    await Promise.all([keys.ensureLoaded(nowMs), revocations.refreshWhenBehind(nowMs)]);
    let after = this.deps.now();
    // The read joined may have started before a revocation the fan-out flushes for: a view
    // is as old as its read's start, and a slow read returns a view already behind. Read once
    // more; if that one is slow too, the view is decided on as in an outage (bounded by isStale).
    if (revocations.mustReadBeforeDeciding(after)) {
      await revocations.refreshWhenBehind(after);
      after = this.deps.now();
    }
    if (!keys.loaded) return rejected(RejectReason.keyRingUnavailable);
    if (revocations.isStale(after)) return rejected(RejectReason.revocationViewStale);
    return this.decideNow(token, arn, parts, after, afterKeyReload);
  }

  private decideNow(token: string, arn: string, parts: MethodArnParts, nowMs: number, afterKeyReload = false): Decision | Promise<Decision> {
    const hit = this.cache.get(token, nowMs);
    // A hit still needs its signing key trusted: a key can leave the ring (retired early,
    // compromised) while tokens it signed are cached.
    if (hit !== undefined && this.deps.keys.lookup(hit.kid, Math.floor(nowMs / 1000)) !== undefined) {
      // One request, one count: the attempt after a key reload was counted as a miss by the first.
      if (!afterKeyReload) this.stats.cacheHits += 1;
      return this.checked(hit, token, arn, parts, nowMs);
    }
    if (!afterKeyReload) this.stats.cacheMisses += 1;
    const nowSeconds = Math.floor(nowMs / 1000);
    let verified: VerifiedToken;
    try {
      verified = this.deps.verifier.verify(token, this.deps.keys, nowSeconds);
    } catch (error) {
      if (!afterKeyReload && error instanceof TokenRejected && error.reason === RejectReason.unknownKid)
        return this.retryWithFreshKeys(token, arn, parts, nowMs, error);
      return refusal(error);
    }
    return this.checked(this.remember(token, verified), token, arn, parts, nowMs);
  }

  /**
   * An unknown kid may be a key the ring gained since the last refresh: reload once
   * (penalty-boxed) and decide again. The reload may take seconds, during which this instance
   * reads no feed: the decision then goes through {@link decideWhenReady}, as any request on
   * a view that is behind does, so it is never made on a view older than the cache flush
   * allows. A kid still unknown after the reload is refused: one reload per request at most.
   */
  private async retryWithFreshKeys(token: string, arn: string, parts: MethodArnParts, nowMs: number, first: TokenRejected): Promise<Decision> {
    if (!(await this.deps.keys.refreshForUnknownKid(nowMs))) return refusal(first);
    return this.decideWhenReady(token, arn, parts, this.deps.now(), true);
  }

  private remember(token: string, verified: VerifiedToken): CachedToken {
    const validUntilSeconds = Math.min(verified.exp + this.deps.clockSkewSeconds, verified.key.verifyUntil);
    const entry: CachedToken = {
      clientId: verified.clientId,
      jti: verified.jti,
      // The ring's own string: shared by every cached token of that key.
      kid: verified.key.kid,
      apiKeyId: verified.apiKeyId,
      scope: intern(verified.scope),
      aud: typeof verified.aud === 'string' ? (this.deps.services.audiences.find((a) => a === verified.aud) ?? verified.aud) : verified.aud,
      serviceIndex: -1,
      grant: undefined,
      context: undefined,
      usageKey: verified.usageKey ?? this.deps.fallbackUsageKey,
      validUntilMs: validUntilSeconds * 1000,
      lastArn: '',
      lastAllowed: undefined,
      cacheKey: '',
    };
    this.cache.set(token, entry);
    return entry;
  }

  private checked(entry: CachedToken, token: string, arn: string, parts: MethodArnParts, nowMs: number): Decision {
    if (this.deps.revocations.isRevoked(entry.jti, entry.apiKeyId, entry.clientId, entry.kid)) {
      this.cache.delete(token, entry);
      return { outcome: 'reject', reason: RejectReason.revoked, clientId: entry.clientId, jti: entry.jti, kid: entry.kid };
    }
    const service = this.deps.services.resolve(arn, parts);
    // One comparison on the hot path while no suspension is in force (the usual case), ended ones included.
    if (this.deps.revocations.suspensionsEndMs > nowMs) {
      const suspension = this.deps.revocations.suspension(entry.clientId, entry.apiKeyId, nowMs);
      if (suspension !== undefined) return suspended(entry, arn, suspension, nowMs, this.contextFor(entry, service ?? this.deps.services.services[0]!));
    }
    // API Gateway routes only the services' prefixes to the authorizer: this path is under none of them.
    if (service === undefined) return this.forbid(entry, ForbidReason.unmatchedRoute, this.deps.services.services[0]!, arn);
    // A token minted for another service is no valid token here (RFC 9068 §4: the resource server checks `aud`).
    if (entry.aud !== service.audience && !namesAudience(entry.aud, service.audience)) {
      return { outcome: 'reject', reason: RejectReason.wrongAudience, clientId: entry.clientId, jti: entry.jti, kid: entry.kid };
    }
    const grant = this.onService(entry, service).grant!;
    const outcome = service.routes.outcome(grant, arn, parts, this.deps.services.pathStart(service, arn, parts));
    if (outcome === 'allow') {
      if (entry.lastAllowed !== undefined && entry.lastArn === arn) return entry.lastAllowed;
      const response = responseOf(entry, this.contextFor(entry, service), 'Allow', arn);
      const allowed: Allowed = { outcome: 'allow', clientId: entry.clientId, jti: entry.jti, kid: entry.kid, response };
      // The policy's own (shared) copy of the ARN, not the event's: kept per token, it would cost its length.
      entry.lastArn = (response.policyDocument.Statement[0] as { Resource: string }).Resource;
      entry.lastAllowed = allowed;
      return allowed;
    }
    const reason =
      outcome === 'insufficient_scope' ? ForbidReason.insufficientScope : outcome === 'unmatched' ? ForbidReason.unmatchedRoute : ForbidReason.ambiguousPath;
    return this.forbid(entry, reason, service, arn);
  }

  private forbid(entry: CachedToken, reason: ForbidReason, service: RoutedService, arn: string): Forbidden {
    return {
      outcome: 'forbid',
      reason,
      clientId: entry.clientId,
      jti: entry.jti,
      kid: entry.kid,
      response: responseOf(entry, this.contextFor(entry, service), 'Deny', arn),
    };
  }

  /** What API Gateway passes on to the upstream for the token on a service. */
  private contextFor(entry: CachedToken, service: RoutedService): AuthorizerContext {
    return this.onService(entry, service).context!;
  }

  /** The token's grant and context on `service`, made when it first (or again) calls that service. */
  private onService(entry: CachedToken, service: RoutedService): CachedToken {
    if (entry.serviceIndex === service.index) return entry;
    const grant = service.routes.grant(entry.scope);
    entry.serviceIndex = service.index;
    entry.grant = grant;
    // A literal with the contract's keys (not computed ones), so every context shares one V8 shape.
    entry.context = {
      clientId: entry.clientId,
      scopes: grant.scopes,
      jti: entry.jti,
      keyId: entry.apiKeyId,
      kid: entry.kid,
      service: service.name,
    } satisfies AuthorizerContext;
    return entry;
  }
}

/**
 * The answer for one request: its policy names only the request's method ARN (the
 * identity sources key API Gateway's cache by method and path too; see
 * `AUTHORIZER_IDENTITY_SOURCES`). The context is shared by every answer for the token.
 */
function responseOf(entry: CachedToken, context: AuthorizerContext, effect: 'Allow' | 'Deny', arn: string): AuthorizerResponse {
  const policyDocument = requestPolicy(effect, arn);
  const { clientId: principalId, usageKey } = entry;
  return usageKey === undefined ? { principalId, policyDocument, context } : { principalId, policyDocument, context, usageIdentifierKey: usageKey };
}

/**
 * A suspended client's Deny: its context also names the refusal and the seconds until the
 * suspension ends, which the gateway turns into the `quota_exceeded` answer and `Retry-After`.
 */
function suspended(
  entry: CachedToken,
  arn: string,
  suspension: { readonly untilMs: number; readonly reason: string },
  nowMs: number,
  context: AuthorizerContext,
): Forbidden {
  const reason = suspension.reason === 'anomaly' ? ForbidReason.suspended : ForbidReason.quotaExceeded;
  const retryAfter = String(Math.max(1, Math.ceil((suspension.untilMs - nowMs) / 1000)));
  // The gateway reads the refusal from two more context keys (common/usage.ts `SuspensionContextKey`).
  const refusal = { ...context, [SuspensionContextKey.refusal]: reason, [SuspensionContextKey.retryAfter]: retryAfter };
  return { outcome: 'forbid', reason, clientId: entry.clientId, jti: entry.jti, kid: entry.kid, response: responseOf(entry, refusal, 'Deny', arn) };
}

/** Scope strings seen, so cached tokens with the same scopes share one string. */
const SCOPES = new Map<string, string>();
const SCOPES_LIMIT = 4096;

function intern(scope: string): string {
  const known = SCOPES.get(scope);
  if (known !== undefined) return known;
  if (SCOPES.size >= SCOPES_LIMIT) SCOPES.clear();
  SCOPES.set(scope, scope);
  return scope;
}

function rejected(reason: RejectReason, facts: TokenFacts = {}, error?: unknown): Rejected {
  return { outcome: 'reject', reason, ...facts, ...(error === undefined ? {} : { error }) };
}

/** The one place an error becomes a decision: a refusal names its reason, anything else is `internal_error`. */
function refusal(error: unknown): Rejected {
  return error instanceof TokenRejected ? rejected(error.reason, error.facts) : rejected(RejectReason.internalError, {}, error);
}
