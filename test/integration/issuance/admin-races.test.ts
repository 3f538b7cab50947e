/**
 * The admin API's writes that race others, against DynamoDB Local: each outcome is decided
 * by the conditional write itself, not by a read made before it.
 */
import { describe, expect, it } from 'vitest';
import { DynamoApiKeyStore } from '../../../lambda/adapters/api-key-store';
import { DynamoClientStore } from '../../../lambda/adapters/client-store';
import { Admin, type AdminPorts } from '../../../lambda/core/admin/admin';
import type { AuditEvent } from '../../../lambda/core/shared/audit';
import { Conflict } from '../../../lambda/core/shared/issuance-errors';
import { adminCall } from '../../support/api-events';
import { body, captureLogs, harness, type Harness } from './harness';

captureLogs();

/** The admin core over the harness's tables, with the client store given (to order a race). */
function adminOver(h: Harness, clients: AdminPorts['clients'], audit: AuditEvent[]): Admin {
  const { doc, names } = h.tables;
  const unused = new Proxy({}, { get: (_, name) => () => Promise.reject(new Error(`${String(name)} is not part of this test`)) });
  return new Admin({
    apiKeys: new DynamoApiKeyStore(doc, { apiKeys: names.apiKeys, clients: names.clients }),
    clients,
    tokens: unused as AdminPorts['tokens'],
    ring: unused as AdminPorts['ring'],
    rotation: unused as AdminPorts['rotation'],
    usage: unused as AdminPorts['usage'],
    audit: { record: (event) => void audit.push(event), warn: () => undefined },
    now: () => h.nowSeconds() * 1000,
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
    const refused = await adminOver(h, racing, audit)
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
