import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { EndpointEnv } from '../../../common/names';
import { FeedAttr, feedMarkerPartition, feedSortKeyTime, RevocationKind, type RevocationEntry } from '../../../common/revocation-feed';
import { apiGatewayClient } from '../../../lambda/adapters/clients/api-gateway';
import { ApiGatewayAuthorizerCacheFlusher } from '../../../lambda/adapters/authorizer-cache-flusher';
import { DynamoRevocationFeedWriter, FEED_MARKER_ENTRY, FEED_MARKER_SEQ } from '../../../lambda/adapters/revocation-feed-writer';
import { freshTables, type TestTables } from '../../support/aws';
import { startHttpStub, type HttpStub, type StubResponse } from '../../support/http-stub';

const T0 = 1_800_000_000_000;

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

  it('writes nothing for a revocation already in the feed, even much later', async () => {
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
