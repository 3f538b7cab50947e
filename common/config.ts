/**
 * Configuration defaults, hard limits and the environment variables through which the
 * CDK stack (and local mode) hands configuration to the functions (contract §5).
 */
import type { ClientLimits } from './tables';
import type { KeySpec } from './tokens';

/** Environment variables read by the functions. Table names: see `Tables[*].envVar`. */
export const Env = {
  issuer: 'TOLLGATE_ISSUER',
  audience: 'TOLLGATE_AUDIENCE',
  tokenTtlSeconds: 'TOLLGATE_TOKEN_TTL_SECONDS',
  keySpec: 'TOLLGATE_KEY_SPEC',
  /** JSON array of {@link RouteRule}. */
  routes: 'TOLLGATE_ROUTES',
  /** `deny` (default) or `allow`: what happens to a request that matches no route rule. */
  unmatchedRoutes: 'TOLLGATE_UNMATCHED_ROUTES',
  clockSkewSeconds: 'TOLLGATE_CLOCK_SKEW_SECONDS',
  revocationPollMs: 'REVOCATION_POLL_MS',
  revocationMaxStalenessS: 'REVOCATION_MAX_STALENESS_S',
  keyRingRefreshSeconds: 'TOLLGATE_KEY_RING_REFRESH_SECONDS',
  allowLogSampleRate: 'TOLLGATE_ALLOW_LOG_SAMPLE_RATE',
  forwardBearerToken: 'TOLLGATE_FORWARD_BEARER_TOKEN',
  rotationIntervalDays: 'TOLLGATE_ROTATION_INTERVAL_DAYS',
  keyDeletionWindowDays: 'TOLLGATE_KEY_DELETION_WINDOW_DAYS',
  expiryWarningDays: 'TOLLGATE_EXPIRY_WARNING_DAYS',
  staleKeyDays: 'TOLLGATE_STALE_KEY_DAYS',
  eventBusName: 'TOLLGATE_EVENT_BUS_NAME',
  /** Comma-separated `restApiId/stageName` pairs whose authorizer cache the fan-out flushes. */
  flushStages: 'TOLLGATE_FLUSH_STAGES',
  /** Name of the rotation function, which `POST /admin/signing-keys/rotate` invokes. */
  rotationFunction: 'TOLLGATE_ROTATION_FUNCTION',
  /**
   * Local mode and tests only: a shorter `pending` window than {@link pendingPublicationSeconds}
   * (which also waits out outside verifiers' JWKS caches). At least twice the ring refresh, so
   * every authorizer has finished a refresh after the key was published before it signs.
   */
  pendingPublicationSeconds: 'TOLLGATE_PENDING_PUBLICATION_SECONDS',
  /**
   * Per-client throttling (admin function): the NAME of the usage plan clients with default
   * limits share, looked up on {@link restApiId}/{@link stageName}. A name, not an id: the
   * plan depends on the stage, which depends on the admin function's methods, so the
   * function's environment cannot reference the plan's id (a circular dependency). All
   * three absent turns usage-plan registration off (nothing is registered, responses say so).
   */
  defaultUsagePlanName: 'TOLLGATE_DEFAULT_USAGE_PLAN_NAME',
  /** The REST API whose stage custom usage plans are attached to (admin function). */
  restApiId: 'TOLLGATE_REST_API_ID',
  /** The stage custom usage plans are attached to (admin function). */
  stageName: 'TOLLGATE_STAGE_NAME',
  /**
   * Authorizer: the usage key (an API Gateway API key value in the default plan) returned
   * as `usageIdentifierKey` for a token without a `uik` claim, so a client whose own
   * registration failed is served on the default plan instead of refused by API Gateway.
   */
  fallbackUsageKey: 'TOLLGATE_FALLBACK_USAGE_KEY',
  /**
   * Rotation function: the id of the API Gateway client certificate the stage presents to the
   * upstream, whose expiry each scheduled step reports (`UpstreamCertificateSecondsLeft`).
   * Absent (local mode): nothing to watch.
   */
  upstreamCertificateId: 'TOLLGATE_UPSTREAM_CERTIFICATE_ID',
  /** Rotation function: the certificate prepared to replace it, when one is (`prepareNextUpstreamCertificate`). */
  nextUpstreamCertificateId: 'TOLLGATE_NEXT_UPSTREAM_CERTIFICATE_ID',
} as const;

/**
 * Local mode and tests only: endpoint URLs that point an AWS client at a local stand-in
 * (DynamoDB Local, the local KMS endpoint, the local server's Lambda/API Gateway/EventBridge
 * stand-ins). Unset in AWS, where the SDK's own endpoints apply.
 */
export const EndpointEnv = {
  dynamodb: 'TOLLGATE_DYNAMODB_ENDPOINT',
  kms: 'TOLLGATE_KMS_ENDPOINT',
  lambda: 'TOLLGATE_LAMBDA_ENDPOINT',
  apigateway: 'TOLLGATE_APIGATEWAY_ENDPOINT',
  events: 'TOLLGATE_EVENTS_ENDPOINT',
} as const;

/**
 * How much older than one poll interval an authorizer's revocation view may be when it
 * allows a request (beyond that it reads the feed first), and how long after one poll
 * interval from its feed write the fan-out flushes API Gateway's authorizer cache: so
 * every decision API Gateway can cache after the flush was made on a view that holds the
 * write. Covers the feed read itself (one Query per partition, tens of ms).
 */
export const REVOCATION_SETTLE_MARGIN_MS = 250;

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
  tokenTtlSeconds: 900,
  keySpec: 'ECC_NIST_P256' as KeySpec,
  clockSkewSeconds: 30,
  /**
   * 500, not the contract's ceiling of 1000: with one poll interval on top of the stream
   * and fan-out latency, 1000 ms missed the 2 s p99 propagation promise (BENCHMARKS.md P4).
   * Polls happen only on requests, so an idle instance reads nothing.
   */
  revocationPollMs: 500,
  /**
   * `revocationViewMaxStaleSeconds`: how long an authorizer that cannot read the revocation
   * feed keeps deciding on its last view before it answers 503 (docs/revocation.md, "Outages").
   */
  revocationMaxStalenessS: 30,
  keyRingRefreshSeconds: 60,
  /** Cache-Control max-age of the JWKS document, for verifiers outside Tollgate. */
  jwksMaxAgeSeconds: 300,
  authorizerCacheTtlSeconds: 60,
  rollGraceSeconds: 86_400,
  rotationIntervalDays: 30,
  keyDeletionWindowDays: 30,
  expiryWarningDays: 14,
  staleKeyDays: 90,
  /** `lastUsedAt` is written at most this often per key (contract §1.1: sampled). */
  lastUsedSampleSeconds: 3600,
  allowLogSampleRate: 0.01,
  stageName: 'v1',
  audience: 'tollgate',
  unmatchedRoutes: 'deny' as UnmatchedRoutes,
  forwardBearerToken: false,
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
   * The stage's client certificate: which generation it presents (a new generation is a new
   * certificate; see docs/deploy.md, "Renewing the upstream client certificate").
   */
  upstreamCertificateGeneration: 1,
  /**
   * API Gateway's client certificates are valid for 365 days. The alarm fires this long
   * before the presented one expires: time to prepare its successor, have the upstream trust
   * it and switch, with a weekend or two to spare.
   */
  upstreamCertificateWarningDays: 30,
} as const;

export const Limits = {
  tokenTtlSecondsMin: 60,
  /** Contract §1.2: hard maximum access-token lifetime. */
  tokenTtlSecondsMax: 3600,
  keyDeletionWindowDaysMin: 7,
  keyDeletionWindowDaysMax: 30,
  /** API Gateway's own bounds for the authorizer result cache. */
  authorizerCacheTtlSecondsMax: 3600,
  revocationPollMsMin: 100,
  revocationPollMsMax: 1000,
  /**
   * `revocationViewMaxStaleSeconds`: at least a few polls (a view this young is merely one
   * slow read behind), and at most the token lifetime (`tokenTtlSeconds`), checked against it
   * where both are read: beyond that a token revoked during an outage could be accepted for
   * its whole life.
   */
  revocationViewMaxStaleSecondsMin: 5,
  clockSkewSecondsMax: 300,
  apiKeyExpiresInDaysMax: 3650,
  rollGraceSecondsMax: 30 * 86_400,
  /** Bearer tokens longer than this are refused before any parsing. */
  maxAccessTokenBytes: 4096,
  /** Request bodies of the token and admin endpoints. */
  maxRequestBodyBytes: 16 * 1024,
  maxScopesPerKey: 64,
  maxScopeLength: 128,
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
 * Names of the API Gateway resources per-client throttling manages. Lookups also match the
 * key's value or the plan's API stage, so two deployments in one account never adopt each
 * other's resources (API Gateway does not make names unique).
 */
export const UsageNaming = {
  /** `name` of a client's API Gateway API key (its value is the client's `usageKey`). */
  apiKey: (clientId: string) => `tollgate-${clientId}`,
  /** `name` of the usage plan of a client with custom limits. */
  customPlan: (clientId: string) => `tollgate-client-${clientId}`,
  /** Tag keys on the API keys and plans Tollgate creates. */
  applicationTag: 'tollgate:application',
  clientTag: 'tollgate:client',
} as const;

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Client ids appear in paths, logs and Basic credentials: keep them plain. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export type UnmatchedRoutes = 'deny' | 'allow';

/**
 * A route rule (contract §5). `method` is an HTTP method or `ANY`; `path` may contain
 * `{param}` segments and end in `{proxy+}`. A request needs every scope listed.
 */
export interface RouteRule {
  readonly method: HttpMethod | 'ANY';
  readonly path: string;
  readonly scopes: readonly string[];
}

/** Contract §6: the routes local mode (and the stack, unless configured) protects. */
export const DEFAULT_ROUTES: readonly RouteRule[] = [
  { method: 'GET', path: '/orders', scopes: ['orders:read'] },
  { method: 'GET', path: '/orders/{proxy+}', scopes: ['orders:read'] },
  { method: 'POST', path: '/orders', scopes: ['orders:write'] },
  { method: 'PUT', path: '/orders/{proxy+}', scopes: ['orders:write'] },
  { method: 'PATCH', path: '/orders/{proxy+}', scopes: ['orders:write'] },
  { method: 'DELETE', path: '/orders/{proxy+}', scopes: ['orders:write'] },
];

/** Headers the gateway adds for the upstream (contract §2.1). */
export const UpstreamHeader = {
  clientId: 'X-Tollgate-Client-Id',
  scopes: 'X-Tollgate-Scopes',
  tokenId: 'X-Tollgate-Token-Id',
} as const;

/** Keys of the authorizer's `context` map: flat strings only (API Gateway rejects nested values). */
export const AuthorizerContextKey = {
  clientId: 'clientId',
  scopes: 'scopes',
  jti: 'jti',
  keyId: 'keyId',
  kid: 'kid',
} as const;

/** Paths of the Tollgate HTTP API (contract §2); everything else goes to the upstream. */
export const ApiPath = {
  token: '/oauth/token',
  revoke: '/oauth/revoke',
  jwks: '/.well-known/jwks.json',
  admin: '/admin',
} as const;

export const METRICS_NAMESPACE = 'Tollgate';

/** EventBridge detail-types of the credential-hygiene events (no secrets in their detail). */
export const HygieneEvent = {
  source: 'tollgate',
  keyExpiring: 'Tollgate API Key Expiring',
  keyStale: 'Tollgate API Key Stale',
} as const;

/**
 * Signing-key rotation overlap windows (contract §4). The CDK config validation and the
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
  return Limits.tokenTtlSecondsMax + clockSkewSeconds + RotationTiming.signerLagMarginSeconds;
}

/**
 * Bounds of settings that the stack checks at synth and the functions check again at
 * cold start, kept here so the two checks cannot disagree (a value the stack accepts and
 * the function rejects would deploy a function that cannot start).
 */
export const SettingBounds = {
  rotationIntervalDaysMax: 365,
  /** `expiryWarningDays` and `staleKeyDays`. */
  hygieneDaysMax: 3650,
  /** Every rule adds patterns to the authorizer's policy document, whose size API Gateway bounds. */
  routeRulesMax: 100,
  /** `upstreamCertificateGeneration`: one renewal a year for a thousand years. */
  upstreamCertificateGenerationMax: 1000,
} as const;

/** Greedy last segment, `{proxy+}`. */
const GREEDY_SEGMENT = /^\{[A-Za-z0-9_]+\+\}$/;
const PARAM_SEGMENT = /^\{[A-Za-z0-9_]+\}$/;
/**
 * RFC 3986 pchar without `*` and `?`: those would become wildcards in the authorizer's
 * execute-api policy patterns.
 */
const LITERAL_SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=:@%-]+$/;

/** Why a route path (contract §5: `{param}` segments, a final `{proxy+}`) is invalid, or undefined. */
export function routePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'path must start with "/"';
  if (path === '/') return undefined;
  const segments = path.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    if (segment === '') return 'path must not contain empty segments or end with "/"';
    if (GREEDY_SEGMENT.test(segment)) {
      if (i !== segments.length - 1) return 'a greedy {name+} segment must be the last one';
    } else if (!PARAM_SEGMENT.test(segment) && !LITERAL_SEGMENT.test(segment)) {
      return `segment "${segment}" has characters a literal path segment cannot have`;
    }
  }
  return undefined;
}

/** Why one route rule is invalid (prefixed with the rule's method and path), or undefined. */
export function routeRuleProblem(rule: unknown): string | undefined {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return 'must be an object {method, path, scopes}';
  const { method, path, scopes, ...extra } = rule as Record<string, unknown>;
  const label = `(${String(method)} ${String(path)})`;
  const unknownFields = Object.keys(extra);
  if (unknownFields.length) return `${label}: unknown field ${unknownFields.map((k) => `"${k}"`).join(', ')}`;
  if (method !== 'ANY' && !HTTP_METHODS.includes(method as HttpMethod)) return `${label}: method must be ANY or one of ${HTTP_METHODS.join(', ')}`;
  if (typeof path !== 'string') return `${label}: path must be a string`;
  const pathProblem = routePathProblem(path);
  if (pathProblem) return `${label}: ${pathProblem}`;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN_PATTERN.test(s))) {
    return `${label}: scopes must be an array of scope tokens (RFC 6749 §3.3)`;
  }
  return undefined;
}

/** Why a list of route rules is invalid (naming the rule by index: `[3] (GET /x): …`), or undefined. */
export function routeRulesProblem(rules: unknown): string | undefined {
  if (!Array.isArray(rules)) return 'must be an array of {method, path, scopes} rules';
  if (rules.length > SettingBounds.routeRulesMax) return `has ${rules.length} rules; at most ${SettingBounds.routeRulesMax} are allowed`;
  const seen = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    const problem = routeRuleProblem(rule);
    if (problem) return `[${i}] ${problem}`;
    const key = `${(rule as RouteRule).method} ${(rule as RouteRule).path}`;
    if (seen.has(key)) return `[${i}] (${key}) duplicates an earlier rule`;
    seen.add(key);
  }
  return undefined;
}
