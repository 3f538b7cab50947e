/**
 * The real executable `npx tollgate` runs: `cli/tollgate.mjs` registering tsx, in a child
 * process with real stdio, environment and exit status.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl } from '../../support/http-stub';
import { startFakeApi, type FakeApi } from './fake-api';
import { emptyDir } from './harness';

const BIN = fileURLToPath(new URL('../../../cli/tollgate.mjs', import.meta.url));

interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Asynchronous on purpose: the fake API answers from this same process. */
function spawnTollgate(args: readonly string[], env: Record<string, string> = {}, stdin?: string): Promise<Exit> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      // A clean environment: no developer TOLLGATE_* variables leak in; the SDK's Node-version notice is off.
      { cwd: emptyDir(), env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi({ adminToken: 'tga_shim' });
});
afterAll(() => api.close());

describe('cli/tollgate.mjs', () => {
  it('--help works without a build step', async () => {
    const result = await spawnTollgate(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: tollgate \[options\] \[command\]/);
    expect(result.stdout).toContain('signing-keys');
  });

  it('runs a command against a server and exits 0', async () => {
    const { key } = api.seedKey('orders-service');
    const result = await spawnTollgate(['keys', 'show', key.keyId, '--url', api.url, '--json'], { TOLLGATE_ADMIN_TOKEN: 'tga_shim' });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ keyId: key.keyId });
  });

  it('scan with no path: the working directory when standard input is /dev/null (a git hook, cron), the pipe when one is given', async () => {
    const cwd = emptyDir();
    const key = generateApiKey();
    writeFileSync(join(cwd, 'secret.env'), `KEY=${key.apiKey}\n`);
    // `ignore` gives the child /dev/null, as git gives a hook.
    const run = (stdin: 'ignore' | 'pipe', input = '') =>
      new Promise<Exit>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'scan'], {
          cwd,
          env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          stdio: [stdin, 'pipe', 'pipe'],
        });
        let [stdout, stderr] = ['', ''];
        child.stdout?.on('data', (chunk) => (stdout += chunk));
        child.stderr?.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin?.end(input);
      });
    const hook = await run('ignore');
    expect(hook.code, hook.stderr).toBe(1);
    expect(hook.stdout).toContain('secret.env:1:5');
    expect(await run('pipe', 'nothing here\n')).toMatchObject({ code: 0, stdout: 'No Tollgate API keys in 1 file(s).\n' });
  });

  it('reads the API key from a pipe', async () => {
    const { apiKey, key } = api.seedKey('orders-service');
    const result = await spawnTollgate(['token', '--api-key-stdin', '--url', api.url], {}, `${apiKey}\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`eyJhbGciOiJFUzI1NiJ9.${key.keyId}.sig\n`);
  });

  it('exits non-zero with the server error, and 3 when the server is down', async () => {
    const refused = await spawnTollgate(['keys', 'show', 'key_00000000000000000000', '--url', api.url], { TOLLGATE_ADMIN_TOKEN: 'tga_shim' });
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: 'tollgate: key_not_found: No API key has this keyId. (HTTP 404)\n' });

    const url = await closedPortUrl();
    const down = await spawnTollgate(['signing-keys', 'status', '--url', url], { TOLLGATE_ADMIN_TOKEN: 'x' });
    expect(down).toMatchObject({ code: 3, stderr: `tollgate: cannot reach ${url} (ECONNREFUSED) — is \`npm start\` running?\n` });
  });
});
