/**
 * The operator's quota routes read the client and key records strongly consistently: they
 * read right after their own writes, and a lagging read would answer 404 for a record just
 * written (kept by the Idempotency-Key store for 24 h). The meters read eventually
 * consistently (half the cost). Command level: DynamoDB Local is always consistent.
 */
import { describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Functions } from '../../../common/functions';
import { Env } from '../../../common/names';
import { Tables } from '../../../common/tables';
import { createAdminHandler } from '../../../lambda/admin/app';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { adminCall } from '../../support/api-events';

interface Sent {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** Records each command; every record read exists and belongs to `acme`, every write succeeds. */
function recordingClient(sent: Sent[]): DynamoDBDocumentClient {
  return {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ command: command.constructor.name, input: command.input });
      if (command.constructor.name === 'GetCommand') return { Item: { clientId: 'acme', keyId: 'key_0123456789abcdef0123' } };
      if (command.constructor.name === 'QueryCommand') return { Items: [] };
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
}

const env: Record<string, string> = {
  ...Object.fromEntries(Object.keys(Functions.admin.tables).map((table) => [Tables[table as keyof typeof Tables].envVar, `t-${table}`])),
  [Env.rotationFunction]: 'rotation',
};
const keyId = 'key_0123456789abcdef0123';
const quota = { quota: { limit: 100, period: 'DAY' } };

describe('the quota routes of the operator API', () => {
  it.each([
    ['PUT', '/admin/keys/{keyId}/quota', { keyId }, quota],
    ['GET', '/admin/keys/{keyId}/quota', { keyId }, undefined],
    ['POST', '/admin/keys/{keyId}/resume', { keyId }, undefined],
    ['PUT', '/admin/clients/{clientId}/quota', { clientId: 'acme' }, quota],
    ['GET', '/admin/clients/{clientId}/quota', { clientId: 'acme' }, undefined],
    ['POST', '/admin/clients/{clientId}/resume', { clientId: 'acme' }, undefined],
    ['PUT', '/admin/clients/{clientId}/credits', { clientId: 'acme' }, { credits: { remaining: 5, refill: 5, period: 'DAY' } }],
  ])('%s %s reads the records strongly consistently', async (method, resource, pathParameters, body) => {
    const sent: Sent[] = [];
    const handle = createAdminHandler({ env, doc: recordingClient(sent), lambda: {} as LambdaClient, logger: new Logger({ logLevel: 'SILENT' }) });
    const response = await handle(adminCall(method, resource, pathParameters, body));
    expect(response.statusCode, response.body).toBe(200);
    const reads = sent.filter(
      (s) => s.command === 'GetCommand' && [env[Tables.clients.envVar], env[Tables.apiKeys.envVar]].includes(String(s.input.TableName)),
    );
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) expect(read.input).toMatchObject({ ConsistentRead: true });
  });

  it('while the meters (the store as the metering function builds it) read eventually consistently', async () => {
    const sent: Sent[] = [];
    const store = new DynamoUsageQuotaStore(recordingClient(sent), { clients: 'c', usage: 'u', apiKeys: 'k' });
    await store.state('acme');
    await store.keyState(keyId);
    await store.exists('acme');
    expect(sent).toHaveLength(3);
    for (const read of sent) expect(read.input.ConsistentRead).not.toBe(true);
  });
});
