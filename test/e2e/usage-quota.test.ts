/**
 * A metered quota end to end on the local stack (authorizer cache on): the client is served
 * until the meters see its quota used up, then suspended through the client record → stream
 * → fan-out → revocation feed → authorizer, with the authorizer cache flushed; it gets 403
 * `quota_exceeded` with `Retry-After` until an operator resumes it. What got through after
 * the limit (the overshoot) is the request rate times the pipeline's delay. That delay is
 * wall-clock time on a shared machine, so here it only has a ceiling that a stuck pipeline
 * (a retry waiting out a timeout, a missed poll) would break; its bound is proven with one
 * injected clock in test/integration/usage/quota-pipeline.test.ts and measured in the
 * benchmark (U3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECONDS_PER_DAY } from '../../common/defaults';
import { SUSPENDED_RESPONSES } from '../../common/usage';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { tollgate } from '../unit/cli/harness';
import { adminCall, exchangeApiKey } from '../support/local-stack-http';

/** From the response that used the quota up to the first refusal: documented as about 2 s locally (docs/usage.md, "Overshoot"). */
const SUSPENSION_CEILING_MS = 20_000;

describe('metered quota on the local stack', () => {
  let stack: LocalStack;
  let dataDir: string;
  const log: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-quota-'));
    stack = await startLocalStack({
      port: 0,
      dataDir,
      fresh: true,
      usageFlushMs: 250,
      log: (line) => {
        if (line.startsWith('{')) log.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = (method: string, path: string, body?: unknown) => adminCall(stack, method, path, body);

  it('stops a 30-a-day client after at most 30 + the overshoot, answers 403 quota_exceeded with Retry-After, and serves it again once resumed', async () => {
    const created = await admin('POST', '/admin/clients/metered/keys', { scopes: ['orders:read'] });
    expect(created.status).toBe(201);
    const apiKey = String(created.body.apiKey);
    const exchange = await exchangeApiKey(stack.url, 'metered', apiKey);
    const token = ((await exchange.json()) as { access_token: string }).access_token;

    const cli = (...argv: string[]) => tollgate([...argv, '--url', stack.url], { env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken } });
    const set = await cli('usage', 'quota', 'metered', '--limit', '30', '--period', 'DAY', '--json');
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ clientId: 'metered', quota: { limit: 30, period: 'DAY' }, period: { used: 0, remaining: 30 } });
    const refusedPeriod = await cli('usage', 'quota', 'metered', '--limit', '30', '--period', 'YEAR');
    expect(refusedPeriod.code).toBe(1);
    expect(refusedPeriod.stderr).toMatch(/invalid_request: .*quota\.period/);

    // About 20 requests a second until refused, for at most 30 s.
    const statuses: number[] = [];
    let served = 0;
    let refusal: Response | undefined;
    let usedUpAt = 0;
    let refusedAt = 0;
    const deadline = Date.now() + 30_000;
    while (refusal === undefined && Date.now() < deadline) {
      const response = await fetch(`${stack.url}/orders/1`, { headers: { Authorization: `Bearer ${token}` } });
      statuses.push(response.status);
      if (response.status === 403) [refusal, refusedAt] = [response, Date.now()];
      else await response.arrayBuffer();
      if (response.status === 200 && ++served === 30) usedUpAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refusal, `statuses: ${statuses.join(',')}`).toBeDefined();
    // Refused only after its whole quota was served, and within the ceiling after that.
    expect(served).toBeGreaterThanOrEqual(30);
    expect(refusedAt - usedUpAt).toBeLessThan(SUSPENSION_CEILING_MS);
    const retryAfter = Number(refusal!.headers.get('retry-after'));
    expect(await refusal!.json()).toEqual({ ...SUSPENDED_RESPONSES.quota_exceeded.body, retry_after: String(retryAfter) });
    const dayEnd = Math.ceil(Date.now() / 1000 / SECONDS_PER_DAY) * SECONDS_PER_DAY;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(dayEnd - Math.floor(Date.now() / 1000) + 1);

    // Refused from the cache and fresh alike.
    const again = await fetch(`${stack.url}/orders/2`, { headers: { Authorization: `Bearer ${token}` } });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { error: string }).error).toBe('quota_exceeded');

    const shown = await admin('GET', '/admin/clients/metered/quota');
    expect(shown.body).toMatchObject({ suspendedUntil: dayEnd, quota: { limit: 30 }, period: { remaining: 0 } });
    const shownCli = await cli('usage', 'quota', 'metered');
    expect(shownCli.stdout).toContain(`suspended    until ${new Date(dayEnd * 1000).toISOString().replace('.000Z', 'Z')}`);
    expect(log.some((line) => line.event === 'eventbridge' && line.detailType === 'Tollgate Usage Limit Approaching')).toBe(true);
    expect(log.some((line) => line.event === 'eventbridge' && line.detailType === 'Tollgate Usage Quota Exceeded')).toBe(true);

    // The refusals are metered as quota_exceeded denials.
    await stack.usage.flush();
    const usage = await admin('GET', `/admin/clients/metered/usage?from=${Math.floor(Date.now() / 1000) - 300}`);
    expect((usage.body.totals as { deniedBy: Record<string, number> }).deniedBy.quota_exceeded).toBeGreaterThanOrEqual(2);

    // An operator lifts the suspension: the same token is served again once the feed and the flush have carried it.
    const policy = await cli('clients', 'anomaly-policy', 'metered', 'suspend');
    expect(policy.stdout).toBe('Anomalies of metered now suspend it for an hour.\n');
    const resumed = await cli('clients', 'resume', 'metered');
    expect(resumed, resumed.stderr).toMatchObject({ code: 0, stdout: 'metered is not suspended; its tokens are served (within the revocation bound).\n' });
    let status = 0;
    const until = Date.now() + 15_000;
    while (status !== 200 && Date.now() < until) {
      const response = await fetch(`${stack.url}/orders/3`, { headers: { Authorization: `Bearer ${token}` } });
      status = response.status;
      await response.arrayBuffer();
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  }, 90_000);

  it("stops one API key with a 20-a-day quota after at most 20 + the overshoot while the same client's other key keeps working, and serves it again once resumed", async () => {
    const keyOf = async () => {
      const created = await admin('POST', '/admin/clients/perkey/keys', { scopes: ['orders:read'] });
      expect(created.status).toBe(201);
      const apiKey = String(created.body.apiKey);
      const exchange = await exchangeApiKey(stack.url, 'perkey', apiKey);
      return { keyId: String((created.body.key as { keyId: string }).keyId), token: ((await exchange.json()) as { access_token: string }).access_token };
    };
    const limited = await keyOf();
    const other = await keyOf();
    const get = async (token: string, path = '/orders/1') => {
      const response = await fetch(`${stack.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      return { status: response.status, headers: response.headers, body: await response.text() };
    };

    const cli = (...argv: string[]) => tollgate([...argv, '--url', stack.url], { env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken } });
    const set = await cli('usage', 'quota', '--key', limited.keyId, '--limit', '20', '--period', 'DAY', '--json');
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      keyId: limited.keyId,
      clientId: 'perkey',
      quota: { limit: 20, period: 'DAY' },
      period: { used: 0, remaining: 20 },
    });
    const both = await cli('usage', 'quota', 'perkey', '--key', limited.keyId);
    expect(both.code).toBe(2);

    // Both keys in turn, about 9 requests a second each, until the limited one is refused (at most 30 s).
    let served = 0;
    let otherServed = 0;
    let refusal: Awaited<ReturnType<typeof get>> | undefined;
    let usedUpAt = 0;
    let refusedAt = 0;
    const deadline = Date.now() + 30_000;
    while (refusal === undefined && Date.now() < deadline) {
      const response = await get(limited.token);
      if (response.status !== 200) [refusal, refusedAt] = [response, Date.now()];
      else if (++served === 20) usedUpAt = Date.now();
      const otherResponse = await get(other.token);
      expect(otherResponse.status).toBe(200);
      otherServed += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(refusal, `served ${served}`).toBeDefined();
    expect(refusal!.status).toBe(403);
    expect(served).toBeGreaterThanOrEqual(20);
    expect(refusedAt - usedUpAt).toBeLessThan(SUSPENSION_CEILING_MS);
    const retryAfter = Number(refusal!.headers.get('retry-after'));
    expect(JSON.parse(refusal!.body)).toEqual({ ...SUSPENDED_RESPONSES.quota_exceeded.body, retry_after: String(retryAfter) });
    const dayEnd = Math.ceil(Date.now() / 1000 / SECONDS_PER_DAY) * SECONDS_PER_DAY;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(dayEnd - Math.floor(Date.now() / 1000) + 1);

    // The other key keeps working, from the cache and fresh; the limited one stays refused; the client is not suspended.
    expect((await get(other.token, '/orders/2')).status).toBe(200);
    expect((await get(limited.token, '/orders/2')).status).toBe(403);
    expect(otherServed).toBeGreaterThan(served);
    expect((await admin('GET', '/admin/clients/perkey/quota')).body).toEqual({ clientId: 'perkey' });
    const shown = await cli('usage', 'quota', '--key', limited.keyId);
    expect(shown.stdout).toContain(`suspended    until ${new Date(dayEnd * 1000).toISOString().replace('.000Z', 'Z')}`);
    // (Whether a batch lands between 80% and the limit depends on timing here; the notices are the integration test's.)
    const exceeded = log.find(
      (line) =>
        line.event === 'eventbridge' && line.detailType === 'Tollgate Usage Quota Exceeded' && (line.detail as { keyId?: string }).keyId === limited.keyId,
    );
    expect(exceeded?.detail).toMatchObject({ clientId: 'perkey', keyId: limited.keyId, limit: 20, period: 'DAY' });

    // An operator lifts the key's suspension: served again once the feed and the flush have carried it.
    const resumed = await cli('keys', 'resume', limited.keyId);
    expect(resumed, resumed.stderr).toMatchObject({
      code: 0,
      stdout: `${limited.keyId} is not suspended; its tokens are served (within the revocation bound).\n`,
    });
    let status = 0;
    const until = Date.now() + 15_000;
    while (status !== 200 && Date.now() < until) {
      status = (await get(limited.token, '/orders/3')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  }, 90_000);
});
