/**
 * Issue #15 point 3: admin mutations with an `Idempotency-Key`, against DynamoDB Local over
 * real HTTP, with a fault proxy that lets a write land and loses its answer (the ambiguous
 * case): the retry gets the original result and the mutation happened exactly once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { EndpointEnv } from '../../../common/names';
import { adminCall } from '../../support/api-events';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { dynamoEndpoint } from '../../support/aws';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';
import { body, captureLogs, harness, secrets, type Harness } from './harness';

captureLogs();

const KEYS = '/admin/clients/{clientId}/keys';

let dynamo: FaultProxy;
beforeAll(async () => {
  dynamo = await startFaultProxy(dynamoEndpoint());
});
afterEach(() => dynamo.pass());
afterAll(() => dynamo.close());

function proxied(): Promise<Harness> {
  return harness({ extraEnv: { [EndpointEnv.dynamodb]: dynamo.endpoint } });
}

/** Sends a roll whose transaction's answer is lost (503), then the same request again: the successor the retry returns. */
async function rollLostThenRetried(h: Harness, roll: APIGatewayProxyEvent): Promise<{ apiKey: string; key: { keyId: string } }> {
  dynamo.lose({ only: ['TransactWriteItems'] });
  expect((await h.admin(roll)).statusCode).toBe(503);
  await dynamo.pass();
  h.advance(5);
  const retried = await h.admin(roll);
  expect(retried.statusCode, retried.body).toBe(201);
  const successor = body(retried) as { apiKey: string; key: { keyId: string } };
  secrets.add(successor.apiKey);
  return successor;
}

function withKey(event: APIGatewayProxyEvent, key: string): APIGatewayProxyEvent {
  return { ...event, headers: { ...event.headers, 'Idempotency-Key': key }, multiValueHeaders: { ...event.multiValueHeaders, 'Idempotency-Key': [key] } };
}

describe('Idempotency-Key', () => {
  it('a repeated create returns the original key (secret included) and creates nothing more', async () => {
    const h = await proxied();
    const key = randomUUID();
    const create = withKey(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['orders:read'] }), key);
    const first = await h.admin(create);
    expect(first.statusCode, first.body).toBe(201);
    secrets.add(String(body(first).apiKey));
    h.advance(30);
    const again = await h.admin(create);
    expect(again.statusCode).toBe(201);
    expect(body(again)).toEqual(body(first));
    expect(again.headers?.['Idempotent-Replayed']).toBe('true');
    expect(await h.items('apiKeys')).toHaveLength(1);

    // The table holds neither the secret nor the Idempotency-Key.
    const stored = JSON.stringify(await h.items('idempotency'));
    expect(stored).not.toContain(String(body(first).apiKey));
    expect(stored).not.toContain(key);
  });

  it('the same key for a different request is refused with 422 and changes nothing', async () => {
    const h = await proxied();
    const key = randomUUID();
    expect((await h.admin(withKey(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'] }), key))).statusCode).toBe(201);
    for (const other of [
      adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['b'] }),
      adminCall('POST', KEYS, { clientId: 'other' }, { scopes: ['a'] }),
      adminCall('DELETE', '/admin/clients/{clientId}', { clientId: 'acme' }),
    ]) {
      const refused = await h.admin(withKey(other, key));
      expect(refused.statusCode, refused.body).toBe(422);
      expect(body(refused)).toMatchObject({ error: 'idempotency_key_reused' });
    }
    expect(await h.items('apiKeys')).toHaveLength(1);
    expect(await h.items('clients')).toMatchObject([{ clientId: 'acme', status: 'active' }]);
  });

  it('a claim whose answer was lost and retried by the SDK is recognised as our own, not as a request in progress', async () => {
    const h = await proxied();
    dynamo.lose({ only: ['PutItem'], times: 1 });
    const created = await h.admin(withKey(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'] }), randomUUID()));
    expect(created.statusCode, created.body).toBe(201);
    secrets.add(String(body(created).apiKey));
    expect(await h.items('apiKeys')).toHaveLength(1);
  });

  it('refuses a malformed key with 400 before doing anything', async () => {
    const h = await proxied();
    for (const bad of ['short', 'x'.repeat(256), 'has spaces in it, sixteen+']) {
      const refused = await h.admin(withKey(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'] }), bad));
      expect(refused.statusCode).toBe(400);
      expect(body(refused)).toMatchObject({ error: 'invalid_request' });
    }
    expect(await h.items('apiKeys')).toEqual([]);
  });

  it('a create whose answer was lost (503) and is retried with the same key creates exactly one key, and returns it', async () => {
    const h = await proxied();
    const key = randomUUID();
    const create = withKey(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['orders:read'] }), key);
    dynamo.lose({ only: ['TransactWriteItems'] });
    const lost = await h.admin(create);
    expect(lost.statusCode, lost.body).toBe(503);
    expect(lost.headers?.['Retry-After']).toMatch(/^\d+$/);
    expect(await h.items('apiKeys')).toHaveLength(1);

    await dynamo.pass();
    h.advance(5);
    const retried = await h.admin(create);
    expect(retried.statusCode, retried.body).toBe(201);
    const created = body(retried) as { apiKey: string; key: { keyId: string } };
    secrets.add(created.apiKey);
    const items = await h.items('apiKeys');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ keyId: created.key.keyId });
    // The secret the retry returned is the key that was written: it authenticates.
    expect((await h.exchange('acme', created.apiKey)).statusCode).toBe(200);
  });

  it('a roll whose answer was lost is completed by the retry: one successor, the one returned', async () => {
    const h = await proxied();
    const { key: old } = await h.createKey('acme');
    const roll = withKey(adminCall('POST', '/admin/keys/{keyId}/roll', { keyId: String(old.keyId) }, {}), randomUUID());
    const successor = await rollLostThenRetried(h, roll);
    const items = await h.items('apiKeys');
    expect(items).toHaveLength(2);
    expect(items.find((item) => item.keyId === old.keyId)).toMatchObject({ rolledTo: successor.key.keyId });
    expect((await h.exchange('acme', successor.apiKey)).statusCode).toBe(200);
  });

  it('a retried roll of a suspended key with a quota returns the one successor, which carries the quota and the suspension', async () => {
    const h = await proxied();
    const { key: old } = await h.createKey('acme');
    const oldId = String(old.keyId);
    const { doc, names } = h.tables;
    const store = new DynamoUsageQuotaStore(doc, { clients: names.clients, usage: names.usage, apiKeys: names.apiKeys });
    expect(await store.setKeyQuota(oldId, { limit: 20, period: 'DAY' })).toBe('written');
    const until = h.nowSeconds() + 3600;
    expect(await store.suspendKey(oldId, until, h.nowSeconds() * 1000)).toBe(true);
    const roll = withKey(adminCall('POST', '/admin/keys/{keyId}/roll', { keyId: oldId }, {}), randomUUID());
    const successor = await rollLostThenRetried(h, roll);
    h.advance(5);
    const replayed = await h.admin(roll);
    expect(replayed.statusCode, replayed.body).toBe(201);
    expect(body(replayed)).toEqual(successor);
    const items = await h.items('apiKeys');
    expect(items).toHaveLength(2);
    expect(items.find((item) => item.keyId === oldId)).toMatchObject({ rolledTo: successor.key.keyId });
    expect(items.find((item) => item.keyId === successor.key.keyId)).toMatchObject({
      meteredQuota: { limit: 20, period: 'DAY' },
      suspendedUntil: until,
      suspendedReason: 'quota_exceeded',
    });
  });

  it('a revocation refused during an outage succeeds when retried, and revoking again answers success', async () => {
    const h = await proxied();
    const { key } = await h.createKey('acme');
    const revoke = withKey(adminCall('DELETE', '/admin/keys/{keyId}', { keyId: String(key.keyId) }), randomUUID());
    dynamo.fail('ProvisionedThroughputExceededException');
    expect((await h.admin(revoke)).statusCode).toBe(503);
    await dynamo.pass();
    expect((await h.admin(revoke)).statusCode).toBe(204);
    expect(await h.items('apiKeys')).toMatchObject([{ status: 'revoked' }]);
    // Without a key, and with a new one: an already revoked key is a success, not an error.
    expect((await h.admin(adminCall('DELETE', '/admin/keys/{keyId}', { keyId: String(key.keyId) }))).statusCode).toBe(204);
    expect((await h.admin(withKey(adminCall('DELETE', '/admin/keys/{keyId}', { keyId: String(key.keyId) }), randomUUID()))).statusCode).toBe(204);
  });

  it('a retry while the first request still holds the key gets 409 idempotency_key_in_use with Retry-After', async () => {
    const h = await proxied();
    const key = randomUUID();
    const create = withKey(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'] }), key);
    // The first request claims the key, then its write hangs: it holds the claim until its budget is spent.
    dynamo.hang({ only: ['TransactWriteItems'] });
    const writesBefore = dynamo.seen.get('TransactWriteItems') ?? 0;
    const first = h.admin(create);
    while ((dynamo.seen.get('TransactWriteItems') ?? 0) === writesBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    const concurrent = await h.admin(create);
    expect(concurrent.statusCode, concurrent.body).toBe(409);
    expect(body(concurrent)).toMatchObject({ error: 'idempotency_key_in_use' });
    expect(concurrent.headers?.['Retry-After']).toMatch(/^[1-9]\d*$/);
    expect((await first).statusCode).toBe(503);

    // Once the claim has lapsed (budget + margin), the retry takes it over and does the work, once.
    await dynamo.pass();
    h.advance(5);
    const done = await h.admin(create);
    expect(done.statusCode, done.body).toBe(201);
    secrets.add(String(body(done).apiKey));
    expect(await h.items('apiKeys')).toHaveLength(1);
  });
});
