/**
 * Where local mode keeps its state, and the small file through which the CLI finds a
 * running local server (its URL and admin token) without copy-pasting.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Relative to the directory `npm start` runs in, unless {@link LOCAL_DIR_ENV} names another. */
export const LOCAL_STATE_DIR = '.local';
/** Lets tests (and a second local stack) keep their state apart from a developer's own. */
export const LOCAL_DIR_ENV = 'TOLLGATE_LOCAL_DIR';

/** The environment variables of local mode itself (the functions' own are in `Env`); the CLI reads the admin token's too. */
export const LocalEnv = {
  port: 'PORT',
  upstreamUrl: 'UPSTREAM_URL',
  adminToken: 'TOLLGATE_ADMIN_TOKEN',
} as const;

/** README.md#quickstart: where `npm start` listens unless `PORT` says otherwise. */
export const DEFAULT_LOCAL_PORT = 8787;

export function localStateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env[LOCAL_DIR_ENV] || LOCAL_STATE_DIR;
}

export interface LocalState {
  readonly url: string;
  readonly adminToken: string;
  readonly pid: number;
}

export function localStatePaths(root: string) {
  return {
    root,
    dataDir: join(root, 'data'),
    pidFile: join(root, 'tollgate.pid'),
    /** Mode 0600: it holds the admin token. */
    stateFile: join(root, 'state.json'),
  };
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a file only its owner may read (mode 0600), through a new file renamed over the old
 * one: `writeFileSync`'s `mode` applies only to a file it creates, so writing over an existing
 * file would keep that file's wider mode while it receives a secret, and a crash mid-write
 * would leave it truncated.
 */
export function writePrivateFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
