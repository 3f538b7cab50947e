import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  fingerprint,
  Idempotency,
  IDEMPOTENCY_LOCK_MARGIN_MS,
  REPLAYED_HEADER,
  type IdempotencyRecord,
  type IdempotencyStore,
  type RequestIdentity,
} from '../../../lambda/core/admin/idempotency';

const request = fc.record({
  method: fc.constantFrom('POST', 'PUT', 'DELETE'),
  resource: fc.constantFrom('/admin/clients/{clientId}/keys', '/admin/keys/{keyId}', '/admin/keys/{keyId}/roll'),
  pathParameters: fc.option(fc.dictionary(fc.constantFrom('clientId', 'keyId', 'jti'), fc.string()), { nil: null }),
  body: fc.option(fc.string(), { nil: null }),
}) as fc.Arbitrary<RequestIdentity>;

describe('fingerprint', () => {
  it('two requests share a fingerprint only when method, route, path parameters and body are all equal', () => {
    const canonical = (r: RequestIdentity) =>
      JSON.stringify([r.method, r.resource, Object.entries(r.pathParameters ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)), r.body ?? '']);
    fc.assert(
      fc.property(request, request, (a, b) => {
        expect(fingerprint(a) === fingerprint(b)).toBe(canonical(a) === canonical(b));
      }),
    );
  });

  it('does not depend on the order of path parameters', () => {
    const base = { method: 'POST', resource: '/r', body: '{}' };
    expect(fingerprint({ ...base, pathParameters: { a: '1', b: '2' } })).toBe(fingerprint({ ...base, pathParameters: { b: '2', a: '1' } }));
  });

  it('tells a body from the same text split differently across fields', () => {
    expect(fingerprint({ method: 'POST', resource: '/a|b', pathParameters: null, body: '' })).not.toBe(
      fingerprint({ method: 'POST', resource: '/a', pathParameters: null, body: 'b' }),
    );
  });
});

/** The store's contract in memory: conditional claim, take-over on the lock value, complete, release. */
class MemoryStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  failComplete = false;

  async claim(record: IdempotencyRecord) {
    const existing = this.records.get(record.keyHash);
    if (existing) return { claimed: false as const, existing };
    this.records.set(record.keyHash, record);
    return { claimed: true as const };
  }

  async takeOver(keyHash: string, previousLockMs: number, lockedUntilMs: number) {
    const record = this.records.get(keyHash)!;
    if (record.state !== 'in_progress' || record.lockedUntilMs !== previousLockMs) return false;
    this.records.set(keyHash, { ...record, lockedUntilMs });
    return true;
  }

  async complete(keyHash: string, statusCode: number, response: string) {
    if (this.failComplete) throw Object.assign(new Error('down'), { name: 'TimeoutError' });
    const { lockedUntilMs: _lock, ...record } = this.records.get(keyHash)!;
    this.records.set(keyHash, { ...record, state: 'done', statusCode, response });
  }

  async release(keyHash: string) {
    const record = this.records.get(keyHash)!;
    if (record.state === 'in_progress') this.records.set(keyHash, { ...record, lockedUntilMs: 0 });
  }
}

describe('Idempotency', () => {
  const KEY = '3f1c9a2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b';
  const request: RequestIdentity = {
    method: 'POST',
    resource: '/admin/clients/{clientId}/keys',
    pathParameters: { clientId: 'acme' },
    body: '{"scopes":["a"]}',
  };
  const setUp = () => {
    let clock = 1_000_000;
    const store = new MemoryStore();
    const warnings: string[] = [];
    const idempotency = new Idempotency({ store, now: () => clock, warn: (message) => void warnings.push(message) });
    return { store, idempotency, warnings, advance: (ms: number) => void (clock += ms) };
  };

  it('runs once and replays the stored answer, secret and all, while the store holds it only encrypted', async () => {
    const { store, idempotency } = setUp();
    let runs = 0;
    const execute = async () => ({ statusCode: 201, headers: { 'Content-Type': 'application/json' }, body: `{"apiKey":"tg_secret_${++runs}"}` });
    const first = await idempotency.run(KEY, request, execute);
    const again = await idempotency.run(KEY, request, execute);
    expect(runs).toBe(1);
    expect(again).toEqual({ ...first, headers: { ...first.headers, [REPLAYED_HEADER]: 'true' } });
    expect(JSON.stringify([...store.records.values()])).not.toContain('tg_secret');
    expect(JSON.stringify([...store.records.values()])).not.toContain(KEY);
  });

  it('derives the same random bytes for a re-run under the same key, and others under another key', async () => {
    const { idempotency, advance } = setUp();
    const drawn: string[] = [];
    const execute = async (random?: (size: number) => Uint8Array) => {
      drawn.push(Buffer.from(random!(16)).toString('hex'));
      return { statusCode: 503, body: '{}' };
    };
    await idempotency.run(KEY, request, execute);
    advance(1);
    await idempotency.run(KEY, request, execute);
    await idempotency.run(`${KEY}-other`, request, execute);
    expect(drawn[0]).toBe(drawn[1]);
    expect(drawn[2]).not.toBe(drawn[0]);
  });

  it('does not store a 5xx or a throw: the claim is released and a retry runs again', async () => {
    const { idempotency } = setUp();
    let runs = 0;
    expect((await idempotency.run(KEY, request, async () => ({ statusCode: 503, body: String(++runs) }))).statusCode).toBe(503);
    await expect(idempotency.run(KEY, request, async () => Promise.reject(new Error(String(++runs))))).rejects.toThrow('2');
    expect((await idempotency.run(KEY, request, async () => ({ statusCode: 204, body: String(++runs) }))).body).toBe('3');
  });

  it('refuses the key while its first request holds it (409 + Retry-After), and lets a retry take over an expired claim', async () => {
    const { idempotency, advance } = setUp();
    let release!: () => void;
    const slow = idempotency.run(KEY, request, () => new Promise((resolve) => (release = () => resolve({ statusCode: 204, body: '' }))), 2_500);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(idempotency.run(KEY, request, async () => ({ statusCode: 204, body: '' }))).rejects.toMatchObject({
      code: 'idempotency_key_in_use',
      retryAfterSeconds: 4,
    });
    // The first request's invocation died: its claim expires after its budget and the margin.
    advance(2_500 + IDEMPOTENCY_LOCK_MARGIN_MS + 1);
    expect((await idempotency.run(KEY, request, async () => ({ statusCode: 204, body: 'taken over' }))).body).toBe('taken over');
    release();
    await slow;
  });

  it('refuses the same key for another request with 422, and a malformed key with 400', async () => {
    const { idempotency } = setUp();
    await idempotency.run(KEY, request, async () => ({ statusCode: 201, body: '{}' }));
    await expect(idempotency.run(KEY, { ...request, body: '{"scopes":["b"]}' }, async () => ({ statusCode: 201, body: '{}' }))).rejects.toMatchObject({
      code: 'idempotency_key_reused',
    });
    for (const bad of ['short', 'acme-create-0042', 'twenty-one-chars-long', 'with space and long enough', 'é'.repeat(22), 'x'.repeat(256)]) {
      await expect(idempotency.run(bad, request, async () => ({ statusCode: 201, body: '{}' }))).rejects.toMatchObject({ code: 'invalid_request' });
    }
  });

  it('still answers when the answer cannot be stored, and warns', async () => {
    const { store, idempotency, warnings } = setUp();
    store.failComplete = true;
    expect((await idempotency.run(KEY, request, async () => ({ statusCode: 204, body: '' }))).statusCode).toBe(204);
    expect(warnings).toEqual(['idempotency: the answer could not be stored']);
  });

  it('runs without a key exactly as without idempotency', async () => {
    const { store, idempotency } = setUp();
    let random: unknown = 'unset';
    await idempotency.run(undefined, request, async (r) => {
      random = r;
      return { statusCode: 201, body: '{}' };
    });
    expect(random).toBeUndefined();
    expect(store.records.size).toBe(0);
  });
});
