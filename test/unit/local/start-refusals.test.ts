/**
 * `npm start`'s program (`node --import tsx local/start.ts`) in a process of its own, given
 * input it must refuse: exit 2 with one `tollgate:` line, no stack trace, and nothing
 * started or written into the state folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { USAGE } from '../../../local/start-input';

const REPO = join(import.meta.dirname, '..', '..', '..');
/** Bounds a start that is not refused (it would run until killed); below the test timeout. */
const EXIT_BOUND_MS = 45_000;

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  // Each child leads its own process group: killing the group also stops a DynamoDB Local
  // that a start which was not refused got as far as launching.
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-start-refusal-'));
  dirs.push(dir);
  return dir;
}

function configFile(content: unknown): string {
  const path = join(tempDir(), 'bad.config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

async function start(args: string[], env: Record<string, string> = {}) {
  const stateDir = tempDir();
  const { UPSTREAM_URL, TOLLGATE_ROUTES, TOLLGATE_ADMIN_TOKEN, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: REPO,
    env: { ...inherited, TOLLGATE_LOCAL_DIR: stateDir, PORT: '0', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`still running after ${EXIT_BOUND_MS} ms:\n${stdout}${stderr}`)), EXIT_BOUND_MS).unref(),
  );
  const [code] = await Promise.race([closed, timeout]);
  return { code, stdout, stderr, stateEntries: readdirSync(stateDir) };
}

function expectRefused(run: Awaited<ReturnType<typeof start>>, line: string | RegExp): void {
  expect(run.code, run.stdout + run.stderr).toBe(2);
  const lines = run.stderr.trimEnd().split('\n');
  const tollgateLines = lines.filter((l) => l.startsWith('tollgate:'));
  expect(tollgateLines).toHaveLength(1);
  expect(tollgateLines[0]).toMatch(line);
  expect(run.stderr).not.toMatch(/^\s+at |Error\b.*\[ERR_|TypeError/m);
  // Refused before anything was written: no data/, no PID file, no state.json.
  expect(run.stateEntries).toEqual([]);
}

describe('npm start refuses bad input before it starts anything', () => {
  it('an unknown option: one line and the usage', { timeout: 60_000 }, async () => {
    const run = await start(['--bogus']);
    expectRefused(run, 'tollgate: unknown option --bogus');
    expect(run.stderr.trimEnd().split('\n')).toEqual(['tollgate: unknown option --bogus', USAGE]);
  });

  it('--config without a file name', { timeout: 60_000 }, async () => {
    expectRefused(await start(['--config']), 'tollgate: --config needs a file name (--config FILE)');
  });

  it('a config file with a misspelled key', { timeout: 60_000 }, async () => {
    const path = configFile({ tokenTTLSeconds: 120 });
    const run = await start(['--config', path]);
    expectRefused(run, `tollgate: ${path}: unknown key "tokenTTLSeconds" (did you mean "tokenTtlSeconds"?)`);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a config file value out of range, named by file and key', { timeout: 60_000 }, async () => {
    const path = configFile({ tokenTtlSeconds: 99_999 });
    expectRefused(await start(['--config', path]), `tollgate: ${path}: tokenTtlSeconds must be an integer from 60 to 3600 (seconds), got 99999`);
  });

  it('TOLLGATE_ROUTES that is JSON but not route rules', { timeout: 60_000 }, async () => {
    expectRefused(await start(['--config', configFile({})], { TOLLGATE_ROUTES: '{"a":1}' }), /^tollgate: TOLLGATE_ROUTES must be an array/);
  });

  it('an UPSTREAM_URL that is not a URL', { timeout: 60_000 }, async () => {
    expectRefused(await start(['--config', configFile({})], { UPSTREAM_URL: 'notaurl' }), /^tollgate: UPSTREAM_URL must be an absolute http/);
  });
});

describe('npm start on a port that is taken', () => {
  it('stops before it starts anything: exit 1, one line naming the port and PORT', { timeout: 60_000 }, async () => {
    const busy = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const run = await start([], { PORT: String(port) });
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(
        run.stderr
          .trimEnd()
          .split('\n')
          .filter((line) => line.startsWith('tollgate:')),
      ).toEqual([
        `tollgate: could not start: port ${port} on 127.0.0.1 is in use (by another program, or another local Tollgate): stop it, or choose another port with PORT`,
      ]);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      // The port is bound first: no DynamoDB data, no state, and the PID file is gone again.
      expect(run.stateEntries).toEqual([]);
    } finally {
      busy.close();
    }
  });
});
