import { describe, expect, it } from 'vitest';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLeakStore } from '../../../lambda/adapters/leak-store';

/** Records each command's input and answers a read with no item. */
function recordingClient(inputs: Record<string, unknown>[]): DynamoDBDocumentClient {
  return {
    send: async (command: { input: Record<string, unknown> }) => {
      inputs.push(command.input);
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
}

describe('DynamoLeakStore', () => {
  it('reads a reported key strongly consistently: a key created a moment before its report must not read as absent', async () => {
    const inputs: Record<string, unknown>[] = [];
    const store = new DynamoLeakStore(recordingClient(inputs), { apiKeys: 'keys', clients: 'clients' });
    await expect(store.apiKeys.get('key_0123456789abcdef0123')).resolves.toBeUndefined();
    expect(inputs).toEqual([expect.objectContaining({ TableName: 'keys', ConsistentRead: true })]);
  });
});
