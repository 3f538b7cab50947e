/**
 * The child side of a benchmark suite. Every suite runs in its own process (fresh heap,
 * fresh JIT, its own handler module state, and stdout free for the handlers' log lines);
 * it reports figures and progress to `bench/run.ts` over the IPC channel, and undoes what
 * it started (DynamoDB Local tables, the local stack, worker threads) on success, on
 * failure and on SIGTERM.
 */
import { onStopSignal } from '../../local/signals';
import type { Figure } from './figure';

export type SuiteMessage =
  | { readonly type: 'figure'; readonly figure: Figure }
  | { readonly type: 'progress'; readonly text: string }
  | { readonly type: 'failed'; readonly message: string };

export interface SuiteContext<A> {
  readonly args: A;
  emit(figure: Figure): void;
  progress(text: string): void;
  /** Runs at the end, last registered first, whatever happened. */
  defer(cleanup: () => unknown): void;
}

function send(message: SuiteMessage): Promise<void> {
  if (!process.send) {
    // Run by hand (`npx tsx bench/suites/x.ts '{…}'`): stdout belongs to the handlers' logs.
    process.stderr.write(
      `${message.type === 'figure' ? JSON.stringify(message.figure) : `${message.type}: ${'text' in message ? message.text : message.message}`}\n`,
    );
    return Promise.resolve();
  }
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

export async function runSuite<A>(main: (context: SuiteContext<A>) => Promise<void>): Promise<void> {
  const cleanups: Array<() => unknown> = [];
  const pending: Promise<void>[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const cleanup of cleanups.reverse())
        await Promise.resolve()
          .then(cleanup)
          .catch(() => undefined);
    })());
  onStopSignal(() => void cleanUp().finally(() => process.exit(143)));

  let code = 0;
  try {
    const args = JSON.parse(process.argv[2] ?? '{}') as A;
    await main({
      args,
      emit: (figure) => void pending.push(send({ type: 'figure', figure })),
      progress: (text) => void pending.push(send({ type: 'progress', text })),
      defer: (cleanup) => void cleanups.push(cleanup),
    });
  } catch (error) {
    code = 1;
    pending.push(send({ type: 'failed', message: (error as Error)?.stack ?? String(error) }));
  }
  await cleanUp();
  await Promise.all(pending);
  // Handler modules keep SDK sockets and timers alive; the suite is done, so end here.
  process.exit(code);
}
