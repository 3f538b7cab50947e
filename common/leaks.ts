/**
 * Leak response (docs/leaks.md): the shared facts of the two public endpoints that revoke a
 * leaked API key, GitHub's secret-scanning partner endpoint and the public revocation
 * endpoint, read by the CDK stack, the leak function, local mode and the CLI alike.
 */

/** Paths of the leak endpoints (both public: no authorizer, no IAM). */
export const LeakPath = {
  github: '/secret-scanning/github',
  revoke: '/leaks/revoke',
} as const;

/**
 * GitHub's secret-scanning partner program: the request headers that carry the signature
 * (ECDSA P-256 / SHA-256, base64 DER, over the raw body) and the id of the key that made it.
 */
export const GitHubHeader = {
  keyIdentifier: 'Github-Public-Key-Identifier',
  signature: 'Github-Public-Key-Signature',
} as const;

/** What happens to a live key reported leaked: revoked at once (default), or only reported. */
export const LEAK_RESPONSES = ['revoke', 'notify'] as const;
export type LeakResponse = (typeof LEAK_RESPONSES)[number];
export const DEFAULT_LEAK_RESPONSE: LeakResponse = 'revoke';

export function isLeakResponse(value: unknown): value is LeakResponse {
  return typeof value === 'string' && (LEAK_RESPONSES as readonly string[]).includes(value);
}

export const LeakLimits = {
  /**
   * Request bodies of both endpoints. GitHub sends every match of one scan in one request;
   * 1,000 credentials of the public endpoint are about 70 KB as JSON.
   */
  maxBodyBytes: 512 * 1024,
  /** Credentials in one `POST /leaks/revoke`. */
  maxCredentials: 1000,
  /** The longest `url`/`source`/`type` kept from a report (audit lines and events). */
  maxFieldChars: 2048,
  /** Key lookups and revocations in flight at once within one request. */
  concurrency: 16,
  /**
   * Everything one request does with DynamoDB and EventBridge, after which it answers 503 with
   * Retry-After: inside API Gateway's 29 s integration timeout, which would otherwise answer
   * a slow report with its own 504. 1,000 matches take a few seconds on a healthy table; a
   * GitHub batch is not capped by count (the body bound is the cap), so a batch too large for
   * the budget ends 503 and GitHub's retry carries on where it stopped (done keys cost a read).
   */
  requestBudgetMs: 20_000,
  /** How long fetching GitHub's key list may take before the request is answered 503. */
  keysFetchTimeoutMs: 3000,
  /** The key list is refetched for an unknown key identifier at most this often (attackers choose identifiers). */
  keysRefetchIntervalMs: 60_000,
  /** The key list is read again at the first report after this long, so a withdrawn key stops verifying. */
  keysMaxAgeMs: 6 * 3_600_000,
  /** The largest key list accepted (GitHub's holds a handful of PEM keys: a few KB). */
  maxKeyListBytes: 64 * 1024,
  /** A key in `notify` mode is reported again (event and audit) only after this long: GitHub retries in between. */
  renotifyAfterSeconds: 86_400,
} as const;

/**
 * Stage throttle of each leak endpoint, all callers together. GitHub reports in bursts
 * after a scan; the public endpoint is an unauthenticated write path, so it is kept low.
 */
export const LeakThrottle = {
  github: { rateLimit: 20, burstLimit: 100 },
  revoke: { rateLimit: 10, burstLimit: 50 },
} as const;

/** EventBridge detail-type of the `KeyLeaked` event (no secret in its detail). */
export const KEY_LEAKED_DETAIL_TYPE = 'Tollgate API Key Leaked';

/** Where a leak report came from (the event's and the audit line's `foundBy`). */
export type LeakReporter = 'github' | 'public';

/** Labels of GitHub's token-analysis feedback. */
export type LeakLabel = 'true_positive' | 'false_positive';

/** The `token_type` this deployment registers with GitHub, and reports back in its feedback. */
export const GITHUB_TOKEN_TYPE = 'tollgate_api_key';
