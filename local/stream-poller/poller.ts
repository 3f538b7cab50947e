/**
 * Local mode's stand-in for Lambda's DynamoDB Streams event source mapping: reads the
 * streams of the fan-out's tables from DynamoDB Local and invokes the fan-out handler
 * with the event Lambda would deliver.
 *
 * What it keeps of Lambda's behaviour:
 * - one batch = records of one shard, in order, at most `batchSize` (Lambda's default for
 *   DynamoDB streams: 100); shards are read concurrently, one batch in flight per shard; a
 *   shard's children are read only after the parent is drained, so per-item order holds
 *   across shard splits;
 * - `ReportBatchItemFailures`: the lowest failed sequence number becomes the resume point
 *   and every record from it on is delivered again; a thrown error or an unreadable
 *   response fails the whole batch;
 * - retries with backoff for as long as the stream keeps the record, as the deployed
 *   mapping's (unlimited attempts, no maximum record age): the fan-out reports only
 *   failures a retry can clear, and acknowledges a record no retry can read itself.
 *   `maxRetryAttempts` bounds them for a test; past it the record is logged as discarded
 *   (where a deployed mapping with a bound would send it to its DLQ);
 * - checkpoints: the last processed sequence number per shard, persisted to
 *   `checkpointPath` after every batch, so a restart resumes after it.
 *
 * It also restores (`dispatch.ts`) the record shape DynamoDB Local gets wrong: its TTL deletions arrive
 * with `eventName: "UNKNOWN_TO_SDK_VERSION"` and no `userIdentity`, where DynamoDB sends
 * `REMOVE` from the `dynamodb.amazonaws.com` service principal.
 */
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { Functions } from '../../common/functions';
import type { TableNames } from '../../common/tables';
import { CheckpointStore, cursorKey } from './checkpoint';
import { firstFailedIndex, toLambdaRecord } from './dispatch';
import { sdkStreamReader, type IteratorPosition, type StreamReader } from './reader';

type StreamTableKey = (typeof Functions.fanout.streams)[number];

export interface StreamPollerOptions {
  readonly endpoint: string;
  /** Physical table names; the streams of `Functions.fanout.streams` are read. */
  readonly tableNames: Pick<TableNames, StreamTableKey>;
  /** The fan-out handler (or anything with Lambda's stream-handler contract). */
  readonly handler: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Where checkpoints persist across restarts; absent: in memory only. */
  readonly checkpointPath?: string;
  /** Pause between polls of idle shards. @default 200 */
  readonly intervalMs?: number;
  /** Records per invocation. @default 100 (Lambda's default for DynamoDB streams) */
  readonly batchSize?: number;
  /** Retries of a failing record before it is discarded. @default unlimited, as deployed */
  readonly maxRetryAttempts?: number;
  /** Where JSON log lines go. @default stderr */
  readonly log?: (line: string) => void;
}

export interface StreamPoller {
  /** Finishes the batch in flight, saves checkpoints, releases the clients. */
  stop(): Promise<void>;
}

const STREAM_TABLES: readonly StreamTableKey[] = Functions.fanout.streams;
const DEFAULT_INTERVAL_MS = 200;
const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_MAX_RETRY_ATTEMPTS = Number.POSITIVE_INFINITY;
const MAX_RETRY_DELAY_MS = 5_000;
/** New shards appear when DynamoDB rolls or splits one; look for them this often (and when a shard closes). */
const SHARD_REFRESH_MS = 10_000;

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  return createStreamPoller(sdkStreamReader(options.endpoint), options);
}

/** The poller over any {@link StreamReader}; closes the reader when it stops or fails to start. */
export async function createStreamPoller(reader: StreamReader, options: StreamPollerOptions): Promise<StreamPoller> {
  let poller: Poller;
  try {
    poller = new Poller(reader, options);
    await poller.init();
  } catch (error) {
    reader.close();
    throw error;
  }
  poller.start();
  return { stop: () => poller.stop() };
}

interface ShardCursor {
  readonly streamArn: string;
  readonly tableName: string;
  readonly shardId: string;
  readonly parentShardId?: string;
  iterator?: string;
  /** After a failed batch: the first failed record, read again with AT_SEQUENCE_NUMBER. */
  retryFrom?: string;
  /** Consecutive failures at `retryFrom`. */
  failures: number;
  notBeforeMs: number;
  finished: boolean;
}

class Poller {
  private readonly checkpoints: CheckpointStore;
  private readonly streams: { readonly tableName: string; readonly streamArn: string }[] = [];
  private readonly cursors = new Map<string, ShardCursor>();
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly maxRetryAttempts: number;
  private readonly log: (entry: Record<string, unknown>) => void;
  private refreshDue = true;
  private lastRefreshMs = 0;
  private stopped = false;
  private readonly sleepers = new Set<() => void>();
  private readonly running = new Map<string, Promise<void>>();
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly reader: StreamReader,
    private readonly options: StreamPollerOptions,
  ) {
    this.checkpoints = new CheckpointStore(options.checkpointPath);
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.maxRetryAttempts = options.maxRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
    const write = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.log = (entry) => write(JSON.stringify({ component: 'stream-poller', ...entry }));
  }

  async init(): Promise<void> {
    for (const key of STREAM_TABLES) {
      const tableName = this.options.tableNames[key];
      this.streams.push({ tableName, streamArn: await this.reader.streamArn(tableName) });
    }
    await this.refreshShards();
  }

  start(): void {
    this.loop = this.run();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      for (const wake of [...this.sleepers]) wake();
      await this.loop;
      this.checkpoints.save();
      this.reader.close();
    })();
    return this.stopping;
  }

  /** The supervisor: keeps the shard listing fresh and gives every ready shard a loop of its own. */
  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.refreshDue || Date.now() - this.lastRefreshMs >= SHARD_REFRESH_MS) await this.refreshShards();
        for (const cursor of this.readyCursors()) this.launch(cursor);
      } catch (error) {
        this.log({ event: 'stream_poll_failed', error: (error as Error).message });
      }
      await this.pause(this.intervalMs);
    }
    await Promise.all(this.running.values());
  }

  /** Like Lambda's one concurrent invocation per shard: a slow batch on one shard holds back no other. */
  private launch(cursor: ShardCursor): void {
    const key = cursorKey(cursor.streamArn, cursor.shardId);
    if (this.running.has(key)) return;
    this.running.set(
      key,
      this.runShard(cursor, key).finally(() => this.running.delete(key)),
    );
  }

  private async runShard(cursor: ShardCursor, key: string): Promise<void> {
    while (!this.stopped && !cursor.finished && this.cursors.get(key) === cursor) {
      let busy = false;
      try {
        busy = await this.pollShard(cursor);
      } catch (error) {
        this.log({ event: 'stream_poll_failed', table: cursor.tableName, shardId: cursor.shardId, error: (error as Error).message });
      }
      if (!busy) await this.pause(Math.max(this.intervalMs, cursor.notBeforeMs - Date.now()));
    }
  }

  private async refreshShards(): Promise<void> {
    for (const { tableName, streamArn } of this.streams) {
      const listed = await this.reader.shards(streamArn);
      const live = new Set(listed.map((shard) => shard.shardId));
      for (const shard of listed) {
        const key = cursorKey(streamArn, shard.shardId);
        if (this.cursors.has(key)) continue;
        const finished = this.checkpoints.get(streamArn, shard.shardId)?.finished === true;
        this.cursors.set(key, { streamArn, tableName, ...shard, failures: 0, notBeforeMs: 0, finished });
      }
      // Shards past the stream's 24 h retention are gone from the listing, and their records with them.
      for (const [key, cursor] of this.cursors) {
        if (cursor.streamArn === streamArn && !live.has(cursor.shardId)) this.cursors.delete(key);
      }
      this.checkpoints.retain(streamArn, live);
    }
    this.refreshDue = false;
    this.lastRefreshMs = Date.now();
  }

  /** Unfinished shards whose parent (if still listed) is drained. */
  private readyCursors(): ShardCursor[] {
    return [...this.cursors.values()].filter((cursor) => {
      if (cursor.finished) return false;
      const parent = cursor.parentShardId === undefined ? undefined : this.cursors.get(cursorKey(cursor.streamArn, cursor.parentShardId));
      return parent === undefined || parent.finished;
    });
  }

  private async pollShard(cursor: ShardCursor): Promise<boolean> {
    cursor.iterator ??= await this.openIterator(cursor);
    if (cursor.iterator === undefined) return this.finish(cursor);
    let page: Awaited<ReturnType<StreamReader['records']>>;
    try {
      page = await this.reader.records(cursor.iterator, this.batchSize);
    } catch (error) {
      // Iterators live 15 minutes; a fresh one from the checkpoint loses nothing. DynamoDB
      // Local also answers TrimmedDataAccessException for an iterator taken while its shard
      // was empty once a record arrives (seen on 3.3.0); reopening from the checkpoint
      // (or the trim horizon) reads that record.
      const name = (error as Error).name;
      if (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException') throw error;
      cursor.iterator = undefined;
      return true;
    }
    if (page.records.length === 0) {
      cursor.iterator = page.nextIterator;
      return cursor.iterator === undefined ? this.finish(cursor) : false;
    }
    const failedIndex = await this.deliver(cursor, page.records);
    if (failedIndex === undefined) {
      this.checkpoint(cursor, page.records[page.records.length - 1]!);
      cursor.retryFrom = undefined;
      cursor.failures = 0;
      cursor.iterator = page.nextIterator;
      if (cursor.iterator === undefined) this.finish(cursor);
      return true;
    }
    if (failedIndex > 0) this.checkpoint(cursor, page.records[failedIndex - 1]!);
    this.retryOrDiscard(cursor, page.records[failedIndex]!);
    cursor.iterator = undefined;
    return false;
  }

  private async openIterator(cursor: ShardCursor): Promise<string | undefined> {
    const checkpoint = this.checkpoints.get(cursor.streamArn, cursor.shardId)?.sequenceNumber;
    const position: IteratorPosition = cursor.retryFrom
      ? { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: cursor.retryFrom }
      : checkpoint
        ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint }
        : { type: 'TRIM_HORIZON' };
    try {
      return await this.reader.iterator(cursor.streamArn, cursor.shardId, position);
    } catch (error) {
      if ((error as Error).name !== 'TrimmedDataAccessException' || position.type === 'TRIM_HORIZON') throw error;
      // The position fell out of the 24 h retention: start from the oldest record still held.
      this.log({ event: 'stream_checkpoint_trimmed', table: cursor.tableName, shardId: cursor.shardId, position });
      cursor.retryFrom = undefined;
      return this.reader.iterator(cursor.streamArn, cursor.shardId, { type: 'TRIM_HORIZON' });
    }
  }

  /** Invokes the handler; returns the index of the first record to deliver again, or undefined when all succeeded. */
  private async deliver(cursor: ShardCursor, records: readonly _Record[]): Promise<number | undefined> {
    const event: DynamoDBStreamEvent = { Records: records.map((record) => toLambdaRecord(record, cursor.streamArn)) };
    try {
      return firstFailedIndex(await this.options.handler(event), event.Records);
    } catch (error) {
      this.log({ event: 'stream_batch_failed', table: cursor.tableName, shardId: cursor.shardId, records: records.length, error: (error as Error).message });
      return 0;
    }
  }

  private retryOrDiscard(cursor: ShardCursor, record: _Record): void {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    cursor.failures = cursor.retryFrom === sequenceNumber ? cursor.failures + 1 : 1;
    cursor.retryFrom = sequenceNumber;
    if (cursor.failures <= this.maxRetryAttempts) {
      cursor.notBeforeMs = Date.now() + Math.min(this.intervalMs * 2 ** (cursor.failures - 1), MAX_RETRY_DELAY_MS);
      return;
    }
    this.log({
      event: 'stream_record_discarded',
      table: cursor.tableName,
      shardId: cursor.shardId,
      sequenceNumber,
      eventID: record.eventID,
      attempts: cursor.failures,
    });
    this.checkpoint(cursor, record);
    cursor.retryFrom = undefined;
    cursor.failures = 0;
  }

  private checkpoint(cursor: ShardCursor, record: _Record): void {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if (sequenceNumber === undefined) return;
    this.checkpoints.set(cursor.streamArn, cursor.shardId, { sequenceNumber });
    this.checkpoints.save();
  }

  /** A closed shard is drained: remember it, and look for its children now. */
  private finish(cursor: ShardCursor): boolean {
    cursor.finished = true;
    const previous = this.checkpoints.get(cursor.streamArn, cursor.shardId);
    this.checkpoints.set(cursor.streamArn, cursor.shardId, { ...previous, finished: true });
    this.checkpoints.save();
    this.refreshDue = true;
    return true;
  }

  /** A wait that `stop()` cuts short. */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
