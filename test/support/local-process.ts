/**
 * `npm start` as a child process, as a user runs it: started on a port it picks itself,
 * read from its banner, stopped as Ctrl-C would stop it, and the processes below it listed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { API_KEY_PATTERN } from '../../common/tokens';

const REPO = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

export interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly apiKey: string;
  output(): string;
}

/**
 * Every `npm start` spawned here. Each runs in its own process group, which neither a
 * failed start nor the end of the vitest worker would stop: a test file using
 * {@link startLocal} calls `afterAll(killSpawned)`.
 */
const spawned: ChildProcess[] = [];

export function killSpawned(): void {
  for (const child of spawned.splice(0)) killGroup(child);
}

export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // The whole group is gone already.
  }
}

/** Starts `npm start` on a port it picks itself (PORT=0) and reads the URL from its banner. */
export async function startLocal(stateDir: string, fresh: boolean, env: Record<string, string> = {}, options: readonly string[] = []): Promise<Running> {
  const startOptions = [...(fresh ? ['--fresh'] : []), ...options];
  const args = ['start', '--silent', ...(startOptions.length ? ['--', ...startOptions] : [])];
  // Its own process group, so stopping it stops npm, tsx and node together, as Ctrl-C would.
  const child = spawn('npm', args, {
    cwd: REPO,
    env: { ...process.env, PORT: '0', TOLLGATE_LOCAL_DIR: stateDir, TOLLGATE_ADMIN_TOKEN: '', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const deadline = Date.now() + 90_000;
    while (!/^ready: /m.test(output)) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not print ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const url = /^ready: listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)?.[1];
    const adminToken = /Admin token[^\n]*\n\s+(\S+)/.exec(output)?.[1];
    const apiKey = API_KEY_PATTERN.exec(output)?.[0];
    if (!url || !adminToken || !apiKey) throw new Error(`banner without its URL, admin token or API key:\n${output}`);
    return { child, url, port: Number(new URL(url).port), adminToken, apiKey, output: () => output };
  } catch (error) {
    killGroup(child);
    throw error;
  }
}

export async function stopLocal(running: Running | undefined): Promise<void> {
  const child = running?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
}

/** Every process below `root` (pid and command line), from `ps`. */
export async function descendants(root: number): Promise<{ pid: number; command: string }[]> {
  const { stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=,args=']);
  const rows = stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, pid, ppid, command]) => ({ pid: Number(pid), ppid: Number(ppid), command: command! }));
  const found: { pid: number; command: string }[] = [];
  const walk = (parent: number) => {
    for (const row of rows.filter((r) => r.ppid === parent)) {
      found.push({ pid: row.pid, command: row.command });
      walk(row.pid);
    }
  };
  walk(root);
  return found;
}
