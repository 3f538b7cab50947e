/**
 * Bounded exponential backoff with full jitter (delay drawn uniformly from
 * [0, min(cap, base·2^n)]), which spreads the retries of many clients that failed together
 * instead of synchronising them into waves.
 */
import { MAX_TIMER_MS } from './client-options';

export interface RetryOptions {
  /** Total tries of one exchange, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** Largest backoff delay. @default 5000 */
  readonly maxDelayMs?: number;
  /**
   * Longest `Retry-After` the client honours; a server asking for more ends the retries at
   * once (the caller learns it from `TokenServiceUnavailable.retryAfterMs`). @default 30000
   */
  readonly maxRetryAfterMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
};

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...options };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`retry.${name} must be a non-negative number.`);
    // A timer cannot wait longer: Node would warn and fire at once.
    if (name.endsWith('Ms') && value > MAX_TIMER_MS) throw new TypeError(`retry.${name} must be at most ${MAX_TIMER_MS} ms.`);
  }
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new TypeError('retry.maxAttempts must be an integer ≥ 1.');
  return policy;
}

/**
 * Delay before retry number `retry` (0 = the first retry). A server's `Retry-After` is a
 * floor: waiting less would only earn another refusal.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** How to wait between retries: the default wakes early (and lets the process exit) once `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `AbortSignal.any` (Node 20.3+), with an equivalent for the older Node versions the package supports. */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([...signals]);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}
