import { describe, expect, it } from 'vitest';
import type { DynamoDBRecord } from 'aws-lambda';
import { RevocationKind, type RevocationEntry } from '../../../common/revocation-feed';
import { createFanout, type FanoutDeps } from '../../../lambda/fanout/fan-out';
import type { AppendResult, RevocationFeedWriter } from '../../../lambda/adapters/revocation-feed-writer';
import type { AuthorizerCacheFlusher, StageRef } from '../../../lambda/adapters/authorizer-cache-flusher';
import type { StreamTableNames } from '../../../lambda/core/revocation/revocation-events';
import { streamRecord } from '../../support/stream-records';
import { RecordingFanoutTelemetry } from '../../support/fanout-telemetry';

const names: StreamTableNames = { apiKeys: 'u-ApiKeys', clients: 'u-Clients', tokens: 'u-Tokens', signingKeys: 'u-SigningKeys' };
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;
/** The flush delay in these tests: the feed writes happen at NOW_MS and the clock stands still. */
const POLL_SETTLE_MS = 1_250;
const STAGES: StageRef[] = [
  { restApiId: 'abc123', stageName: 'v1' },
  { restApiId: 'def456', stageName: 'canary' },
];

/** A feed that remembers (kind, value) like the marker does, and can be told to fail. */
class MemoryFeed implements RevocationFeedWriter {
  readonly entries: RevocationEntry[] = [];
  private readonly markers = new Set<string>();
  failWhen: (entry: RevocationEntry) => boolean = () => false;

  async append(entry: RevocationEntry): Promise<AppendResult> {
    if (this.failWhen(entry)) throw Object.assign(new Error('ProvisionedThroughputExceeded'), { name: 'ProvisionedThroughputExceededException' });
    const marker = `${entry.kind}#${entry.value}`;
    if (this.markers.has(marker)) return { outcome: 'duplicate', writtenAtMs: NOW_MS, durableAtMs: NOW_MS };
    this.markers.add(marker);
    this.entries.push(entry);
    return { outcome: 'written', bucket: 'b', seq: `s${this.entries.length}`, writtenAtMs: NOW_MS, durableAtMs: NOW_MS };
  }
}

class ScriptedFlusher implements AuthorizerCacheFlusher {
  readonly calls: StageRef[] = [];
  /** Failures still to serve, per `restApiId/stageName`. */
  readonly failures = new Map<string, number>();

  async flush(stage: StageRef): Promise<void> {
    this.calls.push(stage);
    const key = `${stage.restApiId}/${stage.stageName}`;
    const left = this.failures.get(key) ?? 0;
    if (left > 0) {
      this.failures.set(key, left - 1);
      throw Object.assign(new Error('Too Many Requests'), { name: 'TooManyRequestsException' });
    }
  }
}

function setup(overrides: Partial<FanoutDeps> = {}) {
  const feed = new MemoryFeed();
  const flusher = new ScriptedFlusher();
  const telemetry = new RecordingFanoutTelemetry();
  const sleeps: number[] = [];
  const fanout = createFanout({
    streamTables: names,
    writer: feed,
    flusher,
    flushStages: STAGES,
    flushDelayMs: POLL_SETTLE_MS,
    telemetry,
    clockSkewSeconds: 30,
    now: () => NOW_MS,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    jitter: () => 0,
    ...overrides,
  });
  return { feed, flusher, telemetry, sleeps, fanout };
}

const revokedToken = (jti: string): DynamoDBRecord =>
  streamRecord({
    tableName: names.tokens,
    eventName: 'MODIFY',
    keys: { jti },
    oldImage: { jti, status: 'active', exp: NOW_S + 300 },
    newImage: { jti, status: 'revoked', exp: NOW_S + 300, revokedAt: NOW_S - 1 },
  });
const revokedClient = (clientId: string): DynamoDBRecord =>
  streamRecord({
    tableName: names.clients,
    eventName: 'MODIFY',
    keys: { clientId },
    oldImage: { clientId, status: 'active' },
    newImage: { clientId, status: 'revoked', revokedAt: NOW_S },
  });
const keyUsed = (keyId: string): DynamoDBRecord =>
  streamRecord({
    tableName: names.apiKeys,
    eventName: 'MODIFY',
    keys: { keyId },
    oldImage: { keyId, status: 'active' },
    newImage: { keyId, status: 'active', lastUsedAt: NOW_S },
  });
const poison = (): DynamoDBRecord =>
  streamRecord({ tableName: names.tokens, eventName: 'INSERT', keys: { jti: 'p' }, newImage: { jti: 'p', status: 'revoked', revokedAt: 'yesterday' } });

describe('createFanout: feed writes', () => {
  it('appends every revocation of the batch and reports no failures', async () => {
    const { fanout, feed } = setup();
    const response = await fanout({ Records: [revokedToken('t1'), keyUsed('k1'), revokedClient('acme')] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(feed.entries).toEqual([
      { kind: RevocationKind.Token, value: 't1', revokedAtMs: (NOW_S - 1) * 1000, purgeAt: NOW_S + 300 + 30 },
      { kind: RevocationKind.Client, value: 'acme', revokedAtMs: NOW_S * 1000, purgeAt: NOW_S + 3600 + 30 },
    ]);
  });

  it('acknowledges a record no retry can read, reports it discarded, and applies the rest of the batch', async () => {
    const { fanout, feed, telemetry } = setup();
    const bad = poison();
    const response = await fanout({ Records: [revokedToken('t1'), bad, revokedToken('t2')] });
    // Reported as a failure, it would be retried for the stream's whole retention, holding back what follows it.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(feed.entries.map((e) => e.value)).toEqual(['t1', 't2']);
    expect(telemetry.of('recordDiscarded')).toEqual([
      {
        type: 'recordDiscarded',
        record: { eventID: bad.eventID, sequenceNumber: bad.dynamodb!.SequenceNumber, eventSourceARN: bad.eventSourceARN },
        error: 'MalformedStreamRecord',
      },
    ]);
    expect(telemetry.of('recordFailed')).toEqual([]);
  });

  it('reports a record whose feed write failed, so Lambda delivers it again', async () => {
    const { fanout, feed, telemetry } = setup();
    feed.failWhen = (entry) => entry.value === 't2';
    const failing = revokedToken('t2');
    const response = await fanout({ Records: [revokedToken('t1'), failing] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: failing.dynamodb!.SequenceNumber }]);
    expect(telemetry.of('recordDiscarded')).toEqual([]);

    feed.failWhen = () => false;
    expect(await fanout({ Records: [revokedToken('t1'), failing] })).toEqual({ batchItemFailures: [] });
    expect(feed.entries.map((e) => e.value)).toEqual(['t1', 't2']);
  });

  it('reports every record of an all-failed batch instead of throwing', async () => {
    const { fanout, feed } = setup();
    feed.failWhen = () => true;
    const records = [revokedToken('t1'), revokedToken('t2')];
    const response = await fanout({ Records: records });
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.dynamodb!.SequenceNumber));
  });

  it('a record from a table that is not a fan-out stream is discarded, naming the table', async () => {
    const { fanout, telemetry } = setup();
    const stray = streamRecord({ tableName: 'u-Revocations', eventName: 'INSERT', keys: { bucket: 'b' }, newImage: { bucket: 'b' } });
    const response = await fanout({ Records: [stray] });
    expect(response.batchItemFailures).toEqual([]);
    expect(telemetry.of('recordDiscarded')[0]?.error).toBe('UnknownStreamSource');
  });

  it('rejects an event that is not a stream batch', async () => {
    const { fanout } = setup();
    await expect(fanout({} as never)).rejects.toThrow(/Unexpected batch type|Records/i);
  });
});

describe('createFanout: authorizer cache flush', () => {
  it('flushes each configured stage once per batch with revocations, after the feed writes', async () => {
    const { fanout, flusher, telemetry } = setup();
    await fanout({ Records: [revokedToken('t1'), revokedToken('t2'), revokedClient('acme')] });
    expect(flusher.calls).toEqual(STAGES);
    const order = telemetry.events.map((e) => e.type);
    expect(order.lastIndexOf('appended')).toBeLessThan(order.indexOf('flushed'));
    expect(order.at(-1)).toBe('batchDone');
  });

  it('waits one authorizer poll interval after the last feed write before flushing', async () => {
    let clock = NOW_MS;
    const writtenAt: number[] = [];
    const writer: RevocationFeedWriter = {
      append: async () => {
        clock += 100;
        writtenAt.push(clock);
        return { outcome: 'written', bucket: 'b', seq: String(clock), writtenAtMs: clock, durableAtMs: clock };
      },
    };
    const { fanout, flusher, sleeps } = setup({ writer, now: () => clock, flushDelayMs: 1_000 });
    await fanout({ Records: [revokedToken('t1'), revokedToken('t2')] });
    // Last write at NOW+200, the clock reads NOW+200 at flush time: the whole delay is still to wait.
    expect(writtenAt).toEqual([NOW_MS + 100, NOW_MS + 200]);
    expect(sleeps).toEqual([1_000]);
    expect(flusher.calls).toHaveLength(STAGES.length);
  });

  it('counts the wait from when the write was durable, not from its sort-key stamp (a slow write moves the flush later)', async () => {
    let clock = NOW_MS;
    const writer: RevocationFeedWriter = {
      append: async () => {
        const writtenAtMs = clock;
        // DynamoDB takes 700 ms to acknowledge (throttling retries): readers cannot see the entry before then.
        clock += 700;
        return { outcome: 'written', bucket: 'b', seq: String(writtenAtMs), writtenAtMs, durableAtMs: clock };
      },
    };
    const flushedAt: number[] = [];
    const { fanout } = setup({
      writer,
      now: () => clock,
      flushDelayMs: 1_000,
      flusher: { flush: async () => void flushedAt.push(clock) },
      sleep: async (ms) => void (clock += ms),
    });
    await fanout({ Records: [revokedToken('t1')] });
    // Every decision cached after the flush was made on a view read at least one poll interval after the entry was durable.
    expect(flushedAt).toHaveLength(STAGES.length);
    for (const at of flushedAt) expect(at).toBeGreaterThanOrEqual(NOW_MS + 700 + 1_000);
  });

  it('does not wait longer than needed when the batch took time of its own', async () => {
    let clock = NOW_MS;
    const { fanout, sleeps } = setup({ now: () => (clock += 400), flushDelayMs: 1_000 });
    // MemoryFeed stamps writes at NOW_MS; the clock has moved on by the flush.
    await fanout({ Records: [revokedToken('t1')] });
    expect(sleeps[0]).toBe(NOW_MS + 1_000 - clock);
    expect(sleeps[0]).toBeLessThan(1_000);
  });

  it('does not flush for a batch without revocations', async () => {
    const { fanout, flusher } = setup();
    await fanout({ Records: [keyUsed('k1'), keyUsed('k2')] });
    await fanout({ Records: [] });
    expect(flusher.calls).toEqual([]);
  });

  it('does not flush when the only revocation failed to reach the feed', async () => {
    const { fanout, flusher, feed } = setup();
    feed.failWhen = () => true;
    await fanout({ Records: [revokedToken('t1')] });
    expect(flusher.calls).toEqual([]);
  });

  it('flushes for a replayed batch whose revocations were all duplicates', async () => {
    const { fanout, flusher, telemetry } = setup();
    await fanout({ Records: [revokedToken('t1')] });
    await fanout({ Records: [revokedToken('t1')] });
    expect(telemetry.of('appended').map((e) => e.outcome)).toEqual(['written', 'duplicate']);
    expect(flusher.calls).toHaveLength(2 * STAGES.length);
  });

  it('neither waits nor flushes when no stage is configured', async () => {
    const { fanout, flusher, feed, sleeps } = setup({ flushStages: [] });
    await fanout({ Records: [revokedToken('t1')] });
    expect(feed.entries).toHaveLength(1);
    expect(flusher.calls).toEqual([]);
    expect(sleeps).toEqual([]);
  });

  it('retries a failing flush with exponential backoff and succeeds', async () => {
    const { fanout, flusher, telemetry, sleeps } = setup({ flushStages: [STAGES[0]!], flushRetry: { attempts: 4, baseDelayMs: 100 } });
    flusher.failures.set('abc123/v1', 2);
    const response = await fanout({ Records: [revokedToken('t1')] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(flusher.calls).toHaveLength(3);
    expect(sleeps).toEqual([POLL_SETTLE_MS, 100, 200]);
    expect(telemetry.of('flushFailed').map((e) => [e.attempt, e.final])).toEqual([
      [1, false],
      [2, false],
    ]);
    expect(telemetry.of('flushed')).toEqual([{ type: 'flushed', stage: STAGES[0], attempts: 3 }]);
  });

  it('spreads retries with jitter', async () => {
    const { fanout, flusher, sleeps } = setup({ flushStages: [STAGES[0]!], jitter: () => 0.5 });
    flusher.failures.set('abc123/v1', 1);
    await fanout({ Records: [revokedToken('t1')] });
    expect(sleeps).toEqual([POLL_SETTLE_MS, 300]);
  });

  it('gives up after the bounded attempts, reports it, and still succeeds the records', async () => {
    const { fanout, flusher, feed, telemetry, sleeps } = setup();
    flusher.failures.set('abc123/v1', 99);
    const response = await fanout({ Records: [revokedToken('t1'), revokedClient('acme')] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(feed.entries).toHaveLength(2);
    expect(flusher.calls.filter((s) => s.restApiId === 'abc123')).toHaveLength(3);
    expect(sleeps).toEqual([POLL_SETTLE_MS, 200, 400]);
    expect(telemetry.of('flushFailed').map((e) => [e.stage.restApiId, e.attempt, e.final])).toEqual([
      ['abc123', 1, false],
      ['abc123', 2, false],
      ['abc123', 3, true],
    ]);
    // The other stage is flushed regardless.
    expect(telemetry.of('flushed')).toEqual([{ type: 'flushed', stage: STAGES[1], attempts: 1 }]);
  });
});
