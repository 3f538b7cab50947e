/**
 * Per-client throttling end to end on the local stack (in-process, fresh state): the admin
 * API sets limits and registers usage keys with the local API Gateway, the token carries
 * the usage key, the real authorizer returns it as `usageIdentifierKey`, and the local
 * gateway enforces the client's usage plan — while other clients are unaffected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUOTA_EXCEEDED, THROTTLED } from '../../common/gateway-responses';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { adminCall, exchangeApiKey } from '../support/local-stack-http';

describe('per-client throttling on the local stack', () => {
  let stack: LocalStack;
  let dataDir: string;
  const accessLog: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-throttling-'));
    stack = await startLocalStack({
      port: 0,
      dataDir,
      fresh: true,
      log: (line) => {
        if (line.startsWith('{"requestId"')) accessLog.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = (method: string, path: string, body?: unknown) => adminCall(stack, method, path, body);

  /** A client with a key and an access token (scope orders:read). */
  const client = async (clientId: string) => {
    const created = await admin('POST', `/admin/clients/${clientId}/keys`, { scopes: ['orders:read'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.usage).toEqual({ plan: 'default', usageKeyRegistered: true });
    const apiKey = String(created.body.apiKey);
    const response = await exchangeApiKey(stack.url, clientId, apiKey);
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  const call = (token: string) => fetch(`${stack.url}/orders/1`, { headers: { Authorization: `Bearer ${token}` } });

  it('a client limited to 5 req/s (burst 5) gets 429 beyond that while another client at the same moment is unaffected', async () => {
    const [limitedToken, neighborToken] = await Promise.all([client('limited'), client('neighbor')]);
    const limits = await admin('PUT', '/admin/clients/limited/limits', { rateLimit: 5, burstLimit: 5 });
    expect(limits.body).toEqual({ clientId: 'limited', limits: { rateLimit: 5, burstLimit: 5 }, plan: 'custom', usageKeyRegistered: true });

    const started = performance.now();
    const [limited, neighbor] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => call(limitedToken))),
      Promise.all(Array.from({ length: 10 }, () => call(neighborToken))),
    ]);
    const elapsedSeconds = (performance.now() - started) / 1000;

    const ok = limited.filter((response) => response.status === 200).length;
    const throttled = limited.filter((response) => response.status === 429);
    expect(ok).toBeGreaterThanOrEqual(5);
    // The burst, plus what the bucket can have refilled at 5/s while the batch was in flight.
    expect(ok).toBeLessThanOrEqual(5 + Math.ceil(elapsedSeconds * 5));
    expect(throttled.length).toBe(20 - ok);
    expect(await throttled[0]!.json()).toEqual(THROTTLED.body);
    expect(Number(throttled[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(neighbor.map((response) => response.status)).toEqual(Array(10).fill(200));

    const refusals = accessLog.filter((line) => line.errorType === 'THROTTLED');
    expect(refusals.length).toBe(throttled.length);
    expect(new Set(refusals.map((line) => line.clientId))).toEqual(new Set(['limited']));

    // Back to the defaults: the same token is served under the shared plan at once.
    await admin('PUT', '/admin/clients/limited/limits', { rateLimit: 50, burstLimit: 100 });
    const after = await Promise.all(Array.from({ length: 10 }, () => call(limitedToken)));
    expect(after.map((response) => response.status)).toEqual(Array(10).fill(200));
  });

  it('a quota of 100 a day stops at 100', async () => {
    const token = await client('metered');
    const limits = await admin('PUT', '/admin/clients/metered/limits', { rateLimit: 1000, burstLimit: 1000, quota: { limit: 100, period: 'DAY' } });
    expect(limits.body).toMatchObject({ plan: 'custom', usageKeyRegistered: true });

    const statuses: number[] = [];
    let refusal: Response | undefined;
    for (let batch = 0; batch < 11; batch += 1) {
      const responses = await Promise.all(Array.from({ length: 10 }, () => call(token)));
      statuses.push(...responses.map((response) => response.status));
      refusal ??= responses.find((response) => response.status === 429);
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(100);
    expect(statuses.filter((status) => status === 429)).toHaveLength(10);
    expect(await refusal!.json()).toEqual(QUOTA_EXCEEDED.body);
    expect(Number(refusal!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(accessLog.filter((line) => line.errorType === 'QUOTA_EXCEEDED' && line.clientId === 'metered')).toHaveLength(10);
  });
});
