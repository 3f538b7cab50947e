import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  createStreamPoller,
  firstFailedIndex,
  toLambdaRecord,
  type IteratorPosition,
  type ShardDescription,
  type StreamPoller,
  type StreamReader,
} from '../../../local/stream-poller';
import { tempDirs } from '../../support/temp-dirs';

const tables = { apiKeys: 'f-ApiKeys', clients: 'f-Clients', tokens: 'f-Tokens', signingKeys: 'f-SigningKeys' };
const arnOf = (table: string) => `arn:aws:dynamodb:ddblocal:000000000000:table/${table}/stream/2026-11-22T00:00:00.000`;
const TOKENS = arnOf(tables.tokens);

interface FakeShard extends ShardDescription {
  readonly records: _Record[];
  closed: boolean;
}

/** DynamoDB Streams in memory: iterators are positions, closed shards end with no next iterator. */
class FakeStreams implements StreamReader {
  readonly shardsByArn = new Map<string, FakeShard[]>(Object.values(tables).map((table) => [arnOf(table), []]));
  readonly positions: IteratorPosition[] = [];
  closedReader = false;
  /** The error the next GetRecords fails with. */
  failNextRecords: string | undefined;
  trimmedAfter = false;
  private nextSeq = 1;

  shard(shardId: string, parentShardId?: string, arn = TOKENS): FakeShard {
    const shard: FakeShard = { shardId, ...(parentShardId ? { parentShardId } : {}), records: [], closed: false };
    this.shardsByArn.get(arn)!.push(shard);
    return shard;
  }

  put(shard: FakeShard, jti: string, extra: Partial<_Record> = {}): _Record {
    const sequenceNumber = String(this.nextSeq++).padStart(21, '0');
    const record: _Record = {
      eventID: `e-${jti}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: new Date(1_800_000_000_000),
        Keys: { jti: { S: jti } },
        NewImage: { jti: { S: jti } },
        SequenceNumber: sequenceNumber,
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      ...extra,
    };
    shard.records.push(record);
    return record;
  }

  async streamArn(tableName: string) {
    return arnOf(tableName);
  }

  async shards(streamArn: string) {
    return this.shardsByArn.get(streamArn)!.map(({ shardId, parentShardId }) => ({ shardId, ...(parentShardId ? { parentShardId } : {}) }));
  }

  async iterator(streamArn: string, shardId: string, position: IteratorPosition) {
    this.positions.push(position);
    if (position.type === 'AFTER_SEQUENCE_NUMBER' && this.trimmedAfter) {
      this.trimmedAfter = false;
      throw Object.assign(new Error('trimmed'), { name: 'TrimmedDataAccessException' });
    }
    const shard = this.find(streamArn, shardId);
    const index =
      position.type === 'TRIM_HORIZON'
        ? 0
        : shard.records.findIndex((r) => r.dynamodb!.SequenceNumber === position.sequenceNumber) + (position.type === 'AFTER_SEQUENCE_NUMBER' ? 1 : 0);
    return JSON.stringify({ streamArn, shardId, index });
  }

  async records(iterator: string, limit: number) {
    if (this.failNextRecords) {
      const name = this.failNextRecords;
      this.failNextRecords = undefined;
      throw Object.assign(new Error(name), { name });
    }
    const { streamArn, shardId, index } = JSON.parse(iterator) as { streamArn: string; shardId: string; index: number };
    const shard = this.find(streamArn, shardId);
    const records = shard.records.slice(index, index + limit);
    const end = index + records.length;
    const drained = shard.closed && end >= shard.records.length;
    return drained ? { records } : { records, nextIterator: JSON.stringify({ streamArn, shardId, index: end }) };
  }

  close() {
    this.closedReader = true;
  }

  private find(streamArn: string, shardId: string): FakeShard {
    return this.shardsByArn.get(streamArn)!.find((s) => s.shardId === shardId)!;
  }
}

/** One open shard on the tokens stream, holding a record per jti. */
function shardWith(jtis: readonly string[]): { streams: FakeStreams; shard: FakeShard } {
  const streams = new FakeStreams();
  const shard = streams.shard('s1');
  for (const jti of jtis) streams.put(shard, jti);
  return { streams, shard };
}

type Respond = (event: DynamoDBStreamEvent) => unknown;

/** Records every batch; responds as told (default: success). */
function recorder(respond: Respond = () => undefined) {
  const batches: string[][] = [];
  const events: DynamoDBStreamEvent[] = [];
  const handler = async (event: DynamoDBStreamEvent) => {
    events.push(event);
    batches.push(event.Records.map((r) => r.dynamodb!.Keys!.jti!.S!));
    return respond(event);
  };
  return { batches, events, handler, delivered: () => batches.flat() };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pollers: StreamPoller[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

async function start(
  streams: StreamReader,
  handler: (event: DynamoDBStreamEvent) => Promise<unknown>,
  options: { checkpointPath?: string; batchSize?: number; maxRetryAttempts?: number; log?: (line: string) => void } = {},
) {
  const poller = await createStreamPoller(streams, { endpoint: 'unused', tableNames: tables, handler, intervalMs: 5, log: () => undefined, ...options });
  pollers.push(poller);
  return poller;
}

const failing =
  (jti: string): Respond =>
  (event) => ({
    batchItemFailures: event.Records.filter((r) => r.dynamodb!.Keys!.jti!.S === jti).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
  });

describe('stream poller: delivery', () => {
  it('delivers each shard in order, in batches of at most batchSize', async () => {
    const { streams } = shardWith(['a', 'b', 'c', 'd', 'e']);
    const { batches, handler } = recorder();
    await start(streams, handler, { batchSize: 2 });
    await until(() => batches.flat().length === 5, 'five records');
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('keeps polling an open shard and delivers records written later', async () => {
    const { streams, shard } = shardWith(['a']);
    const { delivered, handler } = recorder();
    await start(streams, handler);
    await until(() => delivered().length === 1, 'first record');
    streams.put(shard, 'b');
    await until(() => delivered().length === 2, 'later record');
    expect(delivered()).toEqual(['a', 'b']);
  });

  it('reads shards concurrently: a slow batch on one shard holds back no other', async () => {
    const streams = new FakeStreams();
    streams.put(streams.shard('tokens-1'), 'slow');
    streams.put(streams.shard('clients-1', undefined, arnOf(tables.clients)), 'fast');
    let releaseSlow: () => void = () => undefined;
    const slowHeld = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    const { delivered, handler } = recorder();
    await start(streams, async (event) => {
      if (event.Records[0]!.dynamodb!.Keys!.jti!.S === 'slow') await slowHeld;
      return handler(event);
    });
    await until(() => delivered().includes('fast'), 'the other shard, while the slow batch is held');
    releaseSlow();
    await until(() => delivered().includes('slow'), 'the slow batch');
  });

  it('reads a child shard only after its parent is drained, and finds children that appear later', async () => {
    const streams = new FakeStreams();
    const parent = streams.shard('parent');
    const child = streams.shard('child-1', 'parent');
    streams.put(child, 'c1');
    streams.put(parent, 'p1');
    streams.put(parent, 'p2');
    const { delivered, handler } = recorder();
    await start(streams, handler);
    await until(() => delivered().length === 2, 'parent records');
    expect(delivered()).toEqual(['p1', 'p2']);

    // The split: the parent closes, and a second child shows up only now.
    streams.put(parent, 'p3');
    const late = streams.shard('child-2', 'parent');
    streams.put(late, 'c2');
    parent.closed = true;
    await until(() => delivered().length === 5, 'children');
    expect(delivered().slice(0, 3)).toEqual(['p1', 'p2', 'p3']);
    expect(delivered().slice(3).sort()).toEqual(['c1', 'c2']);
  });

  it('reads a child whose parent is no longer listed (trimmed) at once', async () => {
    const streams = new FakeStreams();
    streams.put(streams.shard('orphan', 'gone'), 'o1');
    const { delivered, handler } = recorder();
    await start(streams, handler);
    await until(() => delivered().length === 1, 'orphan record');
  });

  it.each(['ExpiredIteratorException', 'TrimmedDataAccessException'])(
    'gets a fresh iterator from the checkpoint after %s, without losing or repeating records',
    async (error) => {
      const { streams, shard } = shardWith(['a']);
      const { delivered, handler } = recorder();
      await start(streams, handler);
      await until(() => delivered().length === 1, 'first record');
      streams.failNextRecords = error;
      streams.put(shard, 'b');
      await until(() => delivered().length === 2, 'record after the failed read');
      expect(delivered()).toEqual(['a', 'b']);
      expect(streams.positions.at(-1)).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: shard.records[0]!.dynamodb!.SequenceNumber });
    },
  );

  it('logs a failing GetRecords and keeps polling', async () => {
    const { streams, shard } = shardWith(['a']);
    const lines: string[] = [];
    const { delivered, handler } = recorder();
    await start(streams, handler, { log: (line) => lines.push(line) });
    await until(() => delivered().length === 1, 'first record');
    streams.failNextRecords = 'InternalServerError';
    streams.put(shard, 'b');
    await until(() => delivered().length === 2, 'record after the failure');
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'stream_poll_failed', table: tables.tokens, shardId: 's1', error: 'InternalServerError' });
  });
});

describe('stream poller: failures, as Lambda handles ReportBatchItemFailures', () => {
  it('re-delivers from the first failed record, not the records before it', async () => {
    const { streams, shard } = shardWith(['a', 'b', 'c']);
    let calls = 0;
    const { batches, handler } = recorder((event) => (calls++ === 0 ? failing('b')(event) : undefined));
    await start(streams, handler);
    await until(() => batches.length === 2, 'retry');
    expect(batches).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
    ]);
    expect(streams.positions).toContainEqual({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: shard.records[1]!.dynamodb!.SequenceNumber });
  });

  it('uses the lowest failed sequence number when several records fail', async () => {
    const { streams } = shardWith(['a', 'b', 'c', 'd']);
    let calls = 0;
    const { batches, handler } = recorder((event) =>
      calls++ === 0
        ? {
            batchItemFailures: [{ itemIdentifier: event.Records[3]!.dynamodb!.SequenceNumber }, { itemIdentifier: event.Records[1]!.dynamodb!.SequenceNumber }],
          }
        : undefined,
    );
    await start(streams, handler);
    await until(() => batches.length === 2, 'retry');
    expect(batches[1]).toEqual(['b', 'c', 'd']);
  });

  it('re-delivers the whole batch when the handler throws', async () => {
    const { streams } = shardWith(['a', 'b']);
    let calls = 0;
    const lines: string[] = [];
    const { batches, handler } = recorder(() => {
      if (calls++ === 0) throw new Error('crashed');
    });
    await start(streams, handler, { log: (line) => lines.push(line) });
    await until(() => batches.length === 2, 'retry');
    expect(batches).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'stream_batch_failed', table: tables.tokens, error: 'crashed' });
  });

  it('re-delivers the whole batch when a failure names no record of it', async () => {
    const { streams } = shardWith(['a', 'b']);
    let calls = 0;
    const { batches, handler } = recorder(() => (calls++ === 0 ? { batchItemFailures: [{ itemIdentifier: 'nope' }] } : undefined));
    await start(streams, handler);
    await until(() => batches.length === 2, 'retry');
    expect(batches[1]).toEqual(['a', 'b']);
  });

  it('discards a record that keeps failing after the bounded retries, logs it, and moves on', async () => {
    const { streams, shard } = shardWith(['a', 'poison', 'b']);
    const lines: string[] = [];
    const { batches, handler } = recorder(failing('poison'));
    await start(streams, handler, { maxRetryAttempts: 2, log: (line) => lines.push(line) });
    await until(() => lines.some((l) => l.includes('stream_record_discarded')), 'discard');
    streams.put(shard, 'c');
    await until(() => batches.flat().includes('c'), 'next record');
    // One delivery and two retries of the poison record; then the shard resumes after it.
    expect(batches.slice(0, 3)).toEqual([
      ['a', 'poison', 'b'],
      ['poison', 'b'],
      ['poison', 'b'],
    ]);
    expect(batches.slice(3).flat()).toEqual(['b', 'c']);
    expect(JSON.parse(lines.find((l) => l.includes('discarded'))!)).toMatchObject({
      event: 'stream_record_discarded',
      table: tables.tokens,
      shardId: 's1',
      sequenceNumber: shard.records[1]!.dynamodb!.SequenceNumber,
      attempts: 3,
    });
  });
});

const checkpointDir = tempDirs('tollgate-poller-');

describe('stream poller: checkpoints', () => {
  const checkpointPath = () => join(checkpointDir(), 'checkpoints.json');

  it('resumes after the last processed record on restart, and skips drained shards', async () => {
    const path = checkpointPath();
    const streams = new FakeStreams();
    const old = streams.shard('old');
    streams.put(old, 'o1');
    old.closed = true;
    const shard = streams.shard('s1', 'old');
    for (const jti of ['a', 'b']) streams.put(shard, jti);
    const first = recorder();
    const poller = await start(streams, first.handler, { checkpointPath: path });
    await until(() => first.delivered().length === 3, 'first run');
    await poller.stop();
    expect(streams.closedReader).toBe(true);

    for (const jti of ['c', 'd']) streams.put(shard, jti);
    const second = recorder();
    await start(streams, second.handler, { checkpointPath: path });
    await until(() => second.delivered().length === 2, 'second run');
    expect(second.delivered()).toEqual(['c', 'd']);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { shards: Record<string, unknown> };
    expect(saved.shards[`${TOKENS}|old`]).toEqual({ sequenceNumber: old.records[0]!.dynamodb!.SequenceNumber, finished: true });
  });

  it('a crash before a batch succeeded re-delivers that batch after restart', async () => {
    const path = checkpointPath();
    const { streams } = shardWith(['a', 'b']);
    const crashing = recorder(() => {
      throw new Error('process died');
    });
    const poller = await start(streams, crashing.handler, { checkpointPath: path, maxRetryAttempts: 100 });
    await until(() => crashing.batches.length >= 1, 'crash');
    await poller.stop();

    const restarted = recorder();
    await start(streams, restarted.handler, { checkpointPath: path });
    await until(() => restarted.batches.length === 1, 'restart');
    expect(restarted.batches).toEqual([['a', 'b']]);
  });

  it('falls back to the oldest record when the checkpoint is past the retention', async () => {
    const path = checkpointPath();
    const { streams } = shardWith(['a']);
    const first = recorder();
    const poller = await start(streams, first.handler, { checkpointPath: path });
    await until(() => first.delivered().length === 1, 'first run');
    await poller.stop();

    streams.trimmedAfter = true;
    const lines: string[] = [];
    const second = recorder();
    await start(streams, second.handler, { checkpointPath: path, log: (line) => lines.push(line) });
    await until(() => second.delivered().length === 1, 'replay');
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'stream_checkpoint_trimmed', shardId: 's1' });
  });

  it('refuses to start on a corrupt checkpoint file, naming it, and releases the reader', async () => {
    const path = checkpointPath();
    for (const content of ['{not json', '{"version":2,"shards":{}}']) {
      writeFileSync(path, content);
      const streams = new FakeStreams();
      await expect(
        createStreamPoller(streams, { endpoint: 'unused', tableNames: tables, handler: async () => undefined, checkpointPath: path }),
      ).rejects.toThrow(path);
      expect(streams.closedReader).toBe(true);
    }
  });

  it('refuses to start when a table has no stream, and releases the reader', async () => {
    const streams = new FakeStreams();
    streams.streamArn = async (table: string) => {
      throw new Error(`table ${table} has no stream to poll`);
    };
    await expect(createStreamPoller(streams, { endpoint: 'unused', tableNames: tables, handler: async () => undefined })).rejects.toThrow(/has no stream/);
    expect(streams.closedReader).toBe(true);
  });
});

describe('toLambdaRecord', () => {
  /** The record fields Lambda passes through as GetRecords returns them. */
  const header = { eventID: 'e1', eventName: 'MODIFY', eventVersion: '1.1', eventSource: 'aws:dynamodb', awsRegion: 'ddblocal' } as const;
  const base: _Record = {
    ...header,
    dynamodb: {
      ApproximateCreationDateTime: new Date(1_800_000_000_900),
      Keys: { jti: { S: 'a' } },
      NewImage: { jti: { S: 'a' }, blob: { B: new Uint8Array([1, 2, 255]) }, nested: { M: { bin: { BS: [new Uint8Array([0])] } } }, list: { L: [{ N: '1' }] } },
      OldImage: { jti: { S: 'a' } },
      SequenceNumber: '000000000000000000042',
      SizeBytes: 77,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };

  it('produces the event Lambda delivers: epoch-second times, base64 binaries, the stream ARN', () => {
    expect(toLambdaRecord(base, TOKENS)).toEqual({
      ...header,
      dynamodb: {
        ApproximateCreationDateTime: 1_800_000_000,
        Keys: { jti: { S: 'a' } },
        NewImage: { jti: { S: 'a' }, blob: { B: 'AQL/' }, nested: { M: { bin: { BS: ['AA=='] } } }, list: { L: [{ N: '1' }] } },
        OldImage: { jti: { S: 'a' } },
        SequenceNumber: '000000000000000000042',
        SizeBytes: 77,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: TOKENS,
    } satisfies DynamoDBRecord);
  });

  it("restores DynamoDB's shape of a TTL deletion from DynamoDB Local's", () => {
    const local: _Record = { ...base, eventName: 'UNKNOWN_TO_SDK_VERSION' as never, dynamodb: { ...base.dynamodb, NewImage: undefined } };
    expect(toLambdaRecord(local, TOKENS)).toMatchObject({ eventName: 'REMOVE', userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } });
  });

  it("renames the SDK's identity fields to Lambda's", () => {
    const removal: _Record = { ...base, eventName: 'REMOVE', userIdentity: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' } };
    expect(toLambdaRecord(removal, TOKENS).userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(toLambdaRecord(base, TOKENS)).not.toHaveProperty('userIdentity');
  });
});

describe('firstFailedIndex', () => {
  const records = ['1', '2', '3'].map((n) => ({ dynamodb: { SequenceNumber: n } }) as DynamoDBRecord);
  it.each([
    ['no response', undefined, undefined],
    ['null', null, undefined],
    ['no batchItemFailures', {}, undefined],
    ['an empty list', { batchItemFailures: [] }, undefined],
    ['one failure', { batchItemFailures: [{ itemIdentifier: '2' }] }, 1],
    ['the lowest of several', { batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] }, 1],
    ['an empty identifier: the whole batch', { batchItemFailures: [{ itemIdentifier: '' }] }, 0],
    ['a null identifier: the whole batch', { batchItemFailures: [{ itemIdentifier: null }] }, 0],
    ['an unknown identifier: the whole batch', { batchItemFailures: [{ itemIdentifier: '9' }] }, 0],
    ['a malformed list: the whole batch', { batchItemFailures: 'x' }, 0],
  ])('%s', (_name, response, expected) => {
    expect(firstFailedIndex(response, records)).toBe(expected);
  });
});
