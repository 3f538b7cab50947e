/**
 * Attribute names and stored values of the credential tables (API keys, clients, issued
 * tokens) and of the admin API's idempotency records, shared by the table descriptions
 * (`common/tables.ts`), the Lambda adapters and local mode.
 *
 * Plain data only: this module imports neither aws-cdk-lib nor the AWS SDK.
 * All timestamps are epoch seconds (numbers) unless an attribute name ends in `Ms`.
 */

/** Status shared by API keys, clients and issued tokens. */
export const CredentialStatus = {
  Active: 'active',
  Revoked: 'revoked',
  /** Never stored: derived on read when `expiresAt` has passed but TTL has not deleted the item yet. */
  Expired: 'expired',
} as const;
export type CredentialStatus = (typeof CredentialStatus)[keyof typeof CredentialStatus];

/**
 * A fresh id each revocation write of an API key, client or token stores beside `revokedAt`
 * (a leak report's stores `leakReportId` instead), so the writer knows its own write when
 * the SDK's retry of it fails its condition: the first attempt committed and its answer was
 * lost. Without it such a revocation would be reported and audited as a no-op.
 */
export const REVOCATION_ID_ATTR = 'revocationId';

/**
 * The end of the metered-quota period an operator waived by resuming its quota suspension
 * (epoch seconds, the lifted suspension's end): the quota check does not suspend again until
 * that period has turned. Written only by the admin API's `resume` (never for spent credits),
 * so neither the metering function (which may write the suspension) nor a credits grant can
 * set it; setting or removing the quota removes it.
 */
export const QUOTA_WAIVED_UNTIL = 'quotaWaivedUntil';

/**
 * A suspension, with the same attribute names on client and API key records, so one
 * suspension write (and one stream filter) serves both.
 */
export const SuspensionAttr = {
  /** Epoch seconds until which the record is suspended. */
  suspendedUntil: 'suspendedUntil',
  /** Why: `quota_exceeded`, `anomaly` (clients), or `resumed` when an operator lifted it. */
  suspendedReason: 'suspendedReason',
  /** When the suspension (or its lifting) was decided, epoch ms: the newest decision wins everywhere. */
  suspendedAtMs: 'suspendedAtMs',
} as const;

/**
 * API keys. `keyId` is derived from the SHA-256 of the key (see `common/tokens.ts`), so an
 * exchange is one strongly consistent GetItem on the base table, never a GSI read.
 */
export const ApiKeyAttr = {
  keyId: 'keyId',
  keyHash: 'keyHash',
  clientId: 'clientId',
  scopes: 'scopes',
  status: 'status',
  description: 'description',
  metadata: 'metadata',
  createdAt: 'createdAt',
  expiresAt: 'expiresAt',
  lastUsedAt: 'lastUsedAt',
  revokedAt: 'revokedAt',
  rolledFrom: 'rolledFrom',
  rolledTo: 'rolledTo',
  /**
   * When the key was last reported leaked while its client's `leakResponse` is `notify` (the
   * key stays live): a repeat report within `LeakLimits.renotifyAfterSeconds` notifies nobody.
   */
  leakReportedAt: 'leakReportedAt',
  /**
   * A fresh id each leak report's write (the revocation or the `notify` marker) stores, so the
   * writer knows its own write when the SDK's retry of it fails its condition (the first
   * attempt committed; its answer was lost).
   */
  leakReportId: 'leakReportId',
  /**
   * What the last leak report's write still owes (`revoked` or `notified`: an audit line and a
   * `KeyLeaked` event); removed once they are out. A report that finds it announces it, so an
   * answer cut short after the write loses no announcement.
   */
  leakUnannounced: 'leakUnannounced',
  /**
   * Sparse partition key of the hygiene indexes: present (value {@link ACTIVE_PARTITION})
   * only while the key is active, so the indexes hold live keys only and the scheduled
   * hygiene run queries them instead of scanning the table.
   */
  activePartition: 'activePartition',
  /** Per-key metered quota (docs/usage.md): `{limit, period}` enforced from the key's meters. */
  meteredQuota: 'meteredQuota',
  quotaWaivedUntil: QUOTA_WAIVED_UNTIL,
  /**
   * This key's own suspension (its per-key quota is used up; `suspendedReason` is
   * `quota_exceeded`, or `resumed` when an operator lifted it); the fan-out carries each
   * change to the authorizers as a `ksus` feed entry.
   */
  ...SuspensionAttr,
} as const;

export const ACTIVE_PARTITION = 'active';

export const ApiKeyIndex = {
  byClient: 'byClient',
  activeByExpiry: 'activeByExpiry',
  activeByLastUsed: 'activeByLastUsed',
} as const;

export const ClientAttr = {
  clientId: 'clientId',
  status: 'status',
  createdAt: 'createdAt',
  revokedAt: 'revokedAt',
  /** Non-secret API Gateway usage identifier (API Gateway API key value) for usage plans. */
  usageKey: 'usageKey',
  usageKeyId: 'usageKeyId',
  limits: 'limits',
  /** The usage plan the client's usage key is confirmed bound to (absent: bound to none). */
  usagePlanId: 'usagePlanId',
  /** Incremented by every limits change; `usageVersion` equal to it means API Gateway has caught up. */
  limitsVersion: 'limitsVersion',
  /** The `limitsVersion` the last successful usage-plan registration applied. */
  usageVersion: 'usageVersion',
  /** `revoke` (absent: the default) or `notify`: what a leak report of one of its live keys does (`common/leaks.ts`). */
  leakResponse: 'leakResponse',
  /**
   * Per-service grants (docs/services.md): service name → the scopes this client may hold
   * there. Absent: no per-service ceiling (the keys' scopes decide).
   */
  grants: 'grants',
  /** Metered quota (docs/usage.md): `{limit, period}` enforced from the usage table, beyond usage plans. */
  meteredQuota: 'meteredQuota',
  quotaWaivedUntil: QUOTA_WAIVED_UNTIL,
  /**
   * The client's suspension (its quota is used up, or an anomaly response); the fan-out
   * carries each change to the authorizers as a `sus` feed entry.
   */
  ...SuspensionAttr,
  /** What a usage anomaly of this client triggers: `notify` (absent: the default), `suspend` or `revoke`. */
  anomalyPolicy: 'anomalyPolicy',
  /** Unkey-style credits (docs/usage.md): `{remaining, refill, period, setAt}`, enforced from the meters. */
  credits: 'credits',
  /** Allowed requests counted against the credits since they were set, added by the metering transactions. */
  creditsUsed: 'creditsUsed',
} as const;

/** API Gateway usage-plan quota periods (`QuotaSettings.period`); they reset on UTC boundaries. */
export const QUOTA_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** A client's per-client limits (`ClientAttr.limits`); absent on the record means the defaults. */
export interface ClientLimits {
  /** Steady-state requests per second (API Gateway `throttle.rateLimit`). */
  readonly rateLimit: number;
  /** Token-bucket capacity (API Gateway `throttle.burstLimit`). */
  readonly burstLimit: number;
  readonly quota?: { readonly limit: number; readonly period: QuotaPeriod };
}

export const TokenAttr = {
  jti: 'jti',
  clientId: 'clientId',
  keyId: 'keyId',
  kid: 'kid',
  scope: 'scope',
  iat: 'iat',
  exp: 'exp',
  status: 'status',
  revokedAt: 'revokedAt',
  /** TTL: `exp` plus {@link TOKEN_RECORD_GRACE_SECONDS}. */
  purgeAt: 'purgeAt',
} as const;

/** Token records outlive `exp` a little so a late revoke of a just-expired token still finds it. */
export const TOKEN_RECORD_GRACE_SECONDS = 300;

/**
 * Admin requests sent with an `Idempotency-Key` header (docs/api.md): one item per key,
 * holding what the first request did, so a retry gets the same answer instead of doing it
 * twice. The item never holds the key itself: `keyHash` is its SHA-256, and the stored
 * response (which may hold a new API key's secret) is encrypted with a key derived from the
 * Idempotency-Key, which only the caller has (`lambda/core/admin/idempotency.ts`).
 */
export const IdempotencyAttr = {
  keyHash: 'keyHash',
  /** SHA-256 of method, route, path parameters and body: a different request under the same key is refused. */
  fingerprint: 'fingerprint',
  /** `in_progress` or `done`. */
  state: 'state',
  /** Random, per key: with the Idempotency-Key, derives the response key and a new API key's secret. */
  salt: 'salt',
  /** While `in_progress`: until when the request that claimed the key is still working on it (epoch ms). */
  lockedUntilMs: 'lockedUntilMs',
  statusCode: 'statusCode',
  /** AES-256-GCM of the response's headers and body, base64 (iv ‖ tag ‖ ciphertext). */
  response: 'response',
  createdAt: 'createdAt',
  /** TTL. */
  expiresAt: 'expiresAt',
} as const;

/** How long an Idempotency-Key is remembered: a client retries within minutes, a day is plenty. */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 86_400;
