/**
 * Issue #15, "done when": local mode (`startLocalStack`, every handler behind the local
 * gateway) with DynamoDB Local frozen for longer than `revocationViewMaxStaleSeconds`
 * through a fault proxy (requests accepted, never answered, as under SIGSTOP):
 *
 * - the token endpoint and the admin API answer 503 + `Retry-After`, the JWKS its last good
 *   set, all without hanging;
 * - warm tokens are served until the view is too old, then 503 (never 401);
 * - everything recovers by itself after the thaw; a revocation refused during the outage
 *   succeeds when retried with its Idempotency-Key, and takes effect.
 *
 * Bounds are generous (a shared, noisy machine): they prove answers came, not how fast.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { basicAuth } from '../support/api-events';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';

const MAX_STALE_S = 8;
/** Far beyond the 2.5 s dependency budget: an answer, not a hang. */
const ANSWERED_WITHIN_MS = 10_000;

let stack: LocalStack;
let proxy: FaultProxy | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tollgate-freeze-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    fresh: true,
    settings: { revocationViewMaxStaleSeconds: MAX_STALE_S, revocationPollMs: 250 },
    log: () => undefined,
    interposeDynamoDb: async (endpoint) => (proxy = await startFaultProxy(endpoint)).endpoint,
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const started = performance.now();
  const response = await fetch(`${stack.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text, ms: performance.now() - started };
}

const admin = (headers: Record<string, string> = {}) => ({ Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json', ...headers });

async function until(probe: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

describe('local mode with DynamoDB frozen', () => {
  it('refuses honestly and fast during the freeze, serves warm tokens per the outage policy, and recovers by itself', async () => {
    const created = await call('POST', '/admin/clients/freeze/keys', admin(), JSON.stringify({ scopes: ['orders:read'] }));
    expect(created.status).toBe(201);
    const { apiKey } = JSON.parse(created.body) as { apiKey: string };
    const exchange = () =>
      call(
        'POST',
        '/oauth/token',
        { Authorization: basicAuth('freeze', apiKey), 'Content-Type': 'application/x-www-form-urlencoded' },
        'grant_type=client_credentials',
      );
    const issued = await exchange();
    expect(issued.status).toBe(200);
    const token = (JSON.parse(issued.body) as { access_token: string }).access_token;
    const jti = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const upstream = () => call('GET', '/orders/1', { Authorization: `Bearer ${token}` });
    expect((await upstream()).status).toBe(200);
    expect((await call('GET', '/.well-known/jwks.json')).status).toBe(200);

    proxy!.hang();
    const frozenAt = Date.now();
    // Warm token, fresh view: served from memory.
    expect((await upstream()).status).toBe(200);

    const refused = await exchange();
    expect(refused.status, refused.body).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(refused.retryAfter).toMatch(/^[1-9]\d*$/);
    expect(refused.ms).toBeLessThan(ANSWERED_WITHIN_MS);

    const revokeKey = randomUUID();
    const revoke = () => call('DELETE', `/admin/tokens/${jti}`, admin({ 'Idempotency-Key': revokeKey }));
    const refusedRevoke = await revoke();
    expect(refusedRevoke.status, refusedRevoke.body).toBe(503);
    expect(refusedRevoke.retryAfter).toMatch(/^[1-9]\d*$/);
    expect(refusedRevoke.ms).toBeLessThan(ANSWERED_WITHIN_MS);

    const jwks = await call('GET', '/.well-known/jwks.json');
    expect([200, 503]).toContain(jwks.status);
    expect(jwks.ms).toBeLessThan(ANSWERED_WITHIN_MS);

    // Past revocationViewMaxStaleSeconds: "we are down" (503), never "your token is bad" (401).
    expect(await until(async () => (await upstream()).status === 503, 60_000)).toBe(true);
    const down = await upstream();
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(down.retryAfter).toBe('5');
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(MAX_STALE_S * 1000 * 0.9);

    await proxy!.pass();
    expect(await until(async () => (await exchange()).status === 200, 30_000)).toBe(true);
    expect(await until(async () => (await upstream()).status === 200, 30_000)).toBe(true);

    // The revocation refused during the outage, retried with its key: done now, and it takes effect.
    const retried = await revoke();
    expect(retried.status, retried.body).toBe(204);
    expect(await until(async () => (await upstream()).status === 401, 30_000)).toBe(true);
  }, 240_000);
});
