/**
 * `onStopSignal` in a process of its own (signals reach the whole process): copies of the
 * first signal do not kill a process that is still cleaning up; a later one ends it at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const started: ChildProcess[] = [];
afterEach(() => {
  // A failed test leaves its process waiting for a stdin that never closes.
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * Starts a process that registers `onStopSignal` (whose cleanup takes until its stdin
 * closes), prints `ready`, and then prints every event; returns its lines and a way to wait.
 */
async function stoppable(insistAfterMs: number) {
  const script = `
    import { onStopSignal } from './local/signals.ts';
    onStopSignal(
      (signal) => {
        console.log('stop ' + signal);
        process.stdin.on('end', () => { console.log('cleaned up'); process.exit(0); }).resume();
      },
      (signal) => console.log('insist ' + signal),
      ${insistAfterMs},
    );
    console.log('ready');
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  const lines: string[] = [];
  const lineEvents = createInterface({ input: child.stdout! });
  lineEvents.on('line', (line) => lines.push(line));
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  while (!lines.includes('ready')) {
    if (child.exitCode !== null) throw new Error('the test process exited before it was ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  /** Waits until `line` has been printed (the process handled what came before it). */
  const printed = async (line: string) => {
    while (!lines.includes(line)) {
      if (child.exitCode !== null) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, lines, exited, printed };
}

describe('onStopSignal', () => {
  it('stops once on the first signal and survives its copies (SIGINT from the terminal and from npm, SIGTERM) until the cleanup ends', async () => {
    const { child, lines, exited, printed } = await stoppable(60_000);
    child.kill('SIGINT');
    await printed('stop SIGINT');
    child.kill('SIGINT');
    child.kill('SIGTERM');
    // Give the copies time to arrive; with a once-listener the process would be dead by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(child.exitCode).toBeNull();
    child.stdin!.end();
    expect(await exited).toEqual([0, null]);
    expect(lines).toEqual(['ready', 'stop SIGINT', 'cleaned up']);
  }, 30_000);

  it('exits at once with 130 on a signal after the window: a person insisting on a stuck cleanup', async () => {
    const { child, lines, exited, printed } = await stoppable(0);
    child.kill('SIGTERM');
    await printed('stop SIGTERM');
    child.kill('SIGINT');
    expect(await exited).toEqual([130, null]);
    expect(lines).toEqual(['ready', 'stop SIGTERM', 'insist SIGINT']);
  }, 30_000);
});
