/**
 * A time budget for everything one request does with its dependencies. A handler runs its
 * work inside {@link withDeadline}; every SDK client built by `options.ts` reads the budget
 * of the request it is called for (through `AsyncLocalStorage`, so no port has to carry
 * it) and
 *
 * - aborts the HTTP attempt in flight when the budget runs out (no retry starts after it),
 * - answers its caller at that moment with `DependencyUnavailable`, even while the SDK is
 *   still inside a retry backoff.
 *
 * Work outside any budget (the authorizer's background refreshes, the fan-out, rotation)
 * is bounded by the clients' per-attempt timeouts and attempt count alone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Deadline {
  /** Epoch ms at which the budget is spent. */
  readonly at: number;
  /** Aborted when the budget is spent. */
  readonly signal: AbortSignal;
}

const current = new AsyncLocalStorage<Deadline>();

/** The error the budget's signal is aborted with (classified as a timeout). */
export class DeadlineExceeded extends Error {
  constructor(budgetMs: number) {
    super(`the request's ${budgetMs} ms dependency budget is spent`);
    this.name = 'TimeoutError';
  }
}

/** Runs `work` with `budgetMs` for its dependency calls; nested budgets keep the earlier deadline. */
export async function withDeadline<T>(budgetMs: number, work: () => Promise<T>): Promise<T> {
  const outer = current.getStore();
  if (outer && outer.at <= Date.now() + budgetMs) return work();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineExceeded(budgetMs)), budgetMs);
  try {
    return await current.run({ at: Date.now() + budgetMs, signal: controller.signal }, work);
  } finally {
    clearTimeout(timer);
  }
}

/** The budget of the request this code runs for, if any. */
export function currentDeadline(): Deadline | undefined {
  return current.getStore();
}
