/**
 * The parent side of a suite: forks `bench/suites/<name>.ts` under tsx, collects its
 * figures, and stops it (SIGTERM, then SIGKILL) when it overruns its time budget or the
 * run is interrupted. Its stdout and stderr (the handlers' JSON log lines) go to a log file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figure';
import type { SuiteMessage } from './suite';

export interface LaunchOptions {
  /** File name under `bench/suites/`, without `.ts`. */
  readonly suite: string;
  readonly args: unknown;
  /** The Node.js binary it runs on (default: the runner's own). */
  readonly node?: string;
  /** Extra Node options, e.g. `--expose-gc`. */
  readonly nodeOptions?: readonly string[];
  readonly timeoutMs: number;
  readonly logFile: string;
  /** Directory for `--cpu-prof` profiles; absent: no profiling. */
  readonly profileDir?: string;
  readonly onProgress?: (text: string) => void;
}

export interface SuiteOutcome {
  readonly figures: Figure[];
  /** Why the suite failed; absent when it completed. */
  readonly error?: string;
}

const SUITES = new URL('../suites/', import.meta.url);
const KILL_GRACE_MS = 10_000;
const running = new Set<ChildProcess>();

/** Stops every suite still running (the run was interrupted). */
export function stopRunningSuites(): void {
  for (const child of running) child.kill('SIGTERM');
}

/** The end of a suite's log: what a suite that died before it could report said last. */
function logTail(file: string, lines = 12): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export function launchSuite(options: LaunchOptions): Promise<SuiteOutcome> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'w');
  const profiling = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = fork(fileURLToPath(new URL(`${options.suite}.ts`, SUITES)), [JSON.stringify(options.args)], {
    execPath: options.node,
    execArgv: ['--import', 'tsx', ...(options.nodeOptions ?? []), ...profiling],
    stdio: ['ignore', log, log, 'ipc'],
  });
  running.add(child);
  const figures: Figure[] = [];
  let failure: string | undefined;
  child.on('message', (message: SuiteMessage) => {
    if (message.type === 'figure') figures.push(message.figure);
    else if (message.type === 'progress') options.onProgress?.(message.text);
    else failure = message.message;
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, options.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      closeSync(log);
      const why = timedOut
        ? `timed out after ${Math.round(options.timeoutMs / 1000)} s`
        : (failure ?? (code === 0 ? undefined : `exited with ${signal ?? `code ${code}`}:\n${logTail(options.logFile)}`));
      resolve(why === undefined ? { figures } : { figures, error: `${why}\n(log: ${options.logFile})` });
    });
  });
}
