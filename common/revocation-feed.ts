/**
 * The revocation feed table's items: attribute names, entry kinds, the bucket/shard partition
 * and sort-key codecs, and the suspension entry values.
 *
 * Plain data only: this module imports neither aws-cdk-lib nor the AWS SDK.
 */

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
   * A time-boxed suspension of one client, by {@link suspensionValue}
   * (`<clientId>#<until>#<reason>#<atMs>`): its tokens are refused until `until` (epoch
   * seconds). The newest entry of a client wins, so lifting a suspension is an entry whose
   * `until` is the moment it was lifted.
   */
  Suspension: 'sus',
  /**
   * A time-boxed suspension of one API key (its per-key quota is used up), by
   * {@link suspensionValue} with the key id as subject (`<keyId>#<until>#<reason>#<atMs>`):
   * only the tokens that key minted are refused; the client's other keys keep working. Newest
   * wins, as for clients. A kind of its own, because a client id may look like a key id.
   */
  KeySuspension: 'ksus',
} as const;
export type RevocationKind = (typeof RevocationKind)[keyof typeof RevocationKind];

/** The kinds that suspend until a given end rather than revoke for good. */
export const SUSPENSION_KINDS: ReadonlySet<RevocationKind> = new Set([RevocationKind.Suspension, RevocationKind.KeySuspension]);

/**
 * The partition that also holds every suspension entry (kinds {@link SUSPENSION_KINDS}), read
 * whole by a cold start. A revocation matters for a token lifetime after it is written, so a
 * cold start reads only the hour buckets of that window; a suspension is written once and
 * holds until its end, up to a quota period (a month) later, so an authorizer started after
 * the window would never see it in the buckets. Each suspension entry is written to both, in
 * one transaction: polls read only the buckets, cold starts also this partition. Its items
 * expire by TTL at the entry's `purgeAt` like the rest; live suspensions are few.
 */
export const FEED_SUSPENSIONS_PARTITION = 'suspensions';

export const FEED_BUCKET_SECONDS = 3600;
/**
 * Write shards per bucket. A partition takes 1,000 WCU/s and each entry is a transactional
 * write (2 WCU for an item under 1 KB), so each shard sustains ~500 revocations/s; readers
 * query every shard (docs/revocation.md).
 */
export const FEED_SHARDS = 1;
export const FEED_MARKER_PREFIX = 'id#';

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
 * The feed value of a suspension or of its lifting: the suspended client (kind `sus`) or API
 * key (kind `ksus`), its end (epoch seconds), its reason, and when it was written
 * (`suspendedAtMs`, epoch ms). Client ids and key ids hold no `#`.
 *
 * The write time makes each suspension write an entry of its own: the writer keeps one entry
 * per (kind, value) and every view skips a value it has seen, so a re-suspension that repeats
 * an earlier one's end and reason (new credits, whose grant lifts the suspension, spent again before the same refill)
 * would otherwise be dropped as that earlier suspension, and the lifting between them would
 * stand. The stream delivering the same write twice still makes the same value.
 */
export function suspensionValue(subject: string, untilSeconds: number, reason: SuspensionReason, atMs: number): string {
  return `${subject}#${Math.trunc(untilSeconds)}#${reason}#${Math.trunc(atMs)}`;
}

/**
 * Reads a {@link suspensionValue}; also the `<subject>#<until>#<reason>` of entries written
 * before values carried their write time (`atMs` undefined), which are still in the feed
 * until their `purgeAt`.
 */
export function parseSuspensionValue(
  value: string,
): { readonly subject: string; readonly untilSeconds: number; readonly reason: SuspensionReason; readonly atMs: number | undefined } | undefined {
  const [subject, until, reason, atMs, ...rest] = value.split('#');
  if (!subject || until === undefined || !/^\d{1,15}$/.test(until) || rest.length > 0) return undefined;
  if (!(SUSPENSION_REASONS as readonly string[]).includes(reason ?? '')) return undefined;
  if (atMs !== undefined && !/^\d{1,15}$/.test(atMs)) return undefined;
  return { subject, untilSeconds: Number(until), reason: reason as SuspensionReason, atMs: atMs === undefined ? undefined : Number(atMs) };
}

/** A revocation feed entry as stored. */
export interface RevocationEntry {
  readonly kind: RevocationKind;
  readonly value: string;
  readonly revokedAtMs: number;
  /** Epoch seconds after which the revoked thing cannot look valid anyway. */
  readonly purgeAt: number;
}
