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
 * - bounded retries with backoff, after which the failing record is logged as discarded
 *   (the deployed mapping sends it to its DLQ instead) so one poison record cannot block
 *   a shard forever;
 * - checkpoints: the last processed sequence number per shard, persisted to
 *   `checkpointPath` after every batch, so a restart resumes after it.
 *
 * It also restores the record shape DynamoDB Local gets wrong: its TTL deletions arrive
 * with `eventName: "UNKNOWN_TO_SDK_VERSION"` and no `userIdentity`, where DynamoDB sends
 * `REMOVE` from the `dynamodb.amazonaws.com` service principal.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type AttributeValue as SdkAttributeValue,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { Functions } from '../common/functions';
import type { TableNames } from '../common/tables';
import { EndpointEnv } from '../common/config';
import { dynamoDbClient } from '../lambda/adapters/clients/dynamodb';
import { dynamoDbStreamsClient } from '../lambda/adapters/clients/dynamodb-streams';

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
  /** Retries of a failing record before it is discarded. @default 5 */
  readonly maxRetryAttempts?: number;
  /** Where JSON log lines go. @default stderr */
  readonly log?: (line: string) => void;
}

export interface StreamPoller {
  /** Finishes the batch in flight, saves checkpoints, releases the clients. */
  stop(): Promise<void>;
}

export interface ShardDescription {
  readonly shardId: string;
  readonly parentShardId?: string;
}

export type IteratorPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

/** The DynamoDB Streams calls the poller makes: the SDK against DynamoDB Local, or a fake in unit tests. */
export interface StreamReader {
  streamArn(tableName: string): Promise<string>;
  shards(streamArn: string): Promise<ShardDescription[]>;
  /** `undefined`: the shard is closed and has nothing more at that position. */
  iterator(streamArn: string, shardId: string, position: IteratorPosition): Promise<string | undefined>;
  /** `nextIterator` absent: the shard is closed and fully read. */
  records(iterator: string, limit: number): Promise<{ records: _Record[]; nextIterator?: string }>;
  close(): void;
}

const STREAM_TABLES: readonly StreamTableKey[] = Functions.fanout.streams;
const DEFAULT_INTERVAL_MS = 200;
const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_MAX_RETRY_ATTEMPTS = 5;
const MAX_RETRY_DELAY_MS = 5_000;
/** New shards appear when DynamoDB rolls or splits one; look for them this often (and when a shard closes). */
const SHARD_REFRESH_MS = 10_000;
const TTL_PRINCIPAL = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

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
    this.running.set(key, this.runShard(cursor, key).finally(() => this.running.delete(key)));
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

/**
 * Lambda's reading of a stream handler's response: none, or an empty or absent
 * `batchItemFailures`, is success; otherwise the lowest failed record is the resume
 * point, and an identifier that names no record of the batch fails the whole batch.
 */
export function firstFailedIndex(response: unknown, records: readonly DynamoDBRecord[]): number | undefined {
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return undefined;
  if (!Array.isArray(failures)) return 0;
  let first: number | undefined;
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? records.findIndex((record) => record.dynamodb?.SequenceNumber === id) : -1;
    if (index < 0) return 0;
    first = first === undefined ? index : Math.min(first, index);
  }
  return first;
}

/** A GetRecords record in the shape Lambda delivers it (binary as base64, times as epoch seconds). */
export function toLambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  const ttlDeletion = isLocalTtlDeletion(record);
  const identity = ttlDeletion ? TTL_PRINCIPAL : lambdaIdentity(record.userIdentity);
  const created = stream.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: ttlDeletion ? 'REMOVE' : (record.eventName as DynamoDBRecord['eventName']),
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    dynamodb: withoutUndefined({
      ApproximateCreationDateTime: created === undefined ? undefined : Math.floor(new Date(created).getTime() / 1000),
      Keys: imageOf(stream.Keys),
      NewImage: imageOf(stream.NewImage),
      OldImage: imageOf(stream.OldImage),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    }),
    eventSourceARN: streamArn,
    ...(identity ? { userIdentity: identity } : {}),
  };
}

/** DynamoDB Local streams a TTL deletion as an old-image-only record with an event name the SDK does not know. */
function isLocalTtlDeletion(record: _Record): boolean {
  const known = record.eventName === 'INSERT' || record.eventName === 'MODIFY' || record.eventName === 'REMOVE';
  return !known && record.dynamodb?.OldImage !== undefined && record.dynamodb.NewImage === undefined;
}

function lambdaIdentity(identity: unknown): { type?: string; principalId?: string } | undefined {
  if (!identity || typeof identity !== 'object') return undefined;
  const raw = identity as Record<string, string | undefined>;
  return withoutUndefined({ type: raw.Type ?? raw.type, principalId: raw.PrincipalId ?? raw.principalId });
}

function imageOf(image: Record<string, SdkAttributeValue> | undefined): Record<string, AttributeValue> | undefined {
  if (!image) return undefined;
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaAttribute(value)]));
}

/** Lambda's event is JSON: binary values travel as base64 strings. */
function lambdaAttribute(value: SdkAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(lambdaAttribute) };
  if (value.M !== undefined) return { M: imageOf(value.M)! };
  return value as AttributeValue;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function cursorKey(streamArn: string, shardId: string): string {
  return `${streamArn}|${shardId}`;
}

interface ShardCheckpoint {
  readonly sequenceNumber?: string;
  readonly finished?: boolean;
}

interface CheckpointFile {
  readonly version: 1;
  readonly shards: Record<string, ShardCheckpoint>;
}

/** Checkpoints by stream and shard, written atomically (temp file + rename) so a crash never leaves half a file. */
class CheckpointStore {
  private readonly shards: Record<string, ShardCheckpoint>;

  constructor(private readonly path: string | undefined) {
    this.shards = path && existsSync(path) ? readCheckpointFile(path).shards : {};
  }

  get(streamArn: string, shardId: string): ShardCheckpoint | undefined {
    return this.shards[cursorKey(streamArn, shardId)];
  }

  set(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): void {
    this.shards[cursorKey(streamArn, shardId)] = checkpoint;
  }

  /** Forgets the shards of a stream that are no longer listed. */
  retain(streamArn: string, liveShardIds: ReadonlySet<string>): void {
    for (const key of Object.keys(this.shards)) {
      const [arn, shardId] = key.split('|');
      if (arn === streamArn && !liveShardIds.has(shardId!)) delete this.shards[key];
    }
  }

  save(): void {
    if (!this.path) return;
    const file: CheckpointFile = { version: 1, shards: this.shards };
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`);
    renameSync(temporary, this.path);
  }
}

function readCheckpointFile(path: string): CheckpointFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`stream checkpoint file ${path} is not valid JSON (${(error as Error).message}); delete it to replay the streams from their oldest record`);
  }
  const shards = (parsed as Partial<CheckpointFile> | null)?.shards;
  if ((parsed as Partial<CheckpointFile> | null)?.version !== 1 || !shards || typeof shards !== 'object') {
    throw new Error(`stream checkpoint file ${path} is not a version 1 checkpoint file; delete it to replay the streams from their oldest record`);
  }
  return { version: 1, shards };
}

function sdkStreamReader(endpoint: string): StreamReader {
  // Bounded like every function's clients: a hung DynamoDB Local fails a poll, which is retried.
  const env = { [EndpointEnv.dynamodb]: endpoint };
  const dynamodb = dynamoDbClient(env);
  const streams = dynamoDbStreamsClient(env);
  return {
    async streamArn(tableName) {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
      if (!Table?.StreamSpecification?.StreamEnabled || !Table.LatestStreamArn) throw new Error(`table ${tableName} has no stream to poll`);
      return Table.LatestStreamArn;
    },
    async shards(streamArn) {
      const shards: ShardDescription[] = [];
      let start: string | undefined;
      do {
        const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
        for (const shard of StreamDescription?.Shards ?? []) {
          if (shard.ShardId) shards.push(withoutUndefined({ shardId: shard.ShardId, parentShardId: shard.ParentShardId }));
        }
        start = StreamDescription?.LastEvaluatedShardId;
      } while (start);
      return shards;
    },
    async iterator(streamArn, shardId, position) {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: position.type,
          SequenceNumber: position.type === 'TRIM_HORIZON' ? undefined : position.sequenceNumber,
        }),
      );
      return ShardIterator;
    },
    async records(iterator, limit) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
      return { records: page.Records ?? [], nextIterator: page.NextShardIterator };
    },
    close() {
      dynamodb.destroy();
      streams.destroy();
    },
  };
}
