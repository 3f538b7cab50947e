/**
 * Appends revocations to the feed table (layout in `common/revocation-feed.ts`; the authorizers'
 * `revocation-feed-reader.ts` reads it). Written only by the fan-out function.
 *
 * Exactly once per revocation, however often a stream record is delivered (Lambda retries
 * a failed batch from its checkpoint, so records after a failure are seen again): one
 * TransactWriteItems puts an idempotency marker for (kind, value), conditional on it not
 * existing, together with the entry. Both succeed or neither does, so a cancellation on
 * the marker's condition means an earlier delivery already wrote the entry.
 *
 * The entry's sort key is its write time, taken before the write. Warm authorizers re-read
 * `FEED_LOOKBACK_MS` behind their cursor, so a write that became visible later than that
 * after its sort key (throttling retries, a slow connection) would never reach them. A
 * write that took longer than half the look-back is therefore re-stamped: the entry moves
 * to a fresh sort key in one more transaction (new entry, old one deleted, marker updated),
 * so there is still exactly one entry, and readers that saw the old one lose nothing.
 *
 * A suspension entry is also put into `FEED_SUSPENSIONS_PARTITION`, in the same transaction,
 * which cold starts read whole: it holds far longer than the window of buckets they read.
 * A re-stamp leaves that copy where it is (cold starts read it whatever its sort key).
 */
import { createHash } from 'node:crypto';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  FEED_LOOKBACK_MS,
  FEED_SHARDS,
  FEED_SUSPENSIONS_PARTITION,
  FeedAttr,
  feedMarkerPartition,
  feedPartition,
  feedSortKey,
  feedSortKeyTime,
  SUSPENSION_KINDS,
  type RevocationEntry,
  type RevocationKind,
} from '../../common/revocation-feed';
import { transactionConditionFailed } from './conditional-revoke';

interface Timing {
  /**
   * The entry's sort-key time, taken before the write (readers order entries by it); for a
   * duplicate, its entry's (this delivery's time when the marker names none).
   */
  readonly writtenAtMs: number;
  /**
   * When the write was known to be durable: after DynamoDB acknowledged it. A feed read
   * that starts after this sees the entry (reads are strongly consistent), so the
   * fan-out times the cache flush from here, never from `writtenAtMs`.
   */
  readonly durableAtMs: number;
}

export type AppendResult =
  | (Timing & {
      readonly outcome: 'written';
      /** The entry's key, where readers find it. */
      readonly bucket: string;
      readonly seq: string;
    })
  | (Timing & {
      /** The marker existed: this revocation is already in the feed; nothing was written. */
      readonly outcome: 'duplicate';
    });

export interface RevocationFeedWriter {
  append(entry: RevocationEntry): Promise<AppendResult>;
}

/** Every marker shares this sort key, so the condition checks the one marker of (kind, value). */
export const FEED_MARKER_SEQ = '-';
/** Marker attribute naming the entry it guards (`<bucket>/<seq>`), for operators tracing a revocation. */
export const FEED_MARKER_ENTRY = 'entry';
/** A write that took longer than this is re-stamped (see the module comment). */
export const LATE_WRITE_MS = FEED_LOOKBACK_MS / 2;
/** Re-stamps per append at most: a feed that slow is an outage, which staleness alarms and fail-closed cover. */
const MAX_RESTAMPS = 3;

export class DynamoRevocationFeedWriter implements RevocationFeedWriter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async append(entry: RevocationEntry): Promise<AppendResult> {
    // The write time is the sort key, so it is taken as late as possible: readers look
    // back a few seconds from their cursor to catch entries that became visible late.
    const writtenAtMs = this.now();
    const { bucket, seq, item } = feedEntryItem(entry, writtenAtMs);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: feedMarkerItem(entry, bucket, seq),
                ConditionExpression: 'attribute_not_exists(#bucket)',
                ExpressionAttributeNames: { '#bucket': FeedAttr.bucket },
              },
            },
            { Put: { TableName: this.tableName, Item: item } },
            ...(SUSPENSION_KINDS.has(entry.kind)
              ? [{ Put: { TableName: this.tableName, Item: { ...item, [FeedAttr.bucket]: FEED_SUSPENSIONS_PARTITION } } }]
              : []),
          ],
        }),
      );
    } catch (error) {
      // The earlier delivery's write was durable before this condition failed.
      if (transactionConditionFailed(error, 0)) return this.redelivered(entry);
      throw error;
    }
    const durableAtMs = this.now();
    if (durableAtMs - writtenAtMs <= LATE_WRITE_MS) return { outcome: 'written', bucket, seq, writtenAtMs, durableAtMs };
    return this.restamp(entry, { bucket, seq });
  }

  /**
   * A revocation already in the feed, delivered again: Lambda retrying a record (or the batch
   * around one) that failed. That failure may have been the re-stamp of a late write, and then
   * nothing else would ever move the entry to where warm readers look. So an entry stamped
   * longer ago than a late write is re-stamped now, while the revocation still matters: still
   * one entry, and views that already hold it skip it by value. A revocation past its
   * `purgeAt`, or whose entry TTL already removed, is left alone.
   */
  private async redelivered(entry: RevocationEntry): Promise<AppendResult> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [FeedAttr.bucket]: feedMarkerPartition(entry.kind, entry.value), [FeedAttr.seq]: FEED_MARKER_SEQ },
        ConsistentRead: true,
      }),
    );
    const nowMs = this.now();
    const at = entryKey(Item?.[FEED_MARKER_ENTRY]);
    if (at === undefined) return { outcome: 'duplicate', writtenAtMs: nowMs, durableAtMs: nowMs };
    const stampedAtMs = feedSortKeyTime(at.seq);
    if (entry.purgeAt <= nowMs / 1000 || nowMs - stampedAtMs <= LATE_WRITE_MS) return { outcome: 'duplicate', writtenAtMs: stampedAtMs, durableAtMs: nowMs };
    const { writtenAtMs, durableAtMs } = await this.restamp(entry, at);
    return { outcome: 'duplicate', writtenAtMs, durableAtMs };
  }

  /** Moves a late entry to a fresh sort key (again while the move itself is late, a few times at most). */
  private async restamp(entry: RevocationEntry, old: { bucket: string; seq: string }): Promise<AppendResult> {
    for (let attempt = 1; ; attempt += 1) {
      const writtenAtMs = this.now();
      const fresh = feedEntryItem(entry, writtenAtMs);
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: fresh.item } },
            { Delete: { TableName: this.tableName, Key: { [FeedAttr.bucket]: old.bucket, [FeedAttr.seq]: old.seq } } },
            { Put: { TableName: this.tableName, Item: feedMarkerItem(entry, fresh.bucket, fresh.seq) } },
          ],
        }),
      );
      const durableAtMs = this.now();
      if (attempt === MAX_RESTAMPS || durableAtMs - writtenAtMs <= LATE_WRITE_MS)
        return { outcome: 'written', bucket: fresh.bucket, seq: fresh.seq, writtenAtMs, durableAtMs };
      old = fresh;
    }
  }
}

/** The feed item of an entry written at `writtenAtMs`, with its key. */
export function feedEntryItem(entry: RevocationEntry, writtenAtMs: number): { bucket: string; seq: string; item: Record<string, string | number> } {
  const id = entryId(entry.kind, entry.value);
  const bucket = feedPartition(Math.floor(writtenAtMs / 1000), shardOf(id));
  const seq = feedSortKey(writtenAtMs, id);
  return {
    bucket,
    seq,
    item: {
      [FeedAttr.bucket]: bucket,
      [FeedAttr.seq]: seq,
      [FeedAttr.kind]: entry.kind,
      [FeedAttr.value]: entry.value,
      [FeedAttr.revokedAtMs]: entry.revokedAtMs,
      [FeedAttr.purgeAt]: entry.purgeAt,
    },
  };
}

/** The idempotency marker of an entry, pointing at where the entry was written. */
export function feedMarkerItem(entry: RevocationEntry, bucket: string, seq: string): Record<string, string | number> {
  return {
    [FeedAttr.bucket]: feedMarkerPartition(entry.kind, entry.value),
    [FeedAttr.seq]: FEED_MARKER_SEQ,
    [FeedAttr.purgeAt]: entry.purgeAt,
    [FEED_MARKER_ENTRY]: `${bucket}/${seq}`,
  };
}

/** The `<bucket>/<seq>` a marker points at; undefined for anything else. */
function entryKey(pointer: unknown): { bucket: string; seq: string } | undefined {
  if (typeof pointer !== 'string') return undefined;
  const slash = pointer.indexOf('/');
  return slash > 0 && slash < pointer.length - 1 ? { bucket: pointer.slice(0, slash), seq: pointer.slice(slash + 1) } : undefined;
}

/**
 * A short stable id of the revocation: unique among entries written in the same
 * millisecond, without repeating the (possibly long) value in the sort key.
 */
function entryId(kind: RevocationKind, value: string): string {
  return createHash('sha256').update(`${kind}#${value}`).digest('hex').slice(0, 12);
}

function shardOf(id: string): number {
  return Number.parseInt(id.slice(0, 8), 16) % FEED_SHARDS;
}
