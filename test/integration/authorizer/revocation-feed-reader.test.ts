import { describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { FeedAttr, feedPartition, feedPartitionsBetween, feedSortKey, RevocationKind } from '../../../common/revocation-feed';
import type { DynamoQueryClient } from '../../../lambda/adapters/dynamodb-query';
import { DynamoHttpClient } from '../../../lambda/adapters/dynamodb-http/client';
import { RevocationFeedReader } from '../../../lambda/adapters/revocation-feed-reader';
import { sdkQueryClient } from '../../../lambda/adapters/sdk-query-client';
import { LOCAL_AWS } from '../../../local/dynamodb';
import { dynamoEndpoint, freshTables, type TestTables } from '../../support/aws';
import { putFeedEntry } from './support';

/** The same reader over both Query clients: the authorizer's SigV4 HTTP client and the SDK's document client. */
const CLIENTS: readonly [string, (tables: TestTables) => DynamoQueryClient][] = [
  ['DynamoHttpClient', () => new DynamoHttpClient({ endpoint: new URL(dynamoEndpoint()), ...LOCAL_AWS })],
  ['the SDK document client', (tables) => sdkQueryClient(tables.doc)],
];

describe.each(CLIENTS)('RevocationFeedReader over %s (DynamoDB Local)', (_name, clientFor) => {
  it('reads entries newer than the cursor from every given partition, never marker items', async () => {
    const tables = await freshTables();
    const { doc, names } = tables;
    const now = Date.now();
    const hourAgo = now - 3600_000;
    // DynamoDB Local enforces TTL promptly, so an old entry needs a purgeAt still ahead.
    await putFeedEntry(doc, names.revocations, { kind: RevocationKind.Token, value: 'old', writtenAtMs: hourAgo, purgeAt: Math.floor(now / 1000) + 600 });
    await putFeedEntry(doc, names.revocations, { kind: RevocationKind.ApiKey, value: 'key_recent', writtenAtMs: now - 5000 });
    await putFeedEntry(doc, names.revocations, { kind: RevocationKind.Client, value: 'acme', writtenAtMs: now });
    const reader = new RevocationFeedReader(clientFor(tables), names.revocations);
    const partitions = feedPartitionsBetween(Math.floor(hourAgo / 1000), Math.floor(now / 1000));

    const all = await reader.read(partitions, feedSortKey(hourAgo - 1, ''));
    expect(all.map((r) => r.value).sort()).toEqual(['acme', 'key_recent', 'old']);
    expect(all.find((r) => r.value === 'acme')).toMatchObject({ kind: 'sub', revokedAtMs: now, purgeAt: Math.floor(now / 1000) + 3600 });

    const recent = await reader.read(partitions, feedSortKey(now - 10_000, ''));
    expect(recent.map((r) => r.value).sort()).toEqual(['acme', 'key_recent']);
    expect(await reader.read([feedPartition(Math.floor(now / 1000) + 7200, 0)], '')).toEqual([]);
    // An empty cursor means "from the start of the partition" (DynamoDB refuses `seq > ''`).
    expect((await reader.read(partitions, '')).length).toBe(3);
  });

  it('skips and counts items that are not entry-shaped', async () => {
    const tables = await freshTables();
    const { doc, names } = tables;
    const now = Date.now();
    const bucket = feedPartition(Math.floor(now / 1000), 0);
    const put = (seqSuffix: string, item: Record<string, unknown>) =>
      doc.send(new PutCommand({ TableName: names.revocations, Item: { [FeedAttr.bucket]: bucket, [FeedAttr.seq]: feedSortKey(now, seqSuffix), ...item } }));
    await put('a', { kind: 'jti', value: 'ok', revokedAtMs: now, purgeAt: Math.floor(now / 1000) + 60 });
    const later = Math.floor(now / 1000) + 600;
    await put('b', { kind: 'nonsense', value: 'x', purgeAt: later });
    await put('c', { kind: 'jti', value: '', purgeAt: later });
    await put('d', { kind: 'jti', value: 'no-purge' });
    let malformed = 0;
    const reader = new RevocationFeedReader(clientFor(tables), names.revocations, { onMalformed: (n) => (malformed += n) });
    expect((await reader.read([bucket], '')).map((r) => r.value)).toEqual(['ok']);
    expect(malformed).toBe(3);
  });

  it('fails (rather than returning nothing) when the table cannot be read', async () => {
    const reader = new RevocationFeedReader(clientFor(await freshTables()), 'no-such-table');
    await expect(reader.read([feedPartition(0, 0)], '')).rejects.toThrow(/non-existent table|not found|ResourceNotFound/i);
  });
});
