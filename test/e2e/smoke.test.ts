/**
 * `npx tollgate smoke` against real local mode (the whole stack in-process, DynamoDB Local
 * and the local KMS endpoint included, the built-in echo upstream): a passing run, and a
 * run whose upstream step fails — the cleanup still revokes what the run created and the
 * exit status is non-zero. The stack runs the functions' bundles as deployed, the AWS SDK
 * inside (`local/handler-code.ts`), not their sources: the rest of the e2e tests run those.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi } from '../../client/admin-api';
import { bearerAuth } from '../../client/admin-auth';
import type { FetchLike } from '../../client/api-http';
import { startEcho } from '../../local/echo';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { Functions } from '../../common/functions';
import { tempDirs } from '../support/temp-dirs';
import { rows, tollgate, type CliRun } from '../unit/cli/harness';

const tempDir = tempDirs('tollgate-smoke-');

describe('tollgate smoke against local mode', () => {
  let stack: LocalStack;
  let admin: AdminApi;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = tempDir('state-');
    stack = await startLocalStack({ port: 0, dataDir: stateDir, fresh: true, handlerCode: 'bundled', log: () => undefined });
    admin = new AdminApi({ baseUrl: stack.url, auth: bearerAuth(stack.adminToken) });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const smoke = (...args: string[]) => tollgate(['smoke', '--url', stack.url, ...args], { env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken } });

  /** RESULT, STEP, TIME, DETAIL per row, keyed by step. */
  const table = (run: CliRun) =>
    new Map(
      rows(run.stdout.split('\n\n')[0]!)
        .slice(1)
        .map(([result, step, time, detail]) => [step!, { result, time, detail: detail ?? '' }]),
    );

  /** The throw-away client the run created, from its first row. */
  const clientOf = (run: CliRun) => /client (smoke-[0-9a-f]+)/.exec(run.stdout)?.[1];

  async function expectAllRevoked(clientId: string) {
    const { keys } = await admin.listAllKeys(clientId);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.map((k) => k.status)).toEqual(keys.map(() => 'revoked'));
  }

  it('runs each function from its bundle', () => {
    const names = Object.keys(Functions); // every function the stack deploys
    expect(stack.handlerModules).toEqual(Object.fromEntries(names.map((name) => [name, pathToFileURL(join(stateDir, 'functions', name, 'index.mjs')).href])));
    for (const name of names) expect(readdirSync(join(stateDir, 'functions', name)).sort(), name).toEqual(['index.mjs', 'index.mjs.map']);
  });

  it('passes every step on a healthy local mode, measures the revocation, and revokes what it created', async () => {
    const run = await smoke();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const steps = table(run);
    expect([...steps.keys()]).toEqual([
      'create client and key',
      'exchange the key for tokens',
      'GET /orders/smoke-test through the gateway',
      'bearer token kept from the upstream',
      'client X-Tollgate-* headers kept from the upstream',
      'revoked token refused',
      'GET /.well-known/jwks.json',
      'signing-key rotation status',
      'clean up',
    ]);
    for (const [step, row] of steps) expect({ step, result: row.result }).toEqual({ step, result: 'PASS' });
    expect(steps.get('client X-Tollgate-* headers kept from the upstream')!.detail).toBe('refused by the authorizer (401)');
    expect(steps.get('revoked token refused')!.detail).toMatch(/^refused \d+ ms after the revocation$/);
    expect(run.stdout).toContain('Smoke test passed.');
    await expectAllRevoked(clientOf(run)!);

    // The metering function's bundle counted the run's requests (flush rejects if a delivery failed).
    await stack.usage.flush();
    const usage = await fetch(`${stack.url}/admin/clients/${clientOf(run)}/usage?from=${Math.floor(Date.now() / 1000) - 600}`, {
      headers: { Authorization: `Bearer ${stack.adminToken}` },
    });
    expect(usage.status).toBe(200);
    const { totals } = (await usage.json()) as { totals: { requests: number; allowed: number } };
    expect(totals.allowed).toBeGreaterThan(0);
    expect(totals.requests).toBeGreaterThanOrEqual(totals.allowed);
  }, 120_000);

  it('fails (exit 1) when a step fails, skips what depends on it, and still cleans up', async () => {
    // No route serves this path: the gateway answers 403 instead of the upstream's 2xx.
    const run = await smoke('--path', '/not-a-route');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('tollgate: smoke test failed: GET /not-a-route through the gateway\n');
    const steps = table(run);
    expect(steps.get('GET /not-a-route through the gateway')).toMatchObject({ result: 'FAIL', detail: expect.stringMatching(/^HTTP 403 /) });
    for (const dependent of ['bearer token kept from the upstream', 'client X-Tollgate-* headers kept from the upstream', 'revoked token refused']) {
      expect(steps.get(dependent)).toMatchObject({ result: 'SKIP', detail: 'not run: an earlier step it needs failed' });
    }
    expect(steps.get('clean up')!.result).toBe('PASS');
    expect(run.stdout).toMatch(/Smoke test FAILED: 1 of 9 steps failed\./);
    await expectAllRevoked(clientOf(run)!);
  }, 120_000);

  it('fails when client X-Tollgate-* values reach the upstream (a gateway that forwards them, simulated by sending that probe straight to an echo)', async () => {
    const echo = await startEcho();
    try {
      const leaky: FetchLike = (input, init) => {
        const headers = new Headers(init?.headers);
        if (!headers.has('X-Tollgate-Smoke-Probe')) return fetch(input, init);
        const url = new URL(input instanceof Request ? input.url : String(input));
        return fetch(`${echo.url}${url.pathname}`, init);
      };
      const run = await tollgate(['smoke', '--url', stack.url], { env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken }, fetch: leaky });
      expect(run.code).toBe(1);
      expect(table(run).get('client X-Tollgate-* headers kept from the upstream')).toMatchObject({
        result: 'FAIL',
        detail: 'the upstream received client values in x-tollgate-client-id, x-tollgate-scopes, x-tollgate-smoke-probe',
      });
      expect(table(run).get('clean up')!.result).toBe('PASS');
      await expectAllRevoked(clientOf(run)!);
    } finally {
      await echo.close();
    }
  }, 120_000);

  it('prints the results as JSON with --json', async () => {
    const run = await tollgate(['smoke', '--url', stack.url, '--json'], { env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken } });
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as { step: string; status: string; ms: number }[];
    expect(results).toHaveLength(9);
    expect(results.every((r) => r.status === 'pass' && typeof r.ms === 'number')).toBe(true);
  }, 120_000);

  it('refuses a bad --path before anything is created (exit 2)', async () => {
    const run = await smoke('--path', 'orders');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--path/);
    expect(run.stdout).toBe('');
  });
});
