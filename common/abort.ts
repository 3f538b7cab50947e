/**
 * Waiting on work that an abort signal may end first. Shared by the client library (a
 * caller's signal) and the functions' SDK clients (the request budget).
 */

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts; the
 * promise itself is not cancelled (another caller may be waiting on it, or the SDK may be
 * sleeping between retries). Its abort listener is removed once it settles.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
