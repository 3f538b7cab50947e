import { describe, expect, it } from 'vitest';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { Functions } from '../../common/functions';
import { startStreamPoller } from '../../local/stream-poller';
import { dynamoEndpoint, freshTables } from '../support/aws';
import { startHttpStub, type HttpStub } from '../support/http-stub';

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'accept-encoding']);

/**
 * DynamoDB Local behind a pass-through that counts GetRecords answers with no records, so
 * the test knows the poller has read its empty shards rather than guessing with a sleep.
 */
async function countingEmptyReads(target: string): Promise<{ readonly proxy: HttpStub; emptyReads(): number }> {
  let empty = 0;
  const proxy = await startHttpStub(async (request) => {
    const headers = Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !HOP_BY_HOP.has(entry[0]));
    const upstream = await fetch(`${target}${request.url}`, { method: request.method, headers, body: request.method === 'GET' ? undefined : request.body });
    const body = await upstream.text();
    if (String(request.headers['x-amz-target']).endsWith('.GetRecords') && upstream.ok && (JSON.parse(body) as { Records?: unknown[] }).Records?.length === 0)
      empty += 1;
    const passed = [...upstream.headers].filter(([name]) => !HOP_BY_HOP.has(name) && name !== 'content-encoding');
    return { status: upstream.status, headers: Object.fromEntries(passed), body };
  });
  return { proxy, emptyReads: () => empty };
}

describe('local stream poller on DynamoDB Local', () => {
  // Regression: an iterator opened on an empty shard made every later read fail with
  // TrimmedDataAccessException, so local revocations never reached the fan-out.
  it('delivers records written after it started polling empty shards', async () => {
    const tables = await freshTables();
    const seen: string[] = [];
    const { proxy, emptyReads } = await countingEmptyReads(dynamoEndpoint());
    try {
      const poller = await startStreamPoller({
        endpoint: proxy.url,
        tableNames: tables.names,
        intervalMs: 50,
        handler: async (event: DynamoDBStreamEvent) => {
          for (const record of event.Records) seen.push(`${record.eventName}:${record.dynamodb?.Keys?.jti?.S}`);
          return { batchItemFailures: [] };
        },
      });
      try {
        // Each stream table's shard read at least once while still empty: the state the bug broke.
        await until(() => emptyReads() >= Functions.fanout.streams!.length, 'the poller to read its empty shards');
        await tables.doc.send(new PutCommand({ TableName: tables.names.tokens, Item: { jti: 'late', status: 'active' } }));
        await tables.doc.send(
          new UpdateCommand({
            TableName: tables.names.tokens,
            Key: { jti: 'late' },
            UpdateExpression: 'SET #s = :revoked',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':revoked': 'revoked' },
          }),
        );
        await until(() => seen.length >= 2, 'both records of the token to be delivered');
        expect(seen).toEqual(['INSERT:late', 'MODIFY:late']);
      } finally {
        await poller.stop();
      }
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
