/**
 * Configuration defaults, hard limits and the environment variables through which the
 * CDK stack (and local mode) hands configuration to the functions (docs/deploy.md#deploy).
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
  /** JSON array of services (`common/services.ts`); absent: one service from the single-service settings. */
  services: 'TOLLGATE_SERVICES',
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
  /**
   * Leak function: where GitHub's secret-scanning public keys are listed (`secretScanningKeysUrl`).
   * @default {@link GITHUB_SECRET_SCANNING_KEYS_URL}
   */
  secretScanningKeysUrl: 'TOLLGATE_SECRET_SCANNING_KEYS_URL',
  /** Admin function: the prefix of new API keys (`apiKeyPrefix`; `common/tokens.ts`). */
  apiKeyPrefix: 'TOLLGATE_API_KEY_PREFIX',
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
  /** `lastUsedAt` is written at most this often per key (docs/api.md#credentials: sampled). */
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
  /** docs/api.md#credentials: hard maximum access-token lifetime. */
  tokenTtlSecondsMax: 3600,
  keyDeletionWindowDaysMin: 7,
  keyDeletionWindowDaysMax: 30,
  /** API Gateway's own bounds for the authorizer result cache. */
  authorizerCacheTtlSecondsMax: 3600,
  /**
   * How long after its `exp` a token may still be accepted, cache included: RFC 7519
   * §4.1.4 allows "some small leeway, usually no more than a few minutes".
   */
  acceptedAfterExpiryMaxSeconds: 300,
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
 * to Tollgate: the authorizer refuses a request that carries one, and local mode's gateway
 * drops the client's copies before setting {@link UpstreamHeader}.
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

export const METRICS_NAMESPACE = 'Tollgate';

/** EventBridge detail-types of the credential-hygiene events (no secrets in their detail). */
export const HygieneEvent = {
  source: 'tollgate',
  keyExpiring: 'Tollgate API Key Expiring',
  keyStale: 'Tollgate API Key Stale',
} as const;

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
  return Limits.tokenTtlSecondsMax + clockSkewSeconds + RotationTiming.signerLagMarginSeconds;
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
 * Why an authorizer cache TTL breaks the bound on acceptance after `exp`, or undefined.
 * The stack (`lib/config.ts`) and `npm start` (`local/start-input.ts`) both refuse it.
 */
export function authorizerCacheTtlProblem(ttlSeconds: number, clockSkewSeconds: number = Defaults.clockSkewSeconds): string | undefined {
  const after = acceptedAfterExpirySeconds(ttlSeconds, clockSkewSeconds);
  if (after <= Limits.acceptedAfterExpiryMaxSeconds) return undefined;
  return (
    `must be at most ${Limits.acceptedAfterExpiryMaxSeconds - clockSkewSeconds}: a decision cached just before a token's exp is reused for the whole TTL, ` +
    `so with the ${clockSkewSeconds} s clock skew a token would be accepted up to ${after} s after it expired (at most ${Limits.acceptedAfterExpiryMaxSeconds} s is allowed)`
  );
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
  /** The authorizer matches a request against every rule; a bound keeps that cheap. */
  routeRulesMax: 100,
  /** `upstreamCertificateGeneration`: one renewal a year for a thousand years. */
  upstreamCertificateGenerationMax: 1000,
} as const;

/** Greedy last segment, `{proxy+}`. */
const GREEDY_SEGMENT = /^\{[A-Za-z0-9_]+\+\}$/;
const PARAM_SEGMENT = /^\{[A-Za-z0-9_]+\}$/;
/**
 * RFC 3986 pchar without `*` (a wildcard in an execute-api policy) and `;` (path
 * parameters: Tomcat and Spring strip `;…` from a segment, so `..;` traverses).
 */
const LITERAL_SEGMENT = /^[A-Za-z0-9._~!$&'()+,=:@%-]+$/;

/**
 * After decoding: separators (`/`, `\\`), an escape (`%`, so nothing decodes twice), `*`
 * (an execute-api wildcard), `;` (path parameters: Tomcat and Spring cut a segment there,
 * and Fastify the path), `?` and `#` (an upstream re-reading the path would cut it there),
 * and control characters.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
const AMBIGUOUS_IN_SEGMENT = /[/\\%*;?#\u0000-\u001f\u007f]/;

/**
 * A path segment percent-decoded and lower-cased, as the authorizer compares segments
 * with route rules (`lambda/core/authorizer/route-policy.ts`); undefined when decoding makes it
 * ambiguous to upstream frameworks: empty, a dot segment, holding a character of
 * {@link AMBIGUOUS_IN_SEGMENT}, or a non-ASCII character that another case mapping or
 * Unicode normalisation would turn into a different string.
 */
export function canonicalPathSegment(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    return undefined;
  }
  if (decoded === '' || decoded === '.' || decoded === '..' || AMBIGUOUS_IN_SEGMENT.test(decoded)) return undefined;
  const lower = decoded.toLowerCase();
  // Characters whose case or compatibility mapping lands elsewhere (ſ and K fold to s and k in Java
  // and Go, fullwidth letters normalise to ASCII): an upstream could read them as another literal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the class is everything outside printable ASCII and NUL to `~`.
  if (/[^\x00-\x7e]/.test(decoded) && (decoded.toUpperCase().toLowerCase() !== lower || decoded.normalize('NFKC') !== decoded)) return undefined;
  return lower;
}

/** Why a route path (docs/deploy.md#deploy: `{param}` segments, a final `{proxy+}`) is invalid, or undefined. */
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
    } else if (!PARAM_SEGMENT.test(segment) && canonicalPathSegment(segment) === undefined) {
      return `segment "${segment}" is ambiguous (a dot segment, or an escape that decodes to "/", "%" or a control character)`;
    }
  }
  return undefined;
}

/**
 * JSON text of a setting, parsed and checked by `problemOf`: the value, or the message to
 * refuse it with (naming the setting). Each reader wraps the message in its own error type.
 */
export function checkedJson(
  json: string,
  setting: string,
  problemOf: (value: unknown) => string | undefined,
): { readonly value: unknown } | { readonly message: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { message: `${setting} is not valid JSON: ${(error as Error).message}` };
  }
  const problem = problemOf(value);
  return problem ? { message: `${setting}${problem.startsWith('[') ? '' : ' '}${problem}` } : { value };
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

/** GitHub's secret-scanning partner program: the public keys its alerts are signed with. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/**
 * Why a secret-scanning key-list URL cannot be used, or undefined: an absolute http(s) URL
 * without credentials or fragment. `httpsOnly` at synth: in AWS the list decides which
 * signatures are GitHub's, so it must come over TLS; local mode and tests serve their own
 * list on loopback.
 */
export function keysUrlProblem(value: unknown, httpsOnly = false): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) return httpsOnly ? 'must use https' : 'must be an http:// or https:// URL';
  if (url.username || url.password || url.hash) return 'must not carry credentials or a fragment';
  return undefined;
}
