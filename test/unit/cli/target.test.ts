import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stateFileDistrust } from '../../../cli/target';
import type { FetchLike } from '../../../client/api-http';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
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

describe('a state file someone else wrote (a cloned repository can hold one)', () => {
  /** Records every request instead of sending it. */
  function recorder(): { seen: Array<[string, string | undefined]>; fetch: FetchLike } {
    const seen: Array<[string, string | undefined]> = [];
    return {
      seen,
      fetch: async (input, init) => {
        seen.push([String(input), new Headers(init?.headers).get('authorization') ?? undefined]);
        return new Response('{"keys":[]}', { status: 200, headers: { 'content-type': 'application/json' } });
      },
    };
  }
  const statePath = () => join(cwd, '.local', 'state.json');

  it('refuses a state file whose url is not loopback, naming it, and sends no secret there (exit 2)', async () => {
    writeLocalState(cwd, { url: 'http://attacker.example:8080/', adminToken: 'tga_planted' });
    const apiKey = generateApiKey().apiKey;
    for (const [argv, env] of [
      [['token'], { TOLLGATE_API_KEY: apiKey }],
      [['keys', 'list', 'x'], { TOLLGATE_ADMIN_TOKEN: 'tga_mine' }],
      [['signing-keys', 'status'], {}],
    ] as const) {
      const { seen, fetch } = recorder();
      const result = await tollgate(argv, { cwd, env, fetch });
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: `tollgate: ${statePath()} names http://attacker.example:8080, which is not this machine; \`npm start\` only ever writes a loopback URL there, so the file was put there by someone else: delete it, or pass --url or --stack to choose the server\n`,
      });
      expect(seen).toEqual([]);
    }
  });

  it('scan --revoke sends no found key to a non-loopback url from a state file', async () => {
    writeLocalState(cwd, { url: 'https://attacker.example/' });
    writeFileSync(join(cwd, 'leak.txt'), `${generateApiKey().apiKey}\n`);
    const { seen, fetch } = recorder();
    const result = await tollgate(['scan', '--revoke', 'leak.txt'], { cwd, fetch });
    expect(result.stderr).toContain(`${statePath()} names https://attacker.example, which is not this machine`);
    expect(seen).toEqual([]);
  });

  it('uses a state file url on any loopback host: 127.0.0.0/8, ::1, localhost', async () => {
    for (const url of ['http://127.0.0.2:9000', 'http://[::1]:9000', 'http://localhost:9000', 'https://127.255.0.1']) {
      writeLocalState(cwd, { url, adminToken: 'tga_local' });
      const { seen, fetch } = recorder();
      expect((await tollgate(status, { cwd, fetch })).code).toBe(0);
      expect(seen).toEqual([[`${new URL(url).origin}/admin/signing-keys`, 'Bearer tga_local']]);
    }
  });

  it('with --url or TOLLGATE_URL the state file chooses nothing, and its token goes nowhere', async () => {
    writeLocalState(cwd, { url: 'http://attacker.example/', adminToken: 'tga_planted' });
    const { seen, fetch } = recorder();
    expect((await tollgate(status, { cwd, fetch, env: { TOLLGATE_ADMIN_TOKEN: 'tga_mine', TOLLGATE_URL: 'http://127.0.0.1:9' } })).code).toBe(0);
    const other = await tollgate([...status, '--url', 'https://elsewhere.example/'], { cwd, fetch });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^tollgate: no admin token for https:\/\/elsewhere\.example\/: set TOLLGATE_ADMIN_TOKEN/);
    expect(seen).toEqual([
      ['http://127.0.0.1:9/admin/signing-keys', 'Bearer tga_mine'],
      ['https://elsewhere.example/', undefined],
    ]);
  });

  it.skipIf(process.platform === 'win32')('refuses a state file that its group or everyone may write (exit 2, nothing sent)', async () => {
    writeLocalState(cwd, { url: first.url, adminToken: 'tga_state' });
    chmodSync(statePath(), 0o666);
    const result = await tollgate(status, { cwd });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `tollgate: ${statePath()} is writable by everyone (mode 0666), so someone else may have chosen where it sends your secrets: delete it, or pass --url or --stack to choose the server\n`,
    });
    chmodSync(statePath(), 0o620);
    expect((await tollgate(status, { cwd })).stderr).toContain('is writable by its group (mode 0620)');
    expect(first.requests).toHaveLength(0);
  });

  it('believes only a state file of the current user that no one else may write (POSIX; not checked on Windows)', () => {
    expect(stateFileDistrust({ uid: 1000, mode: 0o100600 }, 1000)).toBeUndefined();
    expect(stateFileDistrust({ uid: 1001, mode: 0o100600 }, 1000)).toBe('is owned by another user (uid 1001)');
    expect(stateFileDistrust({ uid: 1000, mode: 0o100644 }, 1000)).toBeUndefined();
    expect(stateFileDistrust({ uid: 1001, mode: 0o100666 }, undefined)).toBeUndefined();
  });
});
