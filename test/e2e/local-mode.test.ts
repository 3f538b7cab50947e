/**
 * Local mode as a user runs it: `npm start` as a child process, the printed flow driven
 * with plain HTTP and with the CLI, then a restart on the same data; and a start with
 * other routes stopped by SIGTERM to the npm process alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from '../../local/state';
import { Limits } from '../../common/defaults';
import { Functions } from '../../common/functions';
import { portIsOpen } from '../support/ports';
import { descendants, killSpawned, startLocal, stopLocal, type Running } from '../support/local-process';

const REPO = join(import.meta.dirname, '..', '..');
const ROLL_GRACE_SECONDS = 8;
const run = promisify(execFile);

afterAll(killSpawned);

async function exchange(url: string, clientId: string, apiKey: string, scope?: string): Promise<Response> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}` },
    body,
  });
}

async function accessToken(url: string, clientId: string, apiKey: string): Promise<string> {
  const response = await exchange(url, clientId, apiKey);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function call(url: string, token: string, path = '/orders/42', method = 'GET'): Promise<Response> {
  return fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
}

/** Polls until the call is refused; returns the milliseconds it took (bounded, never asserted as a speed). */
async function msUntilRefused(url: string, token: string, boundMs = 20_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < boundMs) {
    if ((await call(url, token)).status === 401) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`still accepted ${boundMs} ms after revocation`);
}

async function cli(stateDir: string, args: string[]): Promise<{ stdout: string; code: number; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, 'cli', 'tollgate.mjs'), ...args], {
      cwd: REPO,
      env: { ...process.env, TOLLGATE_LOCAL_DIR: stateDir, TOLLGATE_URL: '', TOLLGATE_ADMIN_TOKEN: '' },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

describe('npm start, end to end', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
  let local: Running | undefined;

  beforeAll(async () => {
    local = await startLocal(stateDir, true);
  }, 120_000);

  afterAll(async () => {
    await stopLocal(local);
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it('prints the admin token, a demo API key and copy-paste curl lines', () => {
    const banner = local!.output();
    expect(banner).toMatch(new RegExp(`^\\s+gateway\\s+${local!.url}\\s`, 'm'));
    expect(banner).toContain('  functions      TypeScript sources (npm start -- --bundled for the deployed bundles)');
    expect(banner).toMatch(/curl .*\/oauth\/token/);
    expect(banner).toMatch(/curl .*\/oauth\/revoke/);
  });

  it('exchanges the demo key and proxies with context headers and without the bearer token', async () => {
    const token = await accessToken(local!.url, 'demo', local!.apiKey);
    const response = await call(local!.url, token);
    expect(response.status).toBe(200);
    const seen = (await response.json()) as { headers: Record<string, string> };
    expect(seen.headers['x-tollgate-client-id']).toBe('demo');
    expect(seen.headers['x-tollgate-scopes']).toBe('orders:read');
    expect(seen.headers['x-tollgate-token-id']).toMatch(/\S+/);
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('answers 403 insufficient_scope for a route the token has no scope for', async () => {
    const token = await accessToken(local!.url, 'demo', local!.apiKey);
    const response = await call(local!.url, token, '/orders', 'POST');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('insufficient_scope');
  });

  it('refuses a token revoked by its client (RFC 7009) everywhere within seconds', async () => {
    const token = await accessToken(local!.url, 'demo', local!.apiKey);
    expect((await call(local!.url, token)).status).toBe(200);
    const revoke = await fetch(`${local!.url}/oauth/revoke`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`demo:${local!.apiKey}`).toString('base64')}` },
      body: new URLSearchParams({ token }),
    });
    expect(revoke.status).toBe(200);
    const ms = await msUntilRefused(local!.url, token);
    console.log(`revocation propagated in ${ms} ms`);
  });

  it('drives keys with the CLI: create, list, roll with grace, revoke a client', async () => {
    const created = await cli(stateDir, ['keys', 'create', 'shop', '--scopes', 'orders:read,orders:write', '--json']);
    expect(created.code).toBe(0);
    const { apiKey, key } = JSON.parse(created.stdout) as { apiKey: string; key: { keyId: string } };
    const writer = await accessToken(local!.url, 'shop', apiKey);
    expect((await call(local!.url, writer, '/orders', 'POST')).status).toBe(200);

    const listed = await cli(stateDir, ['keys', 'list', 'shop']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(key.keyId);

    const rolled = await cli(stateDir, ['keys', 'roll', key.keyId, '--grace-seconds', String(ROLL_GRACE_SECONDS), '--json']);
    expect(rolled.code).toBe(0);
    const { apiKey: next, key: successor } = JSON.parse(rolled.stdout) as { apiKey: string; key: { createdAt: number } };
    expect((await exchange(local!.url, 'shop', next)).status).toBe(200);
    expect((await exchange(local!.url, 'shop', apiKey)).status).toBe(200);
    // The grace is data, not a stopwatch: the old key expires exactly that long after the roll
    // (admin-api.test.ts checks the refusal at that instant with an injected clock).
    const old = JSON.parse((await cli(stateDir, ['keys', 'show', key.keyId, '--json'])).stdout) as { expiresAt: number };
    expect(old.expiresAt).toBe(successor.createdAt + ROLL_GRACE_SECONDS);
    // The old key stops working once the grace ends (waited for, never timed).
    const waitedFrom = Date.now();
    let afterGrace = await exchange(local!.url, 'shop', apiKey);
    while (afterGrace.status === 200 && Date.now() - waitedFrom < 4 * ROLL_GRACE_SECONDS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      afterGrace = await exchange(local!.url, 'shop', apiKey);
    }
    expect(afterGrace.status).toBe(401);
    expect(await afterGrace.json()).toMatchObject({ error: 'invalid_client' });

    const token = await accessToken(local!.url, 'shop', next);
    const revoked = await cli(stateDir, ['clients', 'revoke', 'shop']);
    expect(revoked.code).toBe(0);
    console.log(`client revocation propagated in ${await msUntilRefused(local!.url, token)} ms`);
    expect((await exchange(local!.url, 'shop', next)).status).toBe(401);

    const missing = await cli(stateDir, ['keys', 'show', 'key_00000000000000000000']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('key_not_found');
  }, 120_000);

  it('rotates the signing key during traffic without a single failed request', async () => {
    const admin = { Authorization: `Bearer ${local!.adminToken}` };
    const ring = async () =>
      ((await (await fetch(`${local!.url}/admin/signing-keys`, { headers: admin })).json()) as { keys: { kid: string; state: string }[] }).keys;
    const activeKid = async () => (await ring()).find((key) => key.state === 'active')!.kid;
    const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const before = await activeKid();
    // Three workers call as fast as the machine lets them: lift the demo client above the
    // default plan's 50 requests/s, so every refusal here is about keys, not throttling.
    const lifted = await fetch(`${local!.url}/admin/clients/demo/limits`, {
      method: 'PUT',
      headers: { ...admin, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rateLimit: Limits.rateLimitMax, burstLimit: Limits.burstLimitMax }),
    });
    expect(lifted.status).toBe(200);

    const failures: string[] = [];
    const kids = new Set<string>();
    let requests = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const response = await exchange(local!.url, 'demo', local!.apiKey);
        if (response.status !== 200) {
          failures.push(`exchange ${response.status}`);
          continue;
        }
        const token = ((await response.json()) as { access_token: string }).access_token;
        kids.add(kidOf(token));
        for (let i = 0; i < 5 && running; i += 1) {
          const status = (await call(local!.url, token)).status;
          requests += 1;
          if (status !== 200) failures.push(`call ${status} with kid ${kidOf(token)}`);
        }
      }
    };
    const traffic = Promise.all([worker(), worker(), worker()]);

    const rotated = await cli(stateDir, ['signing-keys', 'rotate', '--json']);
    expect(rotated.code).toBe(0);
    const deadline = Date.now() + 60_000;
    while ((await activeKid()) === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    const after = await activeKid();
    // Keep calling with tokens of both keys for a while after the switch.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    running = false;
    await traffic;

    expect(after).not.toBe(before);
    expect((await ring()).find((key) => key.kid === before)?.state).toBe('retiring');
    expect([...kids]).toEqual(expect.arrayContaining([before, after]));
    expect(requests).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  }, 120_000);

  it('keeps keys across a restart on the same data, with one active demo key', async () => {
    const before = local!.apiKey;
    const kept = await cli(stateDir, ['keys', 'create', 'keeper', '--scopes', 'orders:read', '--json']);
    expect(kept.code).toBe(0);
    const keeperKey = (JSON.parse(kept.stdout) as { apiKey: string }).apiKey;
    // An operator's own key for the demo client is not one npm start replaces.
    const own = await cli(stateDir, ['keys', 'create', 'demo', '--scopes', 'orders:read', '--json']);
    expect(own.code).toBe(0);
    const ownKey = (JSON.parse(own.stdout) as { apiKey: string }).apiKey;

    // Ctrl-C: every process of the group gets SIGINT, and npm forwards its own to node as well,
    // which may arrive after node has begun stopping: sent here a moment later to make sure.
    const stopped = local!;
    const node = (await descendants(stopped.child.pid!)).find((p) => p.command.includes('local/start.ts'))!;
    const closed = new Promise((resolve) => stopped.child.once('close', resolve));
    process.kill(-stopped.child.pid!, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      process.kill(node.pid, 'SIGINT');
    } catch {
      // already gone: nothing left to race
    }
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    expect(stopped.output()).toMatch(/^stopping…$/m);
    // Cleaned up, not killed by the second SIGINT: a stale state file would point the CLI at a dead server.
    expect(readdirSync(stateDir).sort()).toEqual(['data']);
    local = await startLocal(stateDir, false);
    expect(local.apiKey).not.toBe(before);
    expect((await exchange(local.url, 'keeper', keeperKey)).status).toBe(200);
    expect((await exchange(local.url, 'demo', ownKey)).status).toBe(200);
    expect((await exchange(local.url, 'demo', local.apiKey)).status).toBe(200);
    // The earlier start's demo key is revoked, not left active forever.
    const refused = await exchange(local.url, 'demo', before);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });

    const listed = await cli(stateDir, ['keys', 'list', 'demo', '--json']);
    const keys = (JSON.parse(listed.stdout) as { keys: { status: string; description?: string }[] }).keys;
    const activeDemoKeys = keys.filter((key) => key.status === 'active' && key.description === 'demo key created by npm start');
    expect(activeDemoKeys).toHaveLength(1);
    expect(keys.filter((key) => key.status === 'active')).toHaveLength(2);
  }, 120_000);
});

describe('npm start --bundled with other routes, stopped by SIGTERM to npm alone', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-stop-'));
  const routes = [{ method: 'GET', path: '/users/{id}', scopes: ['users:read'] }];
  let local: Running | undefined;

  beforeAll(async () => {
    local = await startLocal(stateDir, true, { TOLLGATE_ROUTES: JSON.stringify(routes) }, ['--bundled']);
  }, 120_000);

  afterAll(async () => {
    // Whatever a failed test left behind: npm may be gone while its group lives on.
    await stopLocal(local);
    const group = local?.child.pid;
    if (group) {
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        try {
          process.kill(-group, signal);
        } catch {
          break; // no process of the group is left
        }
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it('runs the functions from their bundles, and says so', () => {
    // Every function the stack deploys.
    expect(readdirSync(join(stateDir, 'data', 'functions')).sort()).toEqual(Object.keys(Functions).sort());
    // Printed from the modules the stack imported, not from the option given.
    expect(local!.output()).toContain(`  functions      bundles as deployed, from ${join(stateDir, 'data', 'functions')}/`);
  });

  it('prints the routes in force instead of the /orders curl flow', () => {
    const banner = local!.output();
    expect(banner).toContain('The copy-paste curl flow needs the default /orders routes');
    expect(banner).toContain('  GET /users/{id}  users:read');
    expect(banner).not.toMatch(/^\s+curl /m);
    expect(banner).toMatch(/^ready: /m);
  });

  it('stops node and DynamoDB Local, and with them their ports', async () => {
    const npm = local!.child;
    const started = await descendants(npm.pid!);
    const dynamoPort = Number(/DynamoDB Local http:\/\/127\.0\.0\.1:(\d+)/.exec(local!.output())?.[1]);
    // What `npm start` runs: one node process with tsx's loader (no tsx CLI in between, which
    // SIGKILLs its child when the child takes more than 30 ms to answer a relayed signal), and
    // Java with DynamoDB Local.
    expect(started.filter((p) => p.command.includes('local/start.ts')).map((p) => p.command)).toEqual([
      expect.stringMatching(/^\S*node --import tsx local\/start\.ts/),
    ]);
    expect(started.some((p) => /^\S*java\b/.test(p.command) && p.command.includes('DynamoDBLocal.jar'))).toBe(true);
    expect(await portIsOpen(local!.port)).toBe(true);
    expect(await portIsOpen(dynamoPort)).toBe(true);

    // 'close': npm has exited and every holder of its stdout and stderr has let go, so the
    // output below is complete.
    const exited = new Promise((resolve) => npm.once('close', resolve));
    process.kill(npm.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    const deadline = Date.now() + 15_000;
    while (started.some((p) => isAlive(p.pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(npm.exitCode !== null || npm.signalCode !== null).toBe(true);
    // Every process that held the two ports is gone, so are their sockets. (The ports
    // themselves are not checked: the system may hand a released port to another test's
    // server at once.)
    expect(started.filter((p) => isAlive(p.pid)).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
    expect(local!.output()).toContain('stopping…');
  }, 60_000);
});
