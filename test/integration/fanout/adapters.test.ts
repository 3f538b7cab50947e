import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { EndpointEnv } from '../../../common/names';
import { FeedAttr, feedMarkerPartition, feedSortKeyTime, RevocationKind, type RevocationEntry } from '../../../common/revocation-feed';
import { apiGatewayClient } from '../../../lambda/adapters/clients/api-gateway';
import { ApiGatewayAuthorizerCacheFlusher } from '../../../lambda/adapters/authorizer-cache-flusher';
import { DynamoRevocationFeedWriter, FEED_MARKER_ENTRY, FEED_MARKER_SEQ } from '../../../lambda/adapters/revocation-feed-writer';
import { RevocationFeedReader } from '../../../lambda/adapters/revocation-feed-reader';
import { sdkQueryClient } from '../../../lambda/adapters/sdk-query-client';
import { revocationFromRecord } from '../../../lambda/core/revocation/revocation-events';
import { RevocationView } from '../../../lambda/core/revocation/revocation-view';
import { freshTables, type TestTables } from '../../support/aws';
import { startHttpStub, type HttpStub, type StubResponse } from '../../support/http-stub';
import { streamRecord, type PlainImage } from '../../support/stream-records';

/**
 * An hour boundary a day ahead: feed entries purge by TTL minutes after `T0` and DynamoDB Local
 * really deletes them, so a fixed instant would, once it had passed, lose entries mid-test.
 */
const T0 = (Math.floor(Date.now() / 3_600_000) + 24) * 3_600_000;

describe('DynamoRevocationFeedWriter on DynamoDB Local', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await freshTables();
  });

  const entry = (value: string): RevocationEntry => ({ kind: RevocationKind.Token, value, revokedAtMs: T0 - 700, purgeAt: T0 / 1000 + 930 });
  /** The feed entries of one bucket holding `value`. */
  const entriesOf = async (bucket: string, value: string) => {
    const { Items } = await tables.doc.send(
      new QueryCommand({
        TableName: tables.names.revocations,
        KeyConditionExpression: '#b = :b',
        FilterExpression: '#v = :v',
        ExpressionAttributeNames: { '#b': FeedAttr.bucket, '#v': FeedAttr.value },
        ExpressionAttributeValues: { ':b': bucket, ':v': value },
      }),
    );
    return Items ?? [];
  };

  it('writes the entry under its write-time bucket and sort key, and a marker pointing at it', async () => {
    const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => T0 + 42);
    const result = await writer.append(entry('jti-1'));
    expect(result).toMatchObject({ outcome: 'written', writtenAtMs: T0 + 42 });
    if (result.outcome !== 'written') throw new Error('unreachable');
    expect(result.bucket).toBe(`${Math.floor((T0 + 42) / 1000 / 3600) * 3600}#0`);
    expect(feedSortKeyTime(result.seq)).toBe(T0 + 42);

    const { Items } = await tables.doc.send(
      new QueryCommand({
        TableName: tables.names.revocations,
        KeyConditionExpression: '#b = :b',
        ExpressionAttributeNames: { '#b': FeedAttr.bucket },
        ExpressionAttributeValues: { ':b': result.bucket },
      }),
    );
    expect(Items).toEqual([{ bucket: result.bucket, seq: result.seq, kind: 'jti', value: 'jti-1', revokedAtMs: T0 - 700, purgeAt: T0 / 1000 + 930 }]);

    const marker = await tables.doc.send(
      new GetCommand({
        TableName: tables.names.revocations,
        Key: { [FeedAttr.bucket]: feedMarkerPartition(RevocationKind.Token, 'jti-1'), [FeedAttr.seq]: FEED_MARKER_SEQ },
      }),
    );
    expect(marker.Item).toMatchObject({ [FeedAttr.purgeAt]: T0 / 1000 + 930, [FEED_MARKER_ENTRY]: `${result.bucket}/${result.seq}` });
  });

  it('reports when the write was durable: the clock read after DynamoDB acknowledged it, not the sort-key stamp', async () => {
    let now = T0;
    // Each clock reading is 300 ms after the previous one: the transaction happens between the two readings.
    const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => (now += 300));
    const result = await writer.append(entry('jti-durable'));
    expect(result).toMatchObject({ outcome: 'written', writtenAtMs: T0 + 300, durableAtMs: T0 + 600 });
    const again = await writer.append(entry('jti-durable'));
    expect(again.outcome).toBe('duplicate');
    expect(again.durableAtMs).toBeGreaterThan(again.writtenAtMs);
  });

  it('writes no second entry for a revocation already in the feed, even much later (it moves the one entry to a fresh sort key)', async () => {
    let now = T0;
    const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => now);
    expect((await writer.append(entry('jti-2'))).outcome).toBe('written');
    now += 90_000;
    expect(await writer.append(entry('jti-2'))).toEqual({ outcome: 'duplicate', writtenAtMs: T0 + 90_000, durableAtMs: T0 + 90_000 });
    expect(await entriesOf(`${Math.floor(T0 / 1000 / 3600) * 3600}#0`, 'jti-2')).toHaveLength(1);
  });

  it("re-stamps an entry whose write took longer than half the readers' look-back: still one entry, the marker follows it", async () => {
    // The clock moves 3 s while the first write is in flight (throttling retries, a slow connection).
    const times = [T0, T0 + 3000, T0 + 3000, T0 + 3010];
    const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => times.shift() ?? T0 + 3010);
    const result = await writer.append(entry('jti-late'));
    expect(result).toMatchObject({ outcome: 'written', writtenAtMs: T0 + 3000 });
    if (result.outcome !== 'written') throw new Error('unreachable');
    expect(feedSortKeyTime(result.seq)).toBe(T0 + 3000);
    expect((await entriesOf(result.bucket, 'jti-late')).map((item) => item[FeedAttr.seq])).toEqual([result.seq]);
    const marker = await tables.doc.send(
      new GetCommand({
        TableName: tables.names.revocations,
        Key: { [FeedAttr.bucket]: feedMarkerPartition(RevocationKind.Token, 'jti-late'), [FeedAttr.seq]: FEED_MARKER_SEQ },
      }),
    );
    expect(marker.Item?.[FEED_MARKER_ENTRY]).toBe(`${result.bucket}/${result.seq}`);
    // A later delivery of the same revocation is still a duplicate.
    expect((await writer.append(entry('jti-late'))).outcome).toBe('duplicate');
  });

  /** A client's and an API key's suspension, each with how a view answers for it. */
  const suspendable = (clientId: string, keyId: string) =>
    [
      ['a client (sus)', 'clients', { clientId, status: 'active' }, (view: RevocationView, nowMs: number) => view.suspension(clientId, 'key_other', nowMs)],
      ['an API key (ksus)', 'apiKeys', { keyId, clientId, status: 'active' }, (view: RevocationView, nowMs: number) => view.suspension('other', keyId, nowMs)],
    ] as const;

  /** The usage store's suspension writes on one record, each as the stream delivers it, through the fan-out's own decision. */
  const suspensionChanges = (table: 'clients' | 'apiKeys', active: PlainImage) => {
    let current = active;
    return (atMs: number, until: number, reason: string) => {
      const next = { ...current, suspendedUntil: until, suspendedReason: reason, suspendedAtMs: atMs };
      const record = streamRecord({ tableName: tables.names[table], eventName: 'MODIFY', keys: {}, oldImage: current, newImage: next });
      current = next;
      const entry = revocationFromRecord(record, tables.names, { nowMs: atMs, clockSkewSeconds: 30 });
      if (entry === undefined) throw new Error('the fan-out found no suspension change');
      return entry;
    };
  };

  /** A view of the table as an authorizer's, on the clock `now`. */
  const feedView = (now: () => number) =>
    new RevocationView({
      source: new RevocationFeedReader(sdkQueryClient(tables.doc), tables.names.revocations),
      pollIntervalMs: 500,
      maxStalenessMs: 30_000,
      windowSeconds: 3600 + 30 + 300,
      now,
    });

  /** A view cold-started at `nowMs`. */
  const coldView = async (nowMs: number) => {
    const view = feedView(() => nowMs);
    await view.refresh(nowMs);
    return view;
  };

  it.each(suspendable('acme', 'key_0123456789abcdef0123'))(
    'writes a re-suspension of %s that repeats one lifted before it, and a view reads it as the suspension in force',
    async (_name, table, active, suspensionOf) => {
      const periodEnd = T0 / 1000 + 86_400;
      const change = suspensionChanges(table, active);
      let now = T0 + 200_000;
      const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => now);
      const suspended = change(now - 10, periodEnd, 'quota_exceeded');
      expect((await writer.append(suspended)).outcome).toBe('written');
      now += 60_000;
      const lifted = change(now - 10, Math.floor((now - 10) / 1000), 'resumed');
      expect((await writer.append(lifted)).outcome).toBe('written');
      now += 60_000;
      // The quota check finds the same period used up again: the same end, the same reason.
      const again = change(now - 10, periodEnd, 'quota_exceeded');
      expect((await writer.append(again)).outcome).toBe('written');
      // The stream delivering that record a second time is still a duplicate.
      now += 1000;
      expect((await writer.append(again)).outcome).toBe('duplicate');

      expect(suspensionOf(await coldView(now), now)).toMatchObject({ untilMs: periodEnd * 1000, reason: 'quota_exceeded' });
      now += 60_000;
      expect((await writer.append(change(now - 10, Math.floor((now - 10) / 1000), 'resumed'))).outcome).toBe('written');
      now += 1000;
      expect(suspensionOf(await coldView(now), now)).toBeUndefined();
    },
  );

  it.each(suspendable('longterm', 'key_00000000000000000099'))(
    'keeps a month-long suspension of %s where a cold start hours later reads it, and its lifting too',
    async (_name, table, active, suspensionOf) => {
      const monthEnd = T0 / 1000 + 30 * 86_400;
      const change = suspensionChanges(table, active);
      let now = T0 + 400_000;
      const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => now);
      expect((await writer.append(change(now - 10, monthEnd, 'quota_exceeded'))).outcome).toBe('written');
      // Two hours on, the entry's hour bucket is outside every cold start's window; the suspension holds for a month.
      now += 2 * 3_600_000;
      expect(suspensionOf(await coldView(now), now)).toMatchObject({ untilMs: monthEnd * 1000, reason: 'quota_exceeded' });
      expect((await writer.append(change(now - 10, Math.floor((now - 10) / 1000), 'resumed'))).outcome).toBe('written');
      now += 2 * 3_600_000;
      expect(suspensionOf(await coldView(now), now)).toBeUndefined();
    },
  );

  it('makes a late write whose re-stamp failed reach warm readers when the record is delivered again', async () => {
    let now = T0 + 600_000;
    const start = now;
    const view = feedView(() => now);
    await view.refresh(now);
    let sends = 0;
    // The first transaction commits 5.6 s after its stamp (SDK throttling retries) while the warm
    // view keeps polling; the re-stamp is then throttled too, so the record fails.
    const doc = {
      send: async (command: Parameters<typeof tables.doc.send>[0]) => {
        sends += 1;
        if (sends === 1) {
          for (let t = 500; t <= 5500; t += 500) {
            now = start + t;
            await view.refresh(now);
          }
          now = start + 5600;
        }
        if (sends === 2) throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
        return tables.doc.send(command);
      },
    } as unknown as typeof tables.doc;
    const writer = new DynamoRevocationFeedWriter(doc, tables.names.revocations, () => now);
    const revocation = { kind: RevocationKind.ApiKey, value: 'key_00000000000000000077', revokedAtMs: start, purgeAt: start / 1000 + 3630 };
    await expect(writer.append(revocation)).rejects.toThrow(/capacity/);
    now = start + 6000;
    await view.refresh(now);
    expect(view.isRevoked('j', revocation.value, 'c', 'k')).toBe(false);
    // Lambda delivers the record again: still a duplicate, and the entry now where warm readers look.
    expect((await writer.append(revocation)).outcome).toBe('duplicate');
    now += 500;
    await view.refresh(now);
    expect(view.isRevoked('j', revocation.value, 'c', 'k')).toBe(true);
    // A third delivery right after moves nothing: the entry is fresh.
    const marker = async () =>
      (
        await tables.doc.send(
          new GetCommand({
            TableName: tables.names.revocations,
            Key: { [FeedAttr.bucket]: feedMarkerPartition(RevocationKind.ApiKey, revocation.value), [FeedAttr.seq]: FEED_MARKER_SEQ },
          }),
        )
      ).Item?.[FEED_MARKER_ENTRY];
    const pointer = await marker();
    expect((await writer.append(revocation)).outcome).toBe('duplicate');
    expect(await marker()).toBe(pointer);
  });

  it('keeps the same value of different kinds apart', async () => {
    const writer = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations, () => T0);
    expect((await writer.append({ ...entry('shared'), kind: RevocationKind.Client })).outcome).toBe('written');
    expect((await writer.append({ ...entry('shared'), kind: RevocationKind.ApiKey })).outcome).toBe('written');
  });

  it('fails loudly on any other error, writing nothing', async () => {
    const writer = new DynamoRevocationFeedWriter(tables.doc, `${tables.names.revocations}-missing`, () => T0);
    await expect(writer.append(entry('jti-3'))).rejects.toThrow(/ResourceNotFound|non-existent table|not found/i);
  });
});

describe('ApiGatewayAuthorizerCacheFlusher over HTTP', () => {
  let stub: HttpStub;
  let respond: () => StubResponse = () => ({ status: 202 });
  let client: APIGatewayClient;
  beforeAll(async () => {
    stub = await startHttpStub(() => respond());
    client = apiGatewayClient({ [EndpointEnv.apigateway]: stub.url });
  });
  afterAll(async () => {
    client.destroy();
    await stub.close();
  });

  it('sends FlushStageAuthorizersCache as DELETE /restapis/{id}/stages/{stage}/cache/authorizers', async () => {
    await new ApiGatewayAuthorizerCacheFlusher(client).flush({ restApiId: 'a1b2c3d4e5', stageName: 'v1' });
    expect(stub.requests.map((r) => `${r.method} ${r.pathname}`)).toEqual(['DELETE /restapis/a1b2c3d4e5/stages/v1/cache/authorizers']);
  });

  it("rejects with API Gateway's error when the stage does not exist", async () => {
    respond = () => ({ status: 404, headers: { 'x-amzn-ErrorType': 'NotFoundException' }, body: { message: 'Invalid stage identifier specified' } });
    await expect(new ApiGatewayAuthorizerCacheFlusher(client).flush({ restApiId: 'a1b2c3d4e5', stageName: 'nope' })).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });
});
