/**
 * Admin mutations from the CLI carry an `Idempotency-Key` and are sent again with the same
 * key after a 503 (docs/api.md, "Dependency failures, retries and `Idempotency-Key`"), so an
 * operator's command is done exactly once; reads and refusals are never retried.
 */
import { describe, expect, it } from 'vitest';
import { useFakeApi } from './harness';

const ADMIN_TOKEN = 'tga_retries-token';
const fake = useFakeApi(ADMIN_TOKEN);
const run = fake.run.bind(fake);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UNAVAILABLE = {
  status: 503,
  headers: { 'Retry-After': '1' },
  body: { error: 'temporarily_unavailable', error_description: 'A service Tollgate depends on is not answering.' },
};

const IN_USE = {
  status: 409,
  headers: { 'Retry-After': '1' },
  body: { error: 'idempotency_key_in_use', error_description: 'A request with this Idempotency-Key is still being processed; retry after Retry-After.' },
};

describe('CLI retries', () => {
  it('sends a revocation again after a 503, with the same Idempotency-Key, and succeeds', async () => {
    fake.api.seedKey('orders-service', { keyId: 'key_0123456789abcdef0123' });
    fake.api.override = UNAVAILABLE;
    const result = await run(['keys', 'revoke', 'key_0123456789abcdef0123']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const sent = fake.api.requests.filter((r) => r.method === 'DELETE');
    expect(sent).toHaveLength(2);
    expect(sent[0]!.headers['idempotency-key']).toMatch(UUID);
    expect(sent[1]!.headers['idempotency-key']).toBe(sent[0]!.headers['idempotency-key']);
  });

  it('sends a change again after a 409 idempotency_key_in_use (the first attempt still runs), after its Retry-After, with the same key', async () => {
    fake.api.seedKey('orders-service', { keyId: 'key_0123456789abcdef0123' });
    fake.api.scripted.push(UNAVAILABLE, IN_USE);
    const result = await run(['keys', 'revoke', 'key_0123456789abcdef0123']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const keys = fake.api.requests.filter((r) => r.method === 'DELETE').map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
  });

  it('names the Idempotency-Key when the retries are spent with the outcome unknown, and --idempotency-key finishes the change with it', async () => {
    fake.api.seedKey('orders-service', { keyId: 'key_0123456789abcdef0123' });
    fake.api.scripted.push(UNAVAILABLE, IN_USE, IN_USE);
    const failed = await run(['keys', 'revoke', 'key_0123456789abcdef0123']);
    const [key] = new Set(fake.api.requests.filter((r) => r.method === 'DELETE').map((r) => r.headers['idempotency-key']));
    expect(key).toMatch(UUID);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('idempotency_key_in_use');
    expect(failed.stderr).toContain(`run the same command again with --idempotency-key ${key}`);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);

    const finished = await run(['--idempotency-key', String(key), 'keys', 'revoke', 'key_0123456789abcdef0123']);
    expect(finished).toMatchObject({ code: 0, stderr: '' });
    expect(fake.api.requests.at(-1)!.headers['idempotency-key']).toBe(key);
  });

  it('names no Idempotency-Key for a refusal, and refuses a malformed one before sending anything', async () => {
    const refused = await run(['keys', 'revoke', 'key_00000000000000000000']);
    expect(refused.stderr).toMatch(/key_not_found/);
    expect(refused.stderr).not.toMatch(/idempotency/i);
    const sent = fake.api.requests.length;
    const bad = await run(['--idempotency-key', 'short', 'keys', 'revoke', 'key_00000000000000000000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tollgate: .*--idempotency-key/);
    expect(fake.api.requests).toHaveLength(sent);
  });

  it('uses a new key for each command', async () => {
    await run(['keys', 'create', 'orders-service', '--scopes', 'a']);
    await run(['keys', 'create', 'orders-service', '--scopes', 'a']);
    const keys = fake.api.requests.filter((r) => r.method === 'POST').map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('never retries a read, a refusal, or a 503 that asks for a long wait', async () => {
    fake.api.override = UNAVAILABLE;
    expect((await run(['signing-keys', 'status'])).code).toBe(1);
    expect(fake.api.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(fake.api.requests[0]!.headers['idempotency-key']).toBeUndefined();

    const refused = await run(['keys', 'revoke', 'key_00000000000000000000']);
    expect(refused.stderr).toMatch(/key_not_found/);
    fake.api.override = { ...UNAVAILABLE, headers: { 'Retry-After': '3600' } };
    const long = await run(['tokens', 'revoke', 'jti-1']);
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/temporarily_unavailable/);
    expect(fake.api.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
  });
});

describe('CLI retries: other server errors', () => {
  it.each([
    [500, 'server_error'],
    [504, 'http_504'],
  ])('does not send a change again after a %i, but names its Idempotency-Key to finish it with', async (status, code) => {
    fake.api.seedKey('orders-service', { keyId: 'key_0123456789abcdef0123' });
    fake.api.scripted.push({
      status,
      headers: {},
      body:
        status === 500 ? { error: 'server_error', error_description: 'The server could not handle the request.' } : { message: 'Endpoint request timed out' },
    });
    const failed = await run(['keys', 'revoke', 'key_0123456789abcdef0123']);
    const sent = fake.api.requests.filter((r) => r.method === 'DELETE');
    expect(sent).toHaveLength(1);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(code);
    expect(failed.stderr).toContain(`run the same command again with --idempotency-key ${sent[0]!.headers['idempotency-key']}`);
  });
});
