/**
 * Internal defaults and hard limits (a deployment setting's default and bounds are its
 * descriptor's, `common/settings.ts`), the bounds the stack and the functions both check,
 * dependency time budgets and the timing (rotation windows, revocation margins) derived
 * from them.
 */
import type { ClientLimits } from './credential-items';
import { tokenTtlSeconds } from './settings';
import type { KeySpec } from './tokens';

/**
 * How much older than one poll interval an authorizer's revocation view may be when it
 * allows a request (beyond that it reads the feed first), and how long after one poll
 * interval from its feed write the fan-out flushes API Gateway's authorizer cache: so
 * every decision API Gateway can cache after the flush was made on a view that holds the
 * write. Covers the feed read itself (one Query per partition, tens of ms).
 */
export const REVOCATION_SETTLE_MARGIN_MS = 250;

/**
 * How long an authorizer's answer may take from its decision to API Gateway's cache (the
 * Lambda response's way back): the fan-out's flush waits this much beyond the authorizers'
 * own bound on their view's age, so the two margins never meet at zero.
 */
export const AUTHORIZER_ANSWER_MARGIN_MS = 250;

export const SECONDS_PER_DAY = 86_400;

/**
 * How long any call to DynamoDB, DynamoDB Streams, KMS, API Gateway, Lambda or EventBridge
 * may take (issue #15). Every SDK client is built with these by
 * `lambda/adapters/clients/options.ts`, in Lambda and in local mode alike.
 *
 * - `connectionTimeoutMs`: TCP (and TLS) set-up. A regional endpoint connects in tens of ms.
 * - `attemptTimeoutMs`: one HTTP attempt, first byte to last. DynamoDB and KMS answer in
 *   single-digit ms at p99; a second is a dependency that is not answering.
 * - `maxAttempts`: the SDK's standard retry mode (exponential backoff with full jitter,
 *   a retry-token bucket that stops retrying when most calls fail): one try and two retries.
 * - `requestBudgetMs`: what one HTTP request to the token or admin function may spend on
 *   its dependencies altogether, retries and backoff included. Under the 3 s a caller is
 *   promised an answer in, with room for the gateway and the function itself.
 */
export const DependencyBudget = {
  connectionTimeoutMs: 1_000,
  attemptTimeoutMs: 1_000,
  maxAttempts: 3,
  requestBudgetMs: 2_500,
  /**
   * Lambda `Invoke` (`POST /admin/signing-keys/rotate` runs the rotation function and waits
   * for its report): one attempt, since a retry would run the function again, for as long
   * as a rotation may take within API Gateway's 29 s integration timeout. That route's
   * request budget is the same.
   */
  invokeTimeoutMs: 25_000,
} as const;

export const Defaults = {
  clockSkewSeconds: 30,
  keyRingRefreshSeconds: 60,
  /** Cache-Control max-age of the JWKS document, for verifiers outside Tollgate. */
  jwksMaxAgeSeconds: 300,
  rollGraceSeconds: 86_400,
  /** `lastUsedAt` is written at most this often per key (docs/api.md#credentials: sampled). */
  lastUsedSampleSeconds: 3600,
  /** Per-client steady rate (requests/s) of the default usage plan. */
  rateLimit: 50,
  /** Per-client burst (token-bucket capacity) of the default usage plan. No default quota. */
  burstLimit: 100,
  /**
   * Stage throttle of `POST /oauth/token`, all callers together, by key spec. Every exchange
   * that authenticates makes one KMS `Sign`, and KMS allows 300 (ECC) or 500 (RSA)
   * asymmetric cryptographic requests/s per account and Region (KMS "Request quotas",
   * shared with every other use of such keys there). A little under it, so a flood of
   * exchanges gets 429 from the gateway instead of KMS throttling every signer in the
   * account; the burst absorbs two seconds' worth.
   */
  tokenRouteThrottle: {
    ECC_NIST_P256: { rateLimit: 250, burstLimit: 500 },
    RSA_2048: { rateLimit: 450, burstLimit: 900 },
  } satisfies Record<KeySpec, { rateLimit: number; burstLimit: number }>,
  /**
   * Stage throttle of `POST /oauth/revoke` and of `GET /.well-known/jwks.json`, each, all
   * callers together. Both are unauthenticated at the gateway, so only the account's
   * 10,000 requests/s would bound them otherwise; legitimate traffic is far lower (a client
   * revokes rarely, verifiers cache the JWKS for `jwksMaxAgeSeconds`).
   */
  publicRouteThrottle: { rateLimit: 100, burstLimit: 200 },
  /**
   * API Gateway's client certificates are valid for 365 days. The alarm fires this long
   * before the presented one expires: time to prepare its successor, have the upstream trust
   * it and switch, with a weekend or two to spare.
   */
  upstreamCertificateWarningDays: 30,
} as const;

export const Limits = {
  /**
   * How long after its `exp` a token may still be accepted, cache included: RFC 7519
   * §4.1.4 allows "some small leeway, usually no more than a few minutes".
   */
  acceptedAfterExpiryMaxSeconds: 300,
  clockSkewSecondsMax: 300,
  /**
   * `TOLLGATE_KEY_RING_REFRESH_SECONDS`, one range for its two readers: the authorizer polls
   * the ring that often, and rotation publishes a new key that long (at least) before it signs.
   */
  keyRingRefreshSecondsMin: 5,
  keyRingRefreshSecondsMax: 3600,
  apiKeyExpiresInDaysMax: 3650,
  rollGraceSecondsMax: 30 * 86_400,
  /** Bearer tokens longer than this are refused before any parsing. */
  maxAccessTokenBytes: 4096,
  /** Request bodies of the token and admin endpoints. */
  maxRequestBodyBytes: 16 * 1024,
  maxScopesPerKey: 64,
  maxScopeLength: 128,
  /**
   * `resource` and `audience` at the token endpoint (unauthenticated input): a service's URL
   * or audience is far shorter, and the bound keeps matching them against the services cheap.
   */
  maxResourceLength: 2048,
  maxDescriptionLength: 256,
  maxMetadataBytes: 2048,
  adminPageSizeMax: 100,
  /** Per-client rate: API Gateway's default account-level steady rate per Region. */
  rateLimitMax: 10_000,
  /** Per-client burst: API Gateway's account-level bucket capacity per Region. */
  burstLimitMax: 5_000,
  /** Quota limits are 32-bit integers in API Gateway's `QuotaSettings`. */
  quotaLimitMax: 2_147_483_647,
} as const;

/** The limits of the default usage plan (what a client without its own limits gets). */
export const DEFAULT_CLIENT_LIMITS: ClientLimits = { rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit };

/**
 * Signing-key rotation overlap windows (docs/rotation.md). The CDK config validation and the
 * rotation function both derive the windows from these, so the two cannot disagree.
 */
export const RotationTiming = {
  /**
   * Extra publication time of a pending key beyond the longest verifier cache: a verifier
   * whose clock runs up to `Limits.clockSkewSecondsMax` behind, or a shared HTTP cache in
   * front of it holding the JWKS a little past its own fetch, still learns the key first.
   */
  publicationMarginSeconds: 300,
  /**
   * Extra verification time of a retiring key beyond the longest token lifetime plus the
   * verifiers' clock skew: the issuer caches the ring for a few seconds, so it may sign
   * with the old active key briefly after the switch.
   */
  signerLagMarginSeconds: 60,
} as const;

/**
 * How long a new key stays `pending` (published, not signing): authorizers refresh their
 * ring every `keyRingRefreshSeconds`, outside verifiers may cache the JWKS for
 * `Defaults.jwksMaxAgeSeconds`; the key must be known to both before it signs anything.
 */
export function pendingPublicationSeconds(keyRingRefreshSeconds: number = Defaults.keyRingRefreshSeconds): number {
  return Math.max(keyRingRefreshSeconds, Defaults.jwksMaxAgeSeconds) + RotationTiming.publicationMarginSeconds;
}

/**
 * How long a key keeps verifying after it stops signing: the hard maximum token lifetime
 * (not the configured one, so a later configuration change cannot strand live tokens —
 * hashicorp/vault#11441), plus the verifiers' clock skew, plus the signer's lag.
 */
export function retiringVerificationSeconds(clockSkewSeconds: number = Defaults.clockSkewSeconds): number {
  return tokenTtlSeconds.max + clockSkewSeconds + RotationTiming.signerLagMarginSeconds;
}

/**
 * The longest a token is accepted after its `exp`: the verifier's clock skew, then the
 * authorizer cache TTL, because a decision API Gateway cached a moment before `exp` is
 * reused for the whole TTL (the cache has no notion of the token's lifetime).
 */
export function acceptedAfterExpirySeconds(authorizerCacheTtlSeconds: number, clockSkewSeconds: number = Defaults.clockSkewSeconds): number {
  return clockSkewSeconds + authorizerCacheTtlSeconds;
}

/**
 * Bounds within a setting's value that the stack checks at synth and the functions check
 * again at cold start, kept here so the two checks cannot disagree (a value the stack
 * accepts and the function rejects would deploy a function that cannot start). A plain
 * setting's own bounds are its descriptor's (`common/settings.ts`).
 */
export const SettingBounds = {
  /** The authorizer matches a request against every rule; a bound keeps that cheap. */
  routeRulesMax: 100,
} as const;

/** GitHub's secret-scanning partner program: the public keys its alerts are signed with. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';
