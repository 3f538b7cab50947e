/**
 * API keys, clients and issued-token records as the core sees them, the ports through which
 * it reads and writes them (implemented by the DynamoDB adapters), and the public view of a
 * key that the admin API returns. Attribute names are those of `common/credential-items.ts`.
 */
import { CredentialStatus, type ClientLimits } from '../../../common/credential-items';
import type { SuspensionReason } from '../../../common/revocation-feed';
import type { MeteredQuota } from '../usage/usage-quota';

export type MetadataValue = string | number | boolean;
export type Metadata = Readonly<Record<string, MetadataValue>>;

/** Stored status: `expired` is never stored, only derived on read. */
export type StoredStatus = typeof CredentialStatus.Active | typeof CredentialStatus.Revoked;

export interface StoredApiKey {
  readonly keyId: string;
  /** Hex SHA-256 of the whole key. */
  readonly keyHash: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly status: StoredStatus;
  readonly description?: string;
  readonly metadata?: Metadata;
  readonly createdAt: number;
  /** Also the DynamoDB TTL attribute, which may delete the item days later: always checked on read. */
  readonly expiresAt?: number;
  readonly lastUsedAt?: number;
  readonly revokedAt?: number;
  readonly rolledFrom?: string;
  readonly rolledTo?: string;
  /** Per-key metered quota (docs/usage.md); absent: none. */
  readonly meteredQuota?: MeteredQuota;
  /** The key's own suspension: until when (epoch s; absent or past: not suspended), why, and when it was decided (epoch ms). */
  readonly suspendedUntil?: number;
  readonly suspendedReason?: SuspensionReason;
  readonly suspendedAtMs?: number;
}

/** What a roll carries to the successor beyond client, scopes, description and metadata (see {@link rollCarries}). */
export type RollCarried = Pick<StoredApiKey, 'meteredQuota' | 'suspendedUntil' | 'suspendedReason' | 'suspendedAtMs'>;

export interface StoredClient {
  readonly clientId: string;
  readonly status: StoredStatus;
  readonly createdAt: number;
  readonly revokedAt?: number;
  /** Per-client throttling (see `core/admin/client-usage.ts`): the API Gateway API key VALUE, not a secret. */
  readonly usageKey?: string;
  readonly usageKeyId?: string;
  /** The usage plan the usage key is confirmed bound to; absent: bound to none. */
  readonly usagePlanId?: string;
  /** Absent: the default limits. */
  readonly limits?: ClientLimits;
  readonly limitsVersion?: number;
  readonly usageVersion?: number;
  /** Per-service grants (`core/admin/service-grants.ts`); absent: the keys' scopes decide alone. */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
}

export interface TokenRecord {
  readonly jti: string;
  readonly clientId: string;
  readonly keyId: string;
  readonly kid: string;
  readonly scope: string;
  readonly iat: number;
  readonly exp: number;
  readonly status: StoredStatus;
  readonly revokedAt?: number;
  /** TTL: `exp` + TOKEN_RECORD_GRACE_SECONDS. */
  readonly purgeAt: number;
}

/** What the admin API returns for a key: never the hash, never index bookkeeping; `status` may read `expired`. */
export type ApiKeyView = Omit<StoredApiKey, 'keyHash' | 'status' | keyof RollCarried> & { readonly status: CredentialStatus };

/**
 * The usage key a token of this client names (claim `uik`): only while the key is bound to
 * a usage plan, since API Gateway refuses (403) a key that no plan of the stage holds; a
 * token without it gets the deployment's fallback key, i.e. the default plan.
 */
export function tokenUsageKey(client: Pick<StoredClient, 'usageKey' | 'usagePlanId'>): string | undefined {
  return client.usagePlanId === undefined ? undefined : client.usageKey;
}

/** `expiresAt` ≤ now refuses the key even while TTL has not deleted it yet. */
export function isPastExpiry(key: Pick<StoredApiKey, 'expiresAt'>, nowSeconds: number): boolean {
  return key.expiresAt !== undefined && key.expiresAt <= nowSeconds;
}

export function keyView(key: StoredApiKey, nowSeconds: number): ApiKeyView {
  const status = key.status === CredentialStatus.Active && isPastExpiry(key, nowSeconds) ? CredentialStatus.Expired : key.status;
  const optional = {
    description: key.description,
    metadata: key.metadata,
    expiresAt: key.expiresAt,
    lastUsedAt: key.lastUsedAt,
    revokedAt: key.revokedAt,
    rolledFrom: key.rolledFrom,
    rolledTo: key.rolledTo,
  };
  const present = Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined));
  return { keyId: key.keyId, clientId: key.clientId, scopes: [...key.scopes], status, createdAt: key.createdAt, ...present };
}

/**
 * A roll replaces the secret, not the policy: the successor gets the key's metered quota and
 * its suspension while that is in force (end, reason and decision time as they are), so the
 * authorizers refuse it as they refuse the predecessor until the suspension ends or an
 * operator resumes it. An ended or lifted suspension is not carried; nor are the meters (the
 * successor's usage counts under its own keyId, from zero) or a leak report (the roll
 * replaced the reported secret).
 */
export function rollCarries(key: StoredApiKey, nowSeconds: number): RollCarried {
  const suspended = key.suspendedUntil !== undefined && key.suspendedUntil > nowSeconds && key.suspendedReason !== 'resumed';
  const carried = {
    meteredQuota: key.meteredQuota && { limit: key.meteredQuota.limit, period: key.meteredQuota.period },
    ...(suspended && { suspendedUntil: key.suspendedUntil, suspendedReason: key.suspendedReason, suspendedAtMs: key.suspendedAtMs }),
  };
  return Object.fromEntries(Object.entries(carried).filter(([, value]) => value !== undefined)) as RollCarried;
}

/** Result of a conditional revoke: lets the admin API be idempotent and still say 404 for unknown ids. */
export type RevokeOutcome = 'revoked' | 'already_revoked' | 'not_found';

/** Position in a client's key list (the `byClient` index's key), carried opaquely as `nextToken`. */
export interface KeyListCursor {
  readonly keyId: string;
  readonly clientId: string;
  readonly createdAt: number;
}

export interface KeyPage {
  readonly keys: readonly StoredApiKey[];
  readonly cursor?: KeyListCursor;
}

export interface ApiKeyReader {
  /** Strongly consistent read by keyId. */
  get(keyId: string): Promise<StoredApiKey | undefined>;
  /** Sets `lastUsedAt` unless another request already did within the sample window. */
  touchLastUsed(keyId: string, nowSeconds: number, sampleSeconds: number): Promise<void>;
}

export interface ApiKeyStore extends ApiKeyReader {
  /**
   * Creates the key, and its client record on first use, in one transaction; refuses a
   * revoked client. `exists`: a key with this keyId is already stored — this very key, as
   * keyId is the hash of the secret (a re-run of an idempotent create).
   */
  create(key: StoredApiKey): Promise<'created' | 'exists' | 'client_revoked'>;
  listByClient(clientId: string, limit: number, cursor?: KeyListCursor): Promise<KeyPage>;
  /**
   * One transaction: the successor is written and the old key, still active and unrolled, points to it and ends at
   * `oldExpiresAt`. `not_rollable` also when the old key's metered quota or suspension changed since `old` was read,
   * so a suspension written meanwhile is never left off the successor. `client_revoked`: the key's client is revoked
   * (checked in the same transaction, so a revocation after the caller read the client still refuses).
   */
  roll(successor: StoredApiKey, old: StoredApiKey, oldExpiresAt: number): Promise<'rolled' | 'not_rollable' | 'client_revoked'>;
  revoke(keyId: string, nowSeconds: number): Promise<RevokeOutcome>;
}

export interface ClientReader {
  /** Strongly consistent read by clientId. */
  get(clientId: string): Promise<StoredClient | undefined>;
}

export interface ClientStore extends ClientReader {
  revoke(clientId: string, nowSeconds: number): Promise<RevokeOutcome>;
}

export interface TokenWriter {
  put(record: TokenRecord): Promise<void>;
  /** Revokes the token only if it exists, belongs to `clientId` and is active (RFC 7009 §2.1). */
  revokeOwned(jti: string, clientId: string, nowSeconds: number): Promise<boolean>;
}

export interface TokenStore extends TokenWriter {
  revoke(jti: string, nowSeconds: number): Promise<RevokeOutcome>;
}
