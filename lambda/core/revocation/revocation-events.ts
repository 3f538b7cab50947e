/**
 * Which DynamoDB stream records are revocations (docs/revocation.md), and the feed entry each one
 * becomes. Pure: the record, the table names and the clock come in as arguments.
 *
 * A revocation is a transition, not a state: `status` becoming `revoked` (an API key, a
 * client or a token) or `compromisedAt` becoming set (a signing key). A record whose old
 * image was already revoked is a later, unrelated write and is not fanned out again.
 * `REMOVE` records are never revocations: TTL deletions (principal
 * `dynamodb.amazonaws.com`) purge things that have expired anyway, and revocation is
 * always an update, never a delete.
 */
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { keyDeletionWindowDays, tokenTtlSeconds } from '../../../common/settings';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { Functions } from '../../../common/functions';
import { ApiKeyAttr, ClientAttr, CredentialStatus, TokenAttr } from '../../../common/credential-items';
import { RevocationKind, SUSPENSION_REASONS, suspensionValue, type SuspensionReason, type RevocationEntry } from '../../../common/revocation-feed';
import { RING_HEAD_KID, SigningKeyAttr } from '../../../common/signing-key-items';
import type { TableNames } from '../../../common/tables';

/** The tables whose streams invoke the fan-out. */
export type StreamTableKey = (typeof Functions.fanout.streams)[number];
export type StreamTableNames = Pick<TableNames, StreamTableKey>;
export const STREAM_TABLES: readonly StreamTableKey[] = Functions.fanout.streams;

/** The record cannot be read as a change of one of our items; retrying will not help. */
export class MalformedStreamRecord extends Error {
  override readonly name = 'MalformedStreamRecord';
}

/** The record comes from a stream that is not one of the fan-out's tables (a wiring mistake). */
export class UnknownStreamSource extends Error {
  override readonly name = 'UnknownStreamSource';
}

export interface RevocationClock {
  /** When the fan-out handles the record, epoch ms. */
  readonly nowMs: number;
  /** The authorizers' allowance for clock skew on `exp` (`TOLLGATE_CLOCK_SKEW_SECONDS`). */
  readonly clockSkewSeconds: number;
}

type Image = Readonly<Record<string, AttributeValue>>;

/**
 * Longest value the fan-out accepts: the marker partition key (`id#<kind>#<value>`) must
 * stay well inside DynamoDB's 2,048-byte partition-key limit.
 */
export const MAX_REVOKED_VALUE_BYTES = 1024;

/** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` (DynamoDB Local: region `ddblocal`). */
const STREAM_ARN = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/[^/]+$/;

/** Which of the fan-out's tables a record's `eventSourceARN` names. */
export function sourceTable(eventSourceARN: string | undefined, names: StreamTableNames): StreamTableKey {
  const tableName = STREAM_ARN.exec(eventSourceARN ?? '')?.[1];
  if (tableName === undefined) throw new MalformedStreamRecord(`eventSourceARN is not a DynamoDB stream ARN: "${eventSourceARN ?? ''}"`);
  const key = STREAM_TABLES.find((candidate) => names[candidate] === tableName);
  if (key === undefined) throw new UnknownStreamSource(`stream of table "${tableName}" is not one of the fan-out's tables`);
  return key;
}

/** The feed entry a stream record calls for, or `undefined` when it is not a revocation. */
export function revocationFromRecord(record: DynamoDBRecord, names: StreamTableNames, clock: RevocationClock): RevocationEntry | undefined {
  const table = sourceTable(record.eventSourceARN, names);
  if (record.eventName === 'REMOVE') return undefined;
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') {
    throw new MalformedStreamRecord(`unexpected eventName "${String(record.eventName)}"`);
  }
  const newImage = record.dynamodb?.NewImage;
  if (!newImage) throw new MalformedStreamRecord(`${record.eventName} record without NewImage: the stream must carry NEW_AND_OLD_IMAGES`);
  const oldImage = record.dynamodb?.OldImage;
  const approximateMs = approximateCreationMs(record);
  if (table === 'signingKeys') return compromiseRevocation(newImage, oldImage, approximateMs, clock);
  const revocation = statusRevocation(STATUS_REVOCATIONS[table], newImage, oldImage, approximateMs, clock);
  if (revocation !== undefined || table === 'tokens') return revocation;
  return suspensionChange(SUSPENSIONS[table], newImage, oldImage, approximateMs, clock);
}

/** Where a suspension lives: on a client record (kind `sus`), or on an API key (kind `ksus`, a per-key quota). */
interface SuspensionSpec {
  readonly kind: RevocationKind;
  readonly key: string;
  readonly status: string;
  readonly until: string;
  readonly reason: string;
  readonly atMs: string;
}

const SUSPENSIONS: { readonly [K in 'clients' | 'apiKeys']: SuspensionSpec } = {
  clients: {
    kind: RevocationKind.Suspension,
    key: ClientAttr.clientId,
    status: ClientAttr.status,
    until: ClientAttr.suspendedUntil,
    reason: ClientAttr.suspendedReason,
    atMs: ClientAttr.suspendedAtMs,
  },
  apiKeys: {
    kind: RevocationKind.KeySuspension,
    key: ApiKeyAttr.keyId,
    status: ApiKeyAttr.status,
    until: ApiKeyAttr.suspendedUntil,
    reason: ApiKeyAttr.suspendedReason,
    atMs: ApiKeyAttr.suspendedAtMs,
  },
};

/** How each credential table marks a revocation, and for how long the feed must remember it. */
interface StatusRevocation {
  readonly kind: RevocationKind;
  readonly key: string;
  readonly status: string;
  readonly revokedAt: string;
  readonly purgeAt: (image: Image, clock: RevocationClock) => number;
}

const STATUS_REVOCATIONS: { readonly [K in Exclude<StreamTableKey, 'signingKeys'>]: StatusRevocation } = {
  apiKeys: {
    kind: RevocationKind.ApiKey,
    key: ApiKeyAttr.keyId,
    status: ApiKeyAttr.status,
    revokedAt: ApiKeyAttr.revokedAt,
    purgeAt: (_image, clock) => longestDependentLifetime(clock),
  },
  clients: {
    kind: RevocationKind.Client,
    key: ClientAttr.clientId,
    status: ClientAttr.status,
    revokedAt: ClientAttr.revokedAt,
    purgeAt: (_image, clock) => longestDependentLifetime(clock),
  },
  tokens: {
    kind: RevocationKind.Token,
    key: TokenAttr.jti,
    status: TokenAttr.status,
    revokedAt: TokenAttr.revokedAt,
    purgeAt: tokenPurgeAt,
  },
};

function statusRevocation(
  spec: StatusRevocation,
  newImage: Image,
  oldImage: Image | undefined,
  approximateMs: number | undefined,
  clock: RevocationClock,
): RevocationEntry | undefined {
  if (optionalString(newImage, spec.status) !== CredentialStatus.Revoked) return undefined;
  if (oldImage && optionalString(oldImage, spec.status) === CredentialStatus.Revoked) return undefined;
  const value = requiredValue(newImage, spec.key);
  const revokedAt = optionalNumber(newImage, spec.revokedAt);
  return { kind: spec.kind, value, revokedAtMs: revokedAtMs(revokedAt, approximateMs, clock), purgeAt: spec.purgeAt(newImage, clock) };
}

/**
 * A client's or an API key's suspension set, moved or lifted (docs/usage.md): a
 * `suspendedUntil` (or `suspendedAtMs`) that changed on an active client or key. The entry lives until the later of the new and the old end, so a
 * lifting (whose end is now) outlives, in every view, the suspension it ends.
 */
function suspensionChange(
  spec: SuspensionSpec,
  newImage: Image,
  oldImage: Image | undefined,
  approximateMs: number | undefined,
  clock: RevocationClock,
): RevocationEntry | undefined {
  const until = optionalNumber(newImage, spec.until);
  const atMs = optionalNumber(newImage, spec.atMs);
  if (until === undefined || optionalString(newImage, spec.status) !== CredentialStatus.Active) return undefined;
  const oldUntil = oldImage ? optionalNumber(oldImage, spec.until) : undefined;
  if (oldImage && oldUntil === until && optionalNumber(oldImage, spec.atMs) === atMs) return undefined;
  const reason = optionalString(newImage, spec.reason) ?? 'quota_exceeded';
  if (!(SUSPENSION_REASONS as readonly string[]).includes(reason))
    throw new MalformedStreamRecord(`attribute "${spec.reason}" is not one of ${SUSPENSION_REASONS.join(', ')}`);
  const subject = requiredValue(newImage, spec.key);
  // The write's own time, in the value too: a re-suspension repeating an earlier one's end and
  // reason is a new entry, while a second delivery of the same record is the same one.
  const writtenAtMs = atMs ?? approximateMs ?? clock.nowMs;
  return {
    kind: spec.kind,
    value: suspensionValue(subject, until, reason as SuspensionReason, writtenAtMs),
    revokedAtMs: writtenAtMs,
    purgeAt: Math.max(Math.trunc(until), Math.trunc(oldUntil ?? 0), Math.floor(clock.nowMs / 1000) + 1),
  };
}

/** The ring's head item carries no key; a key item is revoked when `compromisedAt` first appears. */
function compromiseRevocation(
  newImage: Image,
  oldImage: Image | undefined,
  approximateMs: number | undefined,
  clock: RevocationClock,
): RevocationEntry | undefined {
  const kid = requiredValue(newImage, SigningKeyAttr.kid);
  if (kid === RING_HEAD_KID) return undefined;
  const compromisedAt = optionalNumber(newImage, SigningKeyAttr.compromisedAt);
  if (compromisedAt === undefined) return undefined;
  if (oldImage && optionalNumber(oldImage, SigningKeyAttr.compromisedAt) !== undefined) return undefined;
  return {
    kind: RevocationKind.SigningKey,
    value: kid,
    revokedAtMs: revokedAtMs(compromisedAt, approximateMs, clock),
    purgeAt: compromisedKeyLifetime(clock),
  };
}

/**
 * A compromised signing key is unlike a revoked API key or client: whoever can still have
 * KMS sign with it (until its deletion, scheduled by the same run, takes effect) can mint
 * tokens after the compromise, and a warm authorizer whose ring reads fail keeps the key.
 * So the entry outlives the longest KMS deletion window and the tokens signed just before
 * the key is gone. Compromises are rare and an entry is about 100 bytes.
 */
function compromisedKeyLifetime(clock: RevocationClock): number {
  return longestDependentLifetime(clock) + keyDeletionWindowDays.max * SECONDS_PER_DAY;
}

/**
 * A revoked key or client makes every token it stands behind invalid; the
 * last of those was issued no later than now and lives at most the hard maximum lifetime
 * (not the configured one, which may have been longer when the token was minted), plus
 * the verifiers' skew allowance.
 */
function longestDependentLifetime(clock: RevocationClock): number {
  return Math.floor(clock.nowMs / 1000) + tokenTtlSeconds.max + clock.clockSkewSeconds;
}

/** A single token looks valid until its own `exp` plus skew; without `exp`, assume the longest lifetime. */
function tokenPurgeAt(image: Image, clock: RevocationClock): number {
  const exp = optionalNumber(image, TokenAttr.exp);
  return exp === undefined ? longestDependentLifetime(clock) : exp + clock.clockSkewSeconds;
}

/** `revokedAt` is epoch seconds; without it, the stream's own (second-resolution) timestamp, then now. */
function revokedAtMs(revokedAtSeconds: number | undefined, approximateMs: number | undefined, clock: RevocationClock): number {
  if (revokedAtSeconds !== undefined) return Math.round(revokedAtSeconds * 1000);
  return approximateMs ?? clock.nowMs;
}

function approximateCreationMs(record: DynamoDBRecord): number | undefined {
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
}

function requiredValue(image: Image, name: string): string {
  const value = optionalString(image, name);
  if (value === undefined || value === '') throw new MalformedStreamRecord(`image has no string attribute "${name}"`);
  if (Buffer.byteLength(value, 'utf8') > MAX_REVOKED_VALUE_BYTES) {
    throw new MalformedStreamRecord(`attribute "${name}" is longer than ${MAX_REVOKED_VALUE_BYTES} bytes`);
  }
  return value;
}

function optionalString(image: Image, name: string): string | undefined {
  const attribute = image[name];
  if (attribute === undefined || attribute.NULL === true) return undefined;
  if (typeof attribute.S !== 'string') throw new MalformedStreamRecord(`attribute "${name}" is not a string`);
  return attribute.S;
}

function optionalNumber(image: Image, name: string): number | undefined {
  const attribute = image[name];
  if (attribute === undefined || attribute.NULL === true) return undefined;
  const value = typeof attribute.N === 'string' && attribute.N.trim() !== '' ? Number(attribute.N) : Number.NaN;
  if (!Number.isFinite(value)) throw new MalformedStreamRecord(`attribute "${name}" is not a number`);
  return value;
}
