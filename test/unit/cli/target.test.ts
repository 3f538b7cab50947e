import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { closedPortUrl } from '../../support/http-stub';
import { startFakeApi, type FakeApi } from './fake-api';
import { emptyDir, tollgate, writeLocalState } from './harness';

/** Two servers, so each test can see which one the CLI chose and which token it sent there. */
let first: FakeApi;
let second: FakeApi;
let cwd: string;

beforeEach(async () => {
  [first, second] = await Promise.all([startFakeApi(), startFakeApi()]);
  cwd = emptyDir();
});
afterEach(async () => {
  await Promise.all([first.close(), second.close()]);
});

const status = ['signing-keys', 'status'];

describe('which server', () => {
  it('uses the URL and admin token that npm start wrote to .local/state.json', async () => {
    writeLocalState(cwd, { url: first.url, adminToken: 'tga_from-state', pid: 1 });
    const result = await tollgate(status, { cwd });

    expect(result.code).toBe(0);
    expect(first.requests[0]!.headers.authorization).toBe('Bearer tga_from-state');
  });

  it('prefers TOLLGATE_URL to the state file, and --url to both', async () => {
    writeLocalState(cwd, { url: 'http://127.0.0.1:1', adminToken: 'tga_state' });
    const env = { TOLLGATE_URL: first.url, TOLLGATE_ADMIN_TOKEN: 'tga_env' };

    await tollgate(status, { cwd, env });
    expect(first.requests).toHaveLength(1);

    await tollgate([...status, '--url', second.url], { cwd, env });
    expect(second.requests).toHaveLength(1);
    expect(first.requests).toHaveLength(1);
  });

  it('falls back to http://127.0.0.1:8787 when nothing names a server', async () => {
    const seen: string[] = [];
    await tollgate(status, {
      cwd,
      env: { TOLLGATE_ADMIN_TOKEN: 't' },
      fetch: async (input) => {
        seen.push(String(input));
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      },
    });
    expect(seen).toEqual(['http://127.0.0.1:8787/admin/signing-keys']);
  });

  it('keeps the stage path of the base URL', async () => {
    const staged = await startFakeApi({ prefix: '/v1' });
    const result = await tollgate([...status, '--url', `${staged.url}/v1/`], { env: { TOLLGATE_ADMIN_TOKEN: 't' } });
    await staged.close();

    expect(result.code).toBe(0);
    expect(staged.requests[0]!.pathname).toBe('/v1/admin/signing-keys');
  });

  it('reads the state from TOLLGATE_LOCAL_DIR when set', async () => {
    writeLocalState(cwd, { url: first.url, adminToken: 'tga_elsewhere' }, 'other-state');
    const result = await tollgate(status, { cwd, env: { TOLLGATE_LOCAL_DIR: 'other-state' } });

    expect(result.code).toBe(0);
    expect(first.requests[0]!.headers.authorization).toBe('Bearer tga_elsewhere');
  });

  it('refuses a state file that is not JSON, naming it', async () => {
    mkdirSync(join(cwd, '.local'));
    writeFileSync(join(cwd, '.local', 'state.json'), '{"url":');
    const result = await tollgate(status, { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`tollgate: ${join(cwd, '.local', 'state.json')} is not valid JSON; stop and restart \`npm start\`, or delete it\n`);
  });
});

describe('which admin token', () => {
  it('prefers TOLLGATE_ADMIN_TOKEN to the state file', async () => {
    writeLocalState(cwd, { url: first.url, adminToken: 'tga_state' });
    await tollgate(status, { cwd, env: { TOLLGATE_ADMIN_TOKEN: 'tga_env' } });
    expect(first.requests[0]!.headers.authorization).toBe('Bearer tga_env');
  });

  it('never sends the state file token to a server other than the one that wrote it', async () => {
    writeLocalState(cwd, { url: first.url, adminToken: 'tga_state_secret' });
    const result = await tollgate([...status, '--url', second.url], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `tollgate: no admin token for ${second.url}: set TOLLGATE_ADMIN_TOKEN, or run this where \`npm start\` wrote ${join(cwd, '.local', 'state.json')}\n`,
    );
    // Only the probe that found the server answering: no admin route, no credentials.
    expect(second.requests.map((request) => [request.method, request.url, request.headers.authorization])).toEqual([['GET', '/', undefined]]);
    expect(first.requests).toHaveLength(0);
  });

  it('reports a stopped local server (no state file, no token) as unreachable, exit 3', async () => {
    // What `npx tollgate keys list demo` meets in the project directory after `npm start` stopped and deleted its state file.
    const seen: string[] = [];
    const result = await tollgate(['keys', 'list', 'demo'], {
      cwd,
      env: {},
      fetch: async (input) => {
        seen.push(String(input));
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      },
    });

    expect(result).toEqual({ code: 3, stdout: '', stderr: 'tollgate: cannot reach http://127.0.0.1:8787 (ECONNREFUSED) — is `npm start` running?\n' });
    expect(seen).toEqual(['http://127.0.0.1:8787/']);
  });

  it('reports an unreachable --url without a token as unreachable too, over real HTTP', async () => {
    const url = await closedPortUrl();
    const result = await tollgate(['limits', 'show', 'demo', '--url', url], { cwd, env: {} });
    expect(result).toEqual({ code: 3, stdout: '', stderr: `tollgate: cannot reach ${url} (ECONNREFUSED) — is \`npm start\` running?\n` });
  });

  it('keeps exit 2 for a missing token when the server answers, probing the stage path without credentials', async () => {
    const staged = await startFakeApi({ prefix: '/v1' });
    const result = await tollgate(['keys', 'show', 'key_0123456789abcdef0123', '--url', `${staged.url}/v1`], { cwd, env: {} });
    await staged.close();

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^tollgate: no admin token for ${staged.url}/v1: set TOLLGATE_ADMIN_TOKEN`));
    expect(staged.requests.map((request) => [request.method, request.url, request.headers.authorization])).toEqual([['GET', '/v1/', undefined]]);
  });

  it('the token command needs no admin token', async () => {
    const { apiKey } = second.seedKey('orders-service');
    const result = await tollgate(['token', '--url', second.url], { cwd, env: { TOLLGATE_API_KEY: apiKey } });
    expect(result.code).toBe(0);
  });
});
