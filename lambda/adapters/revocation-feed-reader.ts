/**
 * Reads the revocation feed table (layout in `common/revocation-feed.ts`; the fan-out function's
 * `revocation-feed-writer.ts` writes it) through the Query port (`dynamodb-query.ts`: the
 * authorizer's SigV4 HTTP client, or the SDK). One Query per partition for `seq > afterSeq`,
 * all pages, partitions in parallel. Idempotency-marker partitions (`id#…`) are never
 * queried, and items that do not have the entry shape are skipped and counted rather
 * than trusted or allowed to break the whole read.
 */
import { FEED_MARKER_PREFIX, FeedAttr, RevocationKind, type RevocationKind as Kind } from '../../common/revocation-feed';
import type { FeedRecord, RevocationFeedSource } from '../core/revocation/revocation-view';
import { queryAll, type DynamoQueryClient } from './dynamodb-query';

export interface RevocationFeedReaderOptions {
  /**
   * Upper bound for each Query, so a hung connection cannot hold a read (and every
   * request waiting on a stale view) longer than this.
   */
  readonly requestTimeoutMs?: number;
  /** Called with the number of malformed items skipped by a read. */
  readonly onMalformed?: (count: number) => void;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 2_000;
const KINDS: ReadonlySet<string> = new Set(Object.values(RevocationKind));

export class RevocationFeedReader implements RevocationFeedSource {
  constructor(
    private readonly client: DynamoQueryClient,
    private readonly tableName: string,
    private readonly options: RevocationFeedReaderOptions = {},
  ) {}

  /** Entries of `partitions` with `seq > afterSeq`; an empty `afterSeq` reads whole partitions. */
  async read(partitions: readonly string[], afterSeq: string): Promise<FeedRecord[]> {
    const pages = await Promise.all(partitions.filter((p) => !p.startsWith(FEED_MARKER_PREFIX)).map((partition) => this.readPartition(partition, afterSeq)));
    const records: FeedRecord[] = [];
    let malformed = 0;
    for (const items of pages) {
      for (const item of items) {
        const record = toRecord(item);
        if (record) records.push(record);
        else malformed += 1;
      }
    }
    if (malformed) this.options.onMalformed?.(malformed);
    return records;
  }

  private readPartition(partition: string, afterSeq: string): Promise<Record<string, unknown>[]> {
    return queryAll(
      this.client,
      {
        TableName: this.tableName,
        // DynamoDB refuses an empty string in a key condition, so no cursor means no seq condition.
        ...(afterSeq === ''
          ? {
              KeyConditionExpression: '#bucket = :bucket',
              ExpressionAttributeNames: { '#bucket': FeedAttr.bucket },
              ExpressionAttributeValues: { ':bucket': partition },
            }
          : {
              KeyConditionExpression: '#bucket = :bucket AND #seq > :after',
              ExpressionAttributeNames: { '#bucket': FeedAttr.bucket, '#seq': FeedAttr.seq },
              ExpressionAttributeValues: { ':bucket': partition, ':after': afterSeq },
            }),
        // Strongly consistent: an eventually consistent read may come from a replica that
        // has not seen a just-written entry yet, which eats into the 2 s promise (docs/revocation.md).
        ConsistentRead: true,
      },
      { timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS },
    );
  }
}

function toRecord(item: Record<string, unknown>): FeedRecord | undefined {
  const seq = item[FeedAttr.seq];
  const kind = item[FeedAttr.kind];
  const value = item[FeedAttr.value];
  const revokedAtMs = item[FeedAttr.revokedAtMs];
  const purgeAt = item[FeedAttr.purgeAt];
  if (typeof seq !== 'string' || typeof kind !== 'string' || !KINDS.has(kind) || typeof value !== 'string' || value === '') return undefined;
  if (typeof purgeAt !== 'number' || !Number.isFinite(purgeAt)) return undefined;
  return { seq, kind: kind as Kind, value, revokedAtMs: typeof revokedAtMs === 'number' ? revokedAtMs : 0, purgeAt };
}
