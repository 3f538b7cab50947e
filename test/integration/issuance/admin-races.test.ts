/**
 * The admin API's writes that race others, against DynamoDB Local: each outcome is decided
 * by the conditional write itself, not by a read made before it.
 */
import { describe, expect, it } from 'vitest';
import { DynamoApiKeyStore } from '../../../lambda/adapters/api-key-store';
import { DynamoClientStore } from '../../../lambda/adapters/client-store';
import { Admin, type AdminPorts } from '../../../lambda/core/admin/admin';
import type { AuditEvent } from '../../../lambda/core/shared/audit';
import type { ApiKeyStore } from '../../../lambda/core/credentials/credentials';
import { Conflict, DependencyUnavailable, TemporarilyUnavailable } from '../../../lambda/core/shared/issuance-errors';
import { adminCall } from '../../support/api-events';
import { body, captureLogs, harness, type Harness } from './harness';

captureLogs();

/** The admin core over the harness's tables, with the stores given (to order a race or inject a fault). */
function adminOver(h: Harness, ports: Partial<AdminPorts>, audit: AuditEvent[] = []): Admin {
  const { doc, names } = h.tables;
  const unused = new Proxy({}, { get: (_, name) => () => Promise.reject(new Error(`${String(name)} is not part of this test`)) });
  return new Admin({
    apiKeys: new DynamoApiKeyStore(doc, { apiKeys: names.apiKeys, clients: names.clients }),
    clients: new DynamoClientStore(doc, names.clients),
    tokens: unused as AdminPorts['tokens'],
    ring: unused as AdminPorts['ring'],
    rotation: unused as AdminPorts['rotation'],
    usage: unused as AdminPorts['usage'],
    audit: { record: (event) => void audit.push(event), warn: () => undefined },
    now: () => h.nowSeconds() * 1000,
    ...ports,
  });
}

describe('rolling a key of a client revoked meanwhile', () => {
  it('the roll transaction checks the client: revoked after the key was read, no successor is written', async () => {
    const h = await harness({ seedKey: false });
    const { doc, names } = h.tables;
    const keys = new DynamoApiKeyStore(doc, { apiKeys: names.apiKeys, clients: names.clients });
    const { key } = await h.createKey('acme');
    const old = (await keys.get(String(key.keyId)))!;
    // Only the client record: the keys are revoked by the revocation's clean-up, after.
    expect(await new DynamoClientStore(doc, names.clients).revoke('acme', h.nowSeconds())).toBe('revoked');
    const before = await h.items('apiKeys');
    const successor = { ...old, keyId: 'key_00000000000000000001', keyHash: '0'.repeat(64), rolledFrom: old.keyId };
    expect(await keys.roll(successor, old, h.nowSeconds() + 60)).toBe('client_revoked');
    expect(await h.items('apiKeys')).toEqual(before);
  });

  it('is refused 409 client_revoked, as a roll for a client read as revoked is, when the revocation lands between the read and the roll', async () => {
    const h = await harness({ seedKey: false });
    const { doc, names } = h.tables;
    const { key } = await h.createKey('acme');
    const store = new DynamoClientStore(doc, names.clients);
    // The operator's read sees the client active; the revocation lands right after it.
    const racing: AdminPorts['clients'] = {
      get: async (clientId) => {
        const client = await store.get(clientId);
        await store.revoke(clientId, h.nowSeconds());
        return client;
      },
      revoke: (clientId, now) => store.revoke(clientId, now),
    };
    const audit: AuditEvent[] = [];
    const before = await h.items('apiKeys');
    const refused = await adminOver(h, { clients: racing }, audit)
      .rollKey(String(key.keyId), {})
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Conflict);
    expect(refused).toMatchObject({ code: 'client_revoked' });
    expect(audit).toEqual([expect.objectContaining({ action: 'key.roll', outcome: 'failure', reason: 'client_revoked', keyId: key.keyId })]);
    expect(await h.items('apiKeys')).toEqual(before);
    // And the same answer through the API, now that the read sees it revoked too.
    expect(body(await h.admin(adminCall('POST', '/admin/keys/{keyId}/roll', { keyId: String(key.keyId) }))).error).toBe('client_revoked');
  });
});

describe('revoking a client whose clean-up fails', () => {
  const throttled = () => new DependencyUnavailable('dynamodb', 'throttled', 4, 'ThrottlingException');

  /** The harness's key store, with `fail(operation, keyId)` deciding which calls throw (throttled) instead. */
  function faultyKeys(h: Harness, fail: (operation: 'revoke' | 'list', keyId?: string) => boolean): ApiKeyStore {
    const { doc, names } = h.tables;
    const store = new DynamoApiKeyStore(doc, { apiKeys: names.apiKeys, clients: names.clients });
    return Object.assign(Object.create(store) as ApiKeyStore, {
      revoke: (keyId: string, now: number) => (fail('revoke', keyId) ? Promise.reject(throttled()) : store.revoke(keyId, now)),
      listByClient: (...args: Parameters<ApiKeyStore['listByClient']>) => (fail('list') ? Promise.reject(throttled()) : store.listByClient(...args)),
    });
  }

  const statuses = async (h: Harness) => (await h.items('apiKeys')).map((item) => item.status);
  const usage = { afterClientRevoked: async () => undefined } as unknown as AdminPorts['usage'];

  it('answers 503 with Retry-After when a key could not be marked revoked, and the retry (the client already revoked) finishes it', async () => {
    const h = await harness({ seedKey: false });
    const { key: stuck } = await h.createKey('acme');
    await h.createKey('acme');
    const failing = adminOver(h, { apiKeys: faultyKeys(h, (operation, keyId) => operation === 'revoke' && keyId === stuck.keyId), usage });

    const unfinished = await failing.revokeClient('acme', undefined).catch((e: unknown) => e);
    expect(unfinished).toBeInstanceOf(TemporarilyUnavailable);
    expect(unfinished).toMatchObject({ code: 'temporarily_unavailable', retryAfterSeconds: 4 });
    // The revocation itself stands, and every other key was marked.
    expect((await h.items('clients'))[0]).toMatchObject({ status: 'revoked' });
    expect((await statuses(h)).sort()).toEqual(['active', 'revoked']);

    await adminOver(h, { usage }).revokeClient('acme', undefined);
    expect(await statuses(h)).toEqual(['revoked', 'revoked']);
  });

  it('answers 503 when its keys could not be listed, and the retry finishes the clean-up', async () => {
    const h = await harness({ seedKey: false });
    await h.createKey('acme');
    const unfinished = await adminOver(h, { apiKeys: faultyKeys(h, (operation) => operation === 'list'), usage })
      .revokeClient('acme', undefined)
      .catch((e: unknown) => e);
    expect(unfinished).toBeInstanceOf(TemporarilyUnavailable);
    expect(await statuses(h)).toEqual(['active']);
    await adminOver(h, { usage }).revokeClient('acme', undefined);
    expect(await statuses(h)).toEqual(['revoked']);
  });
});
