import { describe, expect, it } from 'vitest';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { startStreamPoller } from '../../local/stream-poller';
import { dynamoEndpoint, freshTables } from '../support/aws';

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('local stream poller on DynamoDB Local', () => {
  // Regression: an iterator opened on an empty shard made every later read fail with
  // TrimmedDataAccessException, so local revocations never reached the fan-out.
  it('delivers records written after it started polling empty shards', async () => {
    const tables = await freshTables();
    const seen: string[] = [];
    const poller = await startStreamPoller({
      endpoint: dynamoEndpoint(),
      tableNames: tables.names,
      intervalMs: 50,
      handler: async (event: DynamoDBStreamEvent) => {
        for (const record of event.Records) seen.push(`${record.eventName}:${record.dynamodb?.Keys?.jti?.S}`);
        return { batchItemFailures: [] };
      },
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
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
      await until(() => seen.length >= 2);
      expect(seen).toEqual(['INSERT:late', 'MODIFY:late']);
    } finally {
      await poller.stop();
    }
  });
});
