import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { Defaults, Limits } from '../../../common/defaults';
import { ACTIVE_PARTITION } from '../../../common/credential-items';
import { DynamoApiKeyStore } from '../../../lambda/adapters/api-key-store';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { adminCall, apiEvent } from '../../support/api-events';
import { body, captureLogs, harness, ROTATION_FUNCTION, startLambdaStub, type Harness, type LambdaStub } from './harness';

captureLogs();

const KEYS = '/admin/clients/{clientId}/keys';
const KEY = '/admin/keys/{keyId}';
const SUSPENSION_FIELDS = ['suspendedUntil', 'suspendedReason', 'suspendedAtMs'] as const;

/** Per-key quotas and suspensions written as the metering function writes them. */
function quotaStore(h: Harness) {
  const { doc, names } = h.tables;
  return new DynamoUsageQuotaStore(doc, { clients: names.clients, usage: names.usage, apiKeys: names.apiKeys });
}

function expectError(response: APIGatewayProxyResult, status: number, error: string, description?: RegExp) {
  expect(response.statusCode, response.body).toBe(status);
  expect(body(response)).toEqual({ error, error_description: expect.any(String) });
  if (description) expect(String(body(response).error_description)).toMatch(description);
}

async function snapshot(h: Harness) {
  return { apiKeys: await h.items('apiKeys'), clients: await h.items('clients'), tokens: await h.items('tokens') };
}

describe('POST /admin/clients/{clientId}/keys', () => {
  it('creates the key (secret once) and the client record on first key, with the hygiene-index attributes', async () => {
    const h = await harness({ seedKey: false });
    const response = await h.admin(
      adminCall(
        'POST',
        KEYS,
        { clientId: 'acme' },
        { scopes: ['orders:read', 'orders:read', 'x'], expiresInDays: 30, description: 'ci', metadata: { team: 'payments', tier: 2, prod: true } },
      ),
    );
    expect(response.statusCode, response.body).toBe(201);
    const created = body(response) as { apiKey: string; key: Record<string, unknown> };
    const now = h.nowSeconds();
    expect(created.key).toEqual({
      keyId: expect.stringMatching(/^key_[0-9a-f]{20}$/),
      clientId: 'acme',
      scopes: ['orders:read', 'x'],
      status: 'active',
      description: 'ci',
      metadata: { team: 'payments', tier: 2, prod: true },
      createdAt: now,
      expiresAt: now + 30 * 86_400,
      lastUsedAt: now,
    });
    const [item] = await h.items('apiKeys');
    expect(item).toMatchObject({ ...created.key, activePartition: ACTIVE_PARTITION, keyHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(item)).not.toContain(created.apiKey);
    expect(await h.items('clients')).toEqual([{ clientId: 'acme', status: 'active', createdAt: now }]);

    const shown = await h.admin(adminCall('GET', KEY, { keyId: String(created.key.keyId) }));
    expect(body(shown)).toEqual(created.key);
    expect(shown.body).not.toContain('keyHash');
    expect(shown.body).not.toContain('activePartition');
  });

  it('refuses bad input with 400 and a message naming the problem, writing nothing', async () => {
    const h = await harness({ seedKey: false });
    const cases: Array<[string, ReturnType<typeof adminCall>, RegExp]> = [
      ['bad clientId', adminCall('POST', KEYS, { clientId: 'bad id!' }, { scopes: ['a'] }), /clientId/],
      ['unknown field', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], admin: true }), /admin/],
      ['wrong type', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: 'a' }), /scopes/],
      ['no scopes', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: [] }), /scopes/],
      ['bad scope token', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a b'] }), /scope-token/],
      [
        'too many scopes',
        adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: Array.from({ length: Limits.maxScopesPerKey + 1 }, (_, i) => `s${i}`) }),
        /scopes/,
      ],
      ['fractional days', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], expiresInDays: 1.5 }), /expiresInDays/],
      ['too many days', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], expiresInDays: Limits.apiKeyExpiresInDaysMax + 1 }), /expiresInDays/],
      [
        'long description',
        adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], description: 'd'.repeat(Limits.maxDescriptionLength + 1) }),
        /description/,
      ],
      ['nested metadata', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], metadata: { a: { b: 1 } } }), /metadata/],
      ['big metadata', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], metadata: { a: 'x'.repeat(Limits.maxMetadataBytes) } }), /metadata/],
      ['malformed JSON', adminCall('POST', KEYS, { clientId: 'acme' }, '{"scopes":['), /JSON/],
      ['array body', adminCall('POST', KEYS, { clientId: 'acme' }, '[]'), /body/],
      ['no body', adminCall('POST', KEYS, { clientId: 'acme' }), /scopes/],
      ['oversized body', adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], description: 'x'.repeat(Limits.maxRequestBodyBytes) }), /exceeds/],
      ['not JSON', { ...adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'] }), headers: { 'Content-Type': 'text/plain' } }, /application\/json/],
      // As a JSON text: an object literal would take `__proto__` as its prototype, not as a key.
      [
        'metadata key __proto__',
        adminCall('POST', KEYS, { clientId: 'acme' }, '{"scopes":["a"],"metadata":{"__proto__":"x"}}'),
        /metadata: must not use the key\(s\) __proto__ \(reserved: __proto__, constructor, prototype\)/,
      ],
      [
        'metadata key constructor',
        adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'], metadata: { constructor: 'x' } }),
        /metadata: must not use the key\(s\) constructor/,
      ],
    ];
    for (const [name, event, message] of cases) {
      const response = await h.admin(event);
      expect([name, response.statusCode], response.body).toEqual([name, 400]);
      expectError(response, 400, 'invalid_request', message);
    }
    expect(await snapshot(h)).toEqual({ apiKeys: [], clients: [], tokens: [] });
  });

  it('refuses keys for a revoked client with 409 client_revoked', async () => {
    const h = await harness({ seedKey: false });
    await h.createKey('acme');
    expect((await h.admin(adminCall('DELETE', '/admin/clients/{clientId}', { clientId: 'acme' }))).statusCode).toBe(204);
    const before = await snapshot(h);
    expectError(await h.admin(adminCall('POST', KEYS, { clientId: 'acme' }, { scopes: ['a'] })), 409, 'client_revoked');
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('GET /admin/clients/{clientId}/keys and GET /admin/keys/{keyId}', () => {
  it('lists a client’s keys newest first, page by page, with a validated opaque nextToken', async () => {
    const h = await harness({ seedKey: false });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push(String((await h.createKey('acme')).key.keyId));
      h.advance(1);
    }
    await h.createKey('other');
    const first = await h.admin(adminCall('GET', KEYS, { clientId: 'acme' }, undefined, { limit: '2' }));
    expect(first.statusCode, first.body).toBe(200);
    const page1 = body(first) as { keys: Array<{ keyId: string }>; nextToken?: string };
    expect(page1.keys.map((k) => k.keyId)).toEqual([ids[2], ids[1]]);
    expect(page1.nextToken).toEqual(expect.any(String));
    const second = body(await h.admin(adminCall('GET', KEYS, { clientId: 'acme' }, undefined, { limit: '2', nextToken: page1.nextToken! }))) as typeof page1;
    expect(second.keys.map((k) => k.keyId)).toEqual([ids[0]]);
    expect(second.nextToken).toBeUndefined();
    expect(JSON.stringify([page1, second])).not.toMatch(/keyHash|activePartition/);
    // acme's cursor does not continue other's list (it would start at acme's position and skip keys).
    expectError(
      await h.admin(adminCall('GET', KEYS, { clientId: 'other' }, undefined, { nextToken: page1.nextToken! })),
      400,
      'invalid_request',
      /nextToken belongs to another client's list, not other's/,
    );
    const all = body(await h.admin(adminCall('GET', KEYS, { clientId: 'acme' }))) as typeof page1;
    expect(all.keys).toHaveLength(3);
    expect(body(await h.admin(adminCall('GET', KEYS, { clientId: 'nobody' })))).toEqual({ keys: [] });
  });

  it.each([
    [{ limit: '0' }, /limit/],
    [{ limit: String(Limits.adminPageSizeMax + 1) }, /limit/],
    [{ limit: 'ten' }, /limit/],
    [{ nextToken: 'not base64!' }, /nextToken/],
    [{ nextToken: Buffer.from('{"keyId":"x","createdAt":1}').toString('base64url') }, /nextToken/],
    [{ nextToken: Buffer.from('[').toString('base64url') }, /nextToken/],
    [{ sort: 'asc' }, /sort/],
  ])('refuses list query %o with 400', async (query, message) => {
    const h = await harness({ seedKey: false });
    expectError(await h.admin(adminCall('GET', KEYS, { clientId: 'acme' }, undefined, query)), 400, 'invalid_request', message);
  });

  it('refuses a repeated query parameter and a malformed clientId', async () => {
    const h = await harness({ seedKey: false });
    expectError(
      await h.admin(apiEvent({ method: 'GET', resource: KEYS, pathParameters: { clientId: 'acme' }, query: { limit: ['1', '2'] } })),
      400,
      'invalid_request',
    );
    expectError(await h.admin(adminCall('GET', KEYS, { clientId: '-x' })), 400, 'invalid_request');
  });

  it('shows one key, derives expired from expiresAt, and answers 404 key_not_found for unknown or malformed ids', async () => {
    const h = await harness({ seedKey: false });
    const { key } = await h.createKey('acme', { scopes: ['a'], expiresInDays: 1 });
    h.advance(86_400);
    expect(body(await h.admin(adminCall('GET', KEY, { keyId: String(key.keyId) })))).toMatchObject({ status: 'expired' });
    expectError(await h.admin(adminCall('GET', KEY, { keyId: 'key_00000000000000000000' })), 404, 'key_not_found');
    expectError(await h.admin(adminCall('GET', KEY, { keyId: 'nope' })), 404, 'key_not_found');
  });
});

describe('POST /admin/keys/{keyId}/roll', () => {
  it('writes successor and old key in one transaction; the old key works through the grace period, then stops', async () => {
    const h = await harness();
    const { apiKey: oldSecret, key: old } = await h.createKey('acme', { scopes: ['orders:read'], description: 'd', metadata: { a: 'b' }, expiresInDays: 10 });
    h.advance(100);
    const response = await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(old.keyId) }, { graceSeconds: 600 }));
    expect(response.statusCode, response.body).toBe(201);
    const rolled = body(response) as { apiKey: string; key: Record<string, unknown> };
    const now = h.nowSeconds();
    expect(rolled.key).toEqual({
      keyId: expect.any(String),
      clientId: 'acme',
      scopes: ['orders:read'],
      status: 'active',
      description: 'd',
      metadata: { a: 'b' },
      createdAt: now,
      expiresAt: now + 10 * 86_400,
      lastUsedAt: now,
      rolledFrom: old.keyId,
    });
    expect(body(await h.admin(adminCall('GET', KEY, { keyId: String(old.keyId) })))).toMatchObject({
      status: 'active',
      rolledTo: rolled.key.keyId,
      expiresAt: now + 600,
    });
    // Only the successor stays in the hygiene indexes: the rolled key's grace expiry is no "expiring" warning.
    const stored = await h.items('apiKeys');
    expect(stored.filter((item) => item.activePartition !== undefined).map((item) => item.keyId)).toEqual([rolled.key.keyId]);

    expect((await h.exchange('acme', rolled.apiKey)).statusCode).toBe(200);
    expect((await h.exchange('acme', oldSecret)).statusCode).toBe(200);
    h.advance(600);
    expect((await h.exchange('acme', oldSecret)).statusCode).toBe(401);
    expect((await h.exchange('acme', rolled.apiKey)).statusCode).toBe(200);
    // A key without a metered quota or a suspension gives a successor without either.
    const successorItem = stored.find((item) => item.keyId === rolled.key.keyId);
    for (const attribute of ['meteredQuota', ...SUSPENSION_FIELDS]) expect(successorItem).not.toHaveProperty(attribute);
  });

  it("carries the key's metered quota and a suspension in force (end, reason, time) to the successor, whose usage counts from zero", async () => {
    const h = await harness({ seedKey: false });
    const { key: old } = await h.createKey('acme', { scopes: ['orders:read'] });
    const oldId = String(old.keyId);
    const quota = { limit: 20, period: 'DAY' };
    expect((await h.admin(adminCall('PUT', `${KEY}/quota`, { keyId: oldId }, { quota }))).statusCode).toBe(200);
    const until = h.nowSeconds() + 3600;
    const atMs = h.nowSeconds() * 1000;
    expect(await quotaStore(h).suspendKey(oldId, until, atMs)).toBe(true);
    h.advance(10);

    const response = await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: oldId }, {}));
    expect(response.statusCode, response.body).toBe(201);
    const rolled = body(response) as { apiKey: string; key: Record<string, unknown> };
    const successor = String(rolled.key.keyId);
    // The key view is unchanged: quota and suspension are shown by the quota route.
    expect(Object.keys(rolled.key).sort()).toEqual(['clientId', 'createdAt', 'keyId', 'lastUsedAt', 'rolledFrom', 'scopes', 'status']);
    const shown = await h.admin(adminCall('GET', `${KEY}/quota`, { keyId: successor }));
    expect(body(shown)).toEqual({
      keyId: successor,
      clientId: 'acme',
      quota,
      period: { start: expect.any(Number), end: expect.any(Number), used: 0, remaining: 20 },
      suspendedUntil: until,
    });
    const items = await h.items('apiKeys');
    expect(items.find((item) => item.keyId === successor)).toMatchObject({
      status: 'active',
      rolledFrom: oldId,
      meteredQuota: quota,
      suspendedUntil: until,
      suspendedReason: 'quota_exceeded',
      suspendedAtMs: atMs,
    });
    // The predecessor keeps its own quota and suspension through its grace period.
    expect(body(await h.admin(adminCall('GET', `${KEY}/quota`, { keyId: oldId })))).toMatchObject({ quota, suspendedUntil: until });
    // Resuming the successor lifts its suspension alone.
    expect(body(await h.admin(adminCall('POST', `${KEY}/resume`, { keyId: successor })))).not.toHaveProperty('suspendedUntil');
    expect(body(await h.admin(adminCall('GET', `${KEY}/quota`, { keyId: oldId })))).toMatchObject({ suspendedUntil: until });
  });

  it('does not carry a suspension that has ended or that an operator lifted; the quota carries all the same', async () => {
    const h = await harness({ seedKey: false });
    const store = quotaStore(h);
    const { key: ended } = await h.createKey('acme');
    const { key: lifted } = await h.createKey('acme');
    const endedId = String(ended.keyId);
    const liftedId = String(lifted.keyId);
    const quota = { limit: 5, period: 'WEEK' } as const;
    expect(await store.setKeyQuota(endedId, quota)).toBe('written');
    expect(await store.suspendKey(endedId, h.nowSeconds() + 60, h.nowSeconds() * 1000)).toBe(true);
    expect(await store.suspendKey(liftedId, h.nowSeconds() + 3600, h.nowSeconds() * 1000)).toBe(true);
    expect((await h.admin(adminCall('POST', `${KEY}/resume`, { keyId: liftedId }))).statusCode).toBe(200);
    h.advance(120);

    const successors: string[] = [];
    for (const keyId of [endedId, liftedId]) {
      const response = await h.admin(adminCall('POST', `${KEY}/roll`, { keyId }, {}));
      expect(response.statusCode, response.body).toBe(201);
      successors.push(String((body(response).key as Record<string, unknown>).keyId));
    }
    const items = await h.items('apiKeys');
    const [endedSuccessor, liftedSuccessor] = successors.map((keyId) => items.find((item) => item.keyId === keyId));
    expect(endedSuccessor).toMatchObject({ meteredQuota: quota });
    expect(liftedSuccessor).not.toHaveProperty('meteredQuota');
    for (const item of [endedSuccessor, liftedSuccessor]) for (const attribute of SUSPENSION_FIELDS) expect(item).not.toHaveProperty(attribute);
    expect(body(await h.admin(adminCall('GET', `${KEY}/quota`, { keyId: successors[1]! })))).toEqual({ keyId: successors[1], clientId: 'acme' });
  });

  it("refuses a roll when the key's quota or suspension changed after it was read (the successor would miss it), writing nothing", async () => {
    const h = await harness({ seedKey: false });
    const { doc, names } = h.tables;
    const keys = new DynamoApiKeyStore(doc, { apiKeys: names.apiKeys, clients: names.clients });
    const store = quotaStore(h);
    const { key } = await h.createKey('acme');
    const keyId = String(key.keyId);
    const successorOf = (read: Awaited<ReturnType<typeof keys.get>>) => ({
      ...read!,
      keyId: 'key_00000000000000000001',
      keyHash: '0'.repeat(64),
      rolledFrom: keyId,
    });
    const graceEnd = h.nowSeconds() + 60;

    let read = await keys.get(keyId);
    expect(await store.setKeyQuota(keyId, { limit: 5, period: 'DAY' })).toBe('written');
    expect(await keys.roll(successorOf(read), read!, graceEnd)).toBe('not_rollable');
    read = await keys.get(keyId);
    expect(await store.suspendKey(keyId, h.nowSeconds() + 600, h.nowSeconds() * 1000)).toBe(true);
    expect(await keys.roll(successorOf(read), read!, graceEnd)).toBe('not_rollable');
    expect((await h.items('apiKeys')).map((item) => [item.keyId, item.rolledTo])).toEqual([[keyId, undefined]]);
    // Read again, the roll goes through (an unchanged quota map compares equal).
    read = await keys.get(keyId);
    expect(await keys.roll(successorOf(read), read!, graceEnd)).toBe('rolled');
  });

  it('defaults the grace to a day, never extends an earlier expiry, and allows 0 (old key stops at once)', async () => {
    const h = await harness();
    const { key: a } = await h.createKey('acme');
    const viaDefault = await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(a.keyId) }));
    expect(viaDefault.statusCode, viaDefault.body).toBe(201);
    expect(body(await h.admin(adminCall('GET', KEY, { keyId: String(a.keyId) }))).expiresAt).toBe(h.nowSeconds() + Defaults.rollGraceSeconds);

    const { key: soon } = await h.createKey('acme', { scopes: ['a'], expiresInDays: 1 });
    await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(soon.keyId) }, { graceSeconds: Limits.rollGraceSecondsMax }));
    expect(body(await h.admin(adminCall('GET', KEY, { keyId: String(soon.keyId) }))).expiresAt).toBe(soon.expiresAt);

    const { apiKey, key: b } = await h.createKey('acme');
    const zero = await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(b.keyId) }, { graceSeconds: 0 }));
    expect(zero.statusCode).toBe(201);
    expect((await h.exchange('acme', apiKey)).statusCode).toBe(401);
    for (const secret of [viaDefault, zero].map((r) => String(body(r).apiKey))) expect(secret).toMatch(/^tg_/);
  });

  it('refuses unknown, revoked, already-rolled keys and bad bodies, changing nothing', async () => {
    const h = await harness({ seedKey: false });
    const { key } = await h.createKey('acme');
    const { key: revoked } = await h.createKey('acme');
    await h.admin(adminCall('DELETE', KEY, { keyId: String(revoked.keyId) }));
    const first = await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(key.keyId) }, {}));
    expect(first.statusCode).toBe(201);
    const before = await snapshot(h);
    expectError(await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(key.keyId) }, {})), 409, 'key_already_rolled');
    expectError(await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(revoked.keyId) }, {})), 409, 'key_not_active');
    expectError(await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: 'key_ffffffffffffffffffff' }, {})), 404, 'key_not_found');
    expectError(await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(key.keyId) }, { graceSeconds: -1 })), 400, 'invalid_request', /graceSeconds/);
    expectError(
      await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(key.keyId) }, { graceSeconds: Limits.rollGraceSecondsMax + 1 })),
      400,
      'invalid_request',
    );
    expectError(await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(key.keyId) }, { grace: 5 })), 400, 'invalid_request', /grace/);
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('revocation routes', () => {
  it('DELETE /admin/keys/{keyId}: one conditional write (status, revokedAt, index key removed), idempotent, 404 when unknown', async () => {
    const h = await harness();
    const { apiKey, key } = await h.createKey('acme');
    const response = await h.admin(adminCall('DELETE', KEY, { keyId: String(key.keyId) }));
    expect([response.statusCode, response.body]).toEqual([204, '']);
    const [item] = await h.items('apiKeys');
    expect(item).toMatchObject({ status: 'revoked', revokedAt: h.nowSeconds() });
    expect(item).not.toHaveProperty('activePartition');
    h.advance(5);
    expect((await h.admin(adminCall('DELETE', KEY, { keyId: String(key.keyId) }))).statusCode).toBe(204);
    expect((await h.items('apiKeys'))[0]).toMatchObject({ revokedAt: h.nowSeconds() - 5 });
    expectError(await h.admin(adminCall('DELETE', KEY, { keyId: 'key_00000000000000000000' })), 404, 'key_not_found');
    expectError(await h.admin(adminCall('DELETE', KEY, { keyId: '../x' })), 404, 'key_not_found');
    expect((await h.exchange('acme', apiKey)).statusCode).toBe(401);
  });

  it('DELETE /admin/tokens/{jti}: revokes the record, idempotent, 404 when unknown', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    await h.exchange('acme', apiKey);
    const [token] = await h.items('tokens');
    expect((await h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: String(token!.jti) }))).statusCode).toBe(204);
    expect((await h.items('tokens'))[0]).toMatchObject({ status: 'revoked', revokedAt: h.nowSeconds(), exp: token!.exp });
    expect((await h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: String(token!.jti) }))).statusCode).toBe(204);
    expectError(await h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: 'unknown' })), 404, 'token_not_found');
    expectError(await h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: 'a b' })), 404, 'token_not_found');
  });

  it('DELETE /admin/clients/{clientId}: one client write, then its active keys revoked; idempotent, 404 when unknown', async () => {
    const h = await harness({ seedKey: false });
    await h.createKey('acme');
    await h.createKey('acme');
    const { key: other } = await h.createKey('other');
    expect((await h.admin(adminCall('DELETE', '/admin/clients/{clientId}', { clientId: 'acme' }))).statusCode).toBe(204);
    expect((await h.items('clients')).find((c) => c.clientId === 'acme')).toMatchObject({ status: 'revoked', revokedAt: h.nowSeconds() });
    const keys = await h.items('apiKeys');
    expect(keys.filter((k) => k.clientId === 'acme').map((k) => [k.status, 'activePartition' in k])).toEqual([
      ['revoked', false],
      ['revoked', false],
    ]);
    expect(keys.find((k) => k.keyId === other.keyId)).toMatchObject({ status: 'active' });
    expect((await h.admin(adminCall('DELETE', '/admin/clients/{clientId}', { clientId: 'acme' }))).statusCode).toBe(204);
    expectError(await h.admin(adminCall('DELETE', '/admin/clients/{clientId}', { clientId: 'nobody' })), 404, 'client_not_found');
    expectError(await h.admin(adminCall('DELETE', '/admin/clients/{clientId}', { clientId: '!' })), 404, 'client_not_found');
  });
});

describe('an API key pasted into the path', () => {
  it('is refused with 400 on every route that takes an id, before anything is written or logged', async () => {
    const h = await harness();
    // createKey records the secret: captureLogs fails the file if any log line holds it.
    const { apiKey } = await h.createKey('acme');
    const before = await snapshot(h);
    const calls = [
      adminCall('POST', KEYS, { clientId: apiKey }, { scopes: ['a'] }),
      adminCall('GET', KEYS, { clientId: apiKey }),
      adminCall('DELETE', '/admin/clients/{clientId}', { clientId: apiKey }),
      adminCall('GET', '/admin/clients/{clientId}/limits', { clientId: apiKey }),
      adminCall('PUT', '/admin/clients/{clientId}/limits', { clientId: apiKey }, { rateLimit: 1, burstLimit: 1 }),
      adminCall('DELETE', '/admin/tokens/{jti}', { jti: apiKey }),
      adminCall('GET', KEY, { keyId: apiKey }),
      adminCall('DELETE', KEY, { keyId: apiKey }),
      adminCall('POST', '/admin/keys/{keyId}/roll', { keyId: apiKey }, {}),
      // Glued as the scanner finds keys in text (a pasted `API_KEY_tg_…`).
      adminCall('GET', KEY, { keyId: `API_KEY_${apiKey}` }),
    ];
    for (const call of calls) {
      const response = await h.admin(call);
      expectError(
        response,
        400,
        'invalid_request',
        /in the path is an API key, which is a secret and never goes in a URL\. It is in the access logs now: roll or revoke that key\./,
      );
      expect(response.body).not.toContain(apiKey);
    }
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('signing keys', () => {
  let stub: LambdaStub;
  beforeAll(async () => {
    stub = await startLambdaStub();
  });
  afterAll(async () => {
    await stub.close();
  });

  it('GET /admin/signing-keys reports the ring without key material', async () => {
    const h = await harness();
    const response = await h.admin(adminCall('GET', '/admin/signing-keys'));
    expect(response.statusCode).toBe(200);
    const { keys } = body(response) as { keys: Array<Record<string, unknown>> };
    expect(keys).toEqual([
      {
        kid: expect.any(String),
        state: 'active',
        alg: 'ES256',
        keySpec: 'ECC_NIST_P256',
        kmsKeyArn: expect.stringMatching(/^arn:aws:kms:/),
        createdAt: h.nowSeconds(),
        activatedAt: h.nowSeconds(),
      },
    ]);
  });

  it('POST /admin/signing-keys/rotate invokes the rotation function with {"action":"rotate"} and returns its report', async () => {
    const h = await harness({ lambdaEndpoint: stub.endpoint });
    stub.respond = () => ({ status: 200, body: JSON.stringify({ action: 'rotate', created: 'kid-2' }) });
    const response = await h.admin(adminCall('POST', '/admin/signing-keys/rotate'));
    expect(response.statusCode, response.body).toBe(200);
    expect(body(response)).toEqual({ action: 'rotate', created: 'kid-2' });
    expect(stub.calls.at(-1)).toEqual({ name: ROTATION_FUNCTION, payload: { action: 'rotate' }, invocationType: 'RequestResponse' });
    expect((await h.admin(adminCall('POST', '/admin/signing-keys/rotate', undefined, {}))).statusCode).toBe(200);
    expectError(await h.admin(adminCall('POST', '/admin/signing-keys/rotate', undefined, { force: true })), 400, 'invalid_request');
  });

  it('answers 502 rotation_failed with the function’s message when it fails or cannot be invoked', async () => {
    const h = await harness({ lambdaEndpoint: stub.endpoint });
    stub.respond = () => ({
      status: 200,
      functionError: 'Unhandled',
      body: JSON.stringify({ errorType: 'RingConflict', errorMessage: 'ring changed concurrently' }),
    });
    expectError(await h.admin(adminCall('POST', '/admin/signing-keys/rotate')), 502, 'rotation_failed', /ring changed concurrently/);
    stub.respond = () => ({ status: 404, body: JSON.stringify({ Type: 'User', message: 'Function not found' }) });
    expectError(await h.admin(adminCall('POST', '/admin/signing-keys/rotate')), 502, 'rotation_failed', /could not be invoked/);
  });
});

describe('routing', () => {
  it('answers 404 for an unknown resource and 405 with Allow for a wrong method', async () => {
    const h = await harness({ seedKey: false });
    expectError(await h.admin(adminCall('GET', '/admin/nothing')), 404, 'not_found');
    const wrong = await h.admin(adminCall('PUT', KEY, { keyId: 'key_00000000000000000000' }));
    expectError(wrong, 405, 'method_not_allowed');
    expect(wrong.headers?.Allow).toBe('GET, DELETE');
  });
});
