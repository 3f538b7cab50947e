/**
 * The DynamoDB data model: one description per table that the CDK data construct, the
 * Lambda adapters and local mode all build from, so the three cannot drift.
 *
 * Plain data only: this module imports neither aws-cdk-lib nor the AWS SDK.
 * All timestamps are epoch seconds (numbers) unless an attribute name ends in `Ms`.
 */

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSpec {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** `ALL`, `KEYS_ONLY`, or the non-key attributes to project (INCLUDE). */
  readonly projection: 'ALL' | 'KEYS_ONLY' | readonly string[];
}

export interface TableSpec {
  /** Stable logical name: CDK construct id, and the suffix of local table names. */
  readonly id: string;
  /** Environment variable through which a function learns the physical table name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute DynamoDB TTL deletes on (epoch seconds). */
  readonly ttlAttribute?: string;
  /** Whether the table emits a NEW_AND_OLD_IMAGES stream for the revocation fan-out. */
  readonly stream: boolean;
  readonly indexes: readonly IndexSpec[];
}

/** Status shared by API keys, clients and issued tokens. */
export const CredentialStatus = {
  Active: 'active',
  Revoked: 'revoked',
  /** Never stored: derived on read when `expiresAt` has passed but TTL has not deleted the item yet. */
  Expired: 'expired',
} as const;
export type CredentialStatus = (typeof CredentialStatus)[keyof typeof CredentialStatus];

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
   * Sparse partition key of the hygiene indexes: present (value {@link ACTIVE_PARTITION})
   * only while the key is active, so the indexes hold live keys only and the scheduled
   * hygiene run queries them instead of scanning the table.
   */
  activePartition: 'activePartition',
  /** Per-key metered quota (docs/usage.md): `{limit, period}` enforced from the key's meters. */
  meteredQuota: 'meteredQuota',
  /**
   * Epoch seconds until which this key alone is suspended (its own quota is used up); the
   * fan-out carries each change to the authorizers as a `ksus` feed entry. Same names as the
   * client's, so one suspension write serves both records.
   */
  suspendedUntil: 'suspendedUntil',
  /** `quota_exceeded`, or `resumed` when an operator lifted it. */
  suspendedReason: 'suspendedReason',
  /** When the suspension (or its lifting) was decided, epoch ms: the newest decision wins everywhere. */
  suspendedAtMs: 'suspendedAtMs',
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
  /**
   * Epoch seconds until which the client is suspended (its quota is used up, or an anomaly
   * response); the fan-out carries each change to the authorizers as a `suspended` feed entry.
   */
  suspendedUntil: 'suspendedUntil',
  /** Why: `quota_exceeded`, `anomaly`, or `resumed` when an operator lifted it. */
  suspendedReason: 'suspendedReason',
  /** When the suspension (or its lifting) was decided, epoch ms: the newest decision wins everywhere. */
  suspendedAtMs: 'suspendedAtMs',
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

/** The signing-key ring: every item in one partition, so one Query loads the whole ring. */
export const SigningKeyAttr = {
  ring: 'ring',
  kid: 'kid',
  state: 'state',
  alg: 'alg',
  keySpec: 'keySpec',
  kmsKeyArn: 'kmsKeyArn',
  /** Base64 DER SubjectPublicKeyInfo from KMS GetPublicKey, fetched once by the rotation function. */
  publicKey: 'publicKey',
  createdAt: 'createdAt',
  /** pending → active no earlier than this. */
  activateAt: 'activateAt',
  activatedAt: 'activatedAt',
  retiringAt: 'retiringAt',
  /** A retiring key verifies until this moment: the last token it signed has expired (+ skew). */
  verifyUntil: 'verifyUntil',
  retiredAt: 'retiredAt',
  deletionScheduledAt: 'deletionScheduledAt',
  compromisedAt: 'compromisedAt',
  /** Optimistic-lock counter; every transition is conditional on it. */
  version: 'version',
} as const;

/** Partition-key value of every ring item. */
export const RING_PARTITION = 'signing-keys';
/** Sort key of the ring's head item (holds the active kid and the ring version). */
export const RING_HEAD_KID = '#head';

export const SigningKeyState = {
  Pending: 'pending',
  Active: 'active',
  Retiring: 'retiring',
  Retired: 'retired',
} as const;
export type SigningKeyState = (typeof SigningKeyState)[keyof typeof SigningKeyState];

/** States whose public key verifies tokens and is published in the JWKS. */
export const VERIFYING_STATES: readonly SigningKeyState[] = [SigningKeyState.Pending, SigningKeyState.Active, SigningKeyState.Retiring];

/**
 * The revocation feed, written only by the fan-out function and read by every authorizer.
 *
 * Partition `bucket` = `<bucket start, epoch s>#<shard>`; sort key `seq` =
 * `<written at, epoch ms, 13 digits>#<entry id>`, so a poll is one Query per shard for
 * `seq > cursor` and a cold start loads the few buckets that can still hold live entries.
 * Idempotency markers (`bucket` = `id#<kind>#<value>`) share the table; readers never query them.
 */
export const FeedAttr = {
  bucket: 'bucket',
  seq: 'seq',
  kind: 'kind',
  value: 'value',
  revokedAtMs: 'revokedAtMs',
  /** TTL: the latest moment the revoked thing could still look valid. */
  purgeAt: 'purgeAt',
} as const;

export const RevocationKind = {
  /** One access token, by `jti`. */
  Token: 'jti',
  /** Every token minted by one API key, by the key's `keyId` (the token's `cid` claim). */
  ApiKey: 'cid',
  /** Every token of one client, by `clientId` (the token's `sub`). */
  Client: 'sub',
  /** Every token signed by one signing key (compromise), by `kid`. */
  SigningKey: 'kid',
  /**
   * A time-boxed suspension of one client, by {@link suspensionValue} (`<clientId>#<until>#<reason>`):
   * its tokens are refused until `until` (epoch seconds). The newest entry of a client wins,
   * so lifting a suspension is an entry whose `until` is the moment it was lifted.
   */
  Suspension: 'sus',
  /**
   * A time-boxed suspension of one API key (its per-key quota is used up), by
   * {@link suspensionValue} with the key id as subject (`<keyId>#<until>#<reason>`): only the
   * tokens that key minted are refused; the client's other keys keep working. Newest wins, as
   * for clients. A kind of its own, because a client id may look like a key id.
   */
  KeySuspension: 'ksus',
} as const;
export type RevocationKind = (typeof RevocationKind)[keyof typeof RevocationKind];

export const FEED_BUCKET_SECONDS = 3600;
/**
 * Write shards per bucket. A partition takes 1,000 WCU/s and each entry is a transactional
 * write (2 WCU for an item under 1 KB), so each shard sustains ~500 revocations/s; readers
 * query every shard (docs/revocation.md).
 */
export const FEED_SHARDS = 1;
export const FEED_MARKER_PREFIX = 'id#';

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

/**
 * The usage table (docs/usage.md): per-minute counters of what the gateway's access log saw,
 * with hour and day roll-ups, written by the usage meter with atomic `ADD`s. Partition
 * `series` names granularity, dimension and subject (`usageSeries`, `common/usage.ts`); sort
 * key `period` is the bucket start in epoch seconds, zero-padded so text order is time order.
 */
export const UsageAttr = {
  series: 'series',
  period: 'period',
  requests: 'requests',
  allowed: 'allowed',
  throttled: 'throttled',
  serverErrors: 'serverErrors',
  /** Total denials; each reason also has its own counter, `denied_<reason>`. */
  denied: 'denied',
  /** String set of distinct source networks (/24 or /48), minute and hour client rows only. */
  networks: 'networks',
  /** String set of the batch markers applied to a client-minute row: a redelivered batch changes nothing. */
  batches: 'batches',
  /** String set of the API keys (keyIds) a client used in the minute: what an anomaly response `revoke` revokes. */
  keys: 'keys',
  /**
   * String set of `<keyId> <wide network>` pairs (client-minute rows only): the /16 (IPv4) or
   * /32 (IPv6) each key was used from in the minute, for the `key_network_spread` rule.
   */
  keyNetworks: 'keyNetworks',
  /** TTL: the bucket's end plus its granularity's retention. */
  expiresAt: 'expiresAt',
} as const;

const S = (name: string): KeyAttribute => ({ name, type: 'S' });
const N = (name: string): KeyAttribute => ({ name, type: 'N' });

export const Tables = {
  apiKeys: {
    id: 'ApiKeys',
    envVar: 'TOLLGATE_API_KEYS_TABLE',
    partitionKey: S(ApiKeyAttr.keyId),
    ttlAttribute: ApiKeyAttr.expiresAt,
    stream: true,
    indexes: [
      {
        indexName: ApiKeyIndex.byClient,
        partitionKey: S(ApiKeyAttr.clientId),
        sortKey: N(ApiKeyAttr.createdAt),
        projection: 'ALL',
      },
      {
        indexName: ApiKeyIndex.activeByExpiry,
        partitionKey: S(ApiKeyAttr.activePartition),
        sortKey: N(ApiKeyAttr.expiresAt),
        projection: [ApiKeyAttr.clientId],
      },
      {
        indexName: ApiKeyIndex.activeByLastUsed,
        partitionKey: S(ApiKeyAttr.activePartition),
        sortKey: N(ApiKeyAttr.lastUsedAt),
        projection: [ApiKeyAttr.clientId],
      },
    ],
  },
  clients: {
    id: 'Clients',
    envVar: 'TOLLGATE_CLIENTS_TABLE',
    partitionKey: S(ClientAttr.clientId),
    stream: true,
    indexes: [],
  },
  tokens: {
    id: 'Tokens',
    envVar: 'TOLLGATE_TOKENS_TABLE',
    partitionKey: S(TokenAttr.jti),
    ttlAttribute: TokenAttr.purgeAt,
    stream: true,
    indexes: [],
  },
  signingKeys: {
    id: 'SigningKeys',
    envVar: 'TOLLGATE_SIGNING_KEYS_TABLE',
    partitionKey: S(SigningKeyAttr.ring),
    sortKey: S(SigningKeyAttr.kid),
    stream: true,
    indexes: [],
  },
  idempotency: {
    id: 'Idempotency',
    envVar: 'TOLLGATE_IDEMPOTENCY_TABLE',
    partitionKey: S(IdempotencyAttr.keyHash),
    ttlAttribute: IdempotencyAttr.expiresAt,
    stream: false,
    indexes: [],
  },
  revocations: {
    id: 'Revocations',
    envVar: 'TOLLGATE_REVOCATIONS_TABLE',
    partitionKey: S(FeedAttr.bucket),
    sortKey: S(FeedAttr.seq),
    ttlAttribute: FeedAttr.purgeAt,
    stream: false,
    indexes: [],
  },
  usage: {
    id: 'Usage',
    envVar: 'TOLLGATE_USAGE_TABLE',
    partitionKey: S(UsageAttr.series),
    sortKey: S(UsageAttr.period),
    ttlAttribute: UsageAttr.expiresAt,
    stream: false,
    indexes: [],
  },
} as const satisfies Record<string, TableSpec>;

export type TableKey = keyof typeof Tables;
export const ALL_TABLES: readonly TableSpec[] = Object.values(Tables);

/** Physical table names, as a function receives them through its environment. */
export type TableNames = { readonly [K in TableKey]: string };

/** Partition of the feed bucket that holds entries written at `epochSeconds`. */
export function feedPartition(epochSeconds: number, shard: number): string {
  const bucketStart = Math.floor(epochSeconds / FEED_BUCKET_SECONDS) * FEED_BUCKET_SECONDS;
  return `${bucketStart}#${shard}`;
}

/** Every feed partition whose bucket overlaps [fromSeconds, toSeconds], oldest first. */
export function feedPartitionsBetween(fromSeconds: number, toSeconds: number): string[] {
  const partitions: string[] = [];
  const first = Math.floor(fromSeconds / FEED_BUCKET_SECONDS) * FEED_BUCKET_SECONDS;
  for (let bucket = first; bucket <= toSeconds; bucket += FEED_BUCKET_SECONDS) {
    for (let shard = 0; shard < FEED_SHARDS; shard += 1) partitions.push(feedPartition(bucket, shard));
  }
  return partitions;
}

/**
 * How far behind its cursor every authorizer poll re-reads the feed: an entry whose write
 * became visible up to this long after its sort key's time is still seen by every reader.
 * The writer re-stamps an entry whose write took longer than half of it.
 */
export const FEED_LOOKBACK_MS = 5_000;

/** Sort key: fixed-width write time first, so `seq > cursor` reads exactly what is newer. */
export function feedSortKey(writtenAtMs: number, entryId: string): string {
  return `${String(Math.trunc(writtenAtMs)).padStart(13, '0')}#${entryId}`;
}

/** The write time encoded in a feed sort key. */
export function feedSortKeyTime(seq: string): number {
  return Number(seq.slice(0, 13));
}

/** Idempotency marker of one revocation: at most one feed entry per (kind, value). */
export function feedMarkerPartition(kind: RevocationKind, value: string): string {
  return `${FEED_MARKER_PREFIX}${kind}#${value}`;
}

/** Why a client is suspended, or that an operator lifted its suspension (`resumed`). */
export const SUSPENSION_REASONS = ['quota_exceeded', 'anomaly', 'resumed'] as const;
export type SuspensionReason = (typeof SUSPENSION_REASONS)[number];

/**
 * The feed value of a suspension: the suspended client (kind `sus`) or API key (kind `ksus`),
 * its end (epoch seconds) and its reason. Client ids and key ids hold no `#`.
 */
export function suspensionValue(subject: string, untilSeconds: number, reason: SuspensionReason): string {
  return `${subject}#${Math.trunc(untilSeconds)}#${reason}`;
}

export function parseSuspensionValue(
  value: string,
): { readonly subject: string; readonly untilSeconds: number; readonly reason: SuspensionReason } | undefined {
  const [subject, until, reason, ...rest] = value.split('#');
  if (!subject || until === undefined || !/^\d{1,15}$/.test(until) || rest.length > 0) return undefined;
  if (!(SUSPENSION_REASONS as readonly string[]).includes(reason ?? '')) return undefined;
  return { subject, untilSeconds: Number(until), reason: reason as SuspensionReason };
}

/** A signing-key ring item as stored (the head item aside). */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly state: SigningKeyState;
  readonly alg: 'ES256' | 'RS256';
  readonly keySpec: 'ECC_NIST_P256' | 'RSA_2048';
  readonly kmsKeyArn: string;
  /** Base64 DER SubjectPublicKeyInfo. */
  readonly publicKey: string;
  readonly createdAt: number;
  readonly activateAt?: number;
  readonly activatedAt?: number;
  readonly retiringAt?: number;
  readonly verifyUntil?: number;
  readonly retiredAt?: number;
  readonly deletionScheduledAt?: number;
  readonly compromisedAt?: number;
  readonly version: number;
}

/** A revocation feed entry as stored. */
export interface RevocationEntry {
  readonly kind: RevocationKind;
  readonly value: string;
  readonly revokedAtMs: number;
  /** Epoch seconds after which the revoked thing cannot look valid anyway. */
  readonly purgeAt: number;
}
