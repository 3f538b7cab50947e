/**
 * A caller's abort signal: an aborted caller never makes the client send its API key, stops
 * waiting at once (also during a backoff pause), and does not cancel an exchange another
 * caller still waits on. Token requests hang on a gate the test opens, not on a timer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { TollgateClient, type FetchLike, type TollgateClientOptions } from '../../../client/index';
import { startTokenStub, unavailable, type TokenStub } from './token-stub';

const KEY = generateApiKey().apiKey;

let stub: TokenStub;
/** The signals the token requests were sent with, in order. */
let sentSignals: AbortSignal[];
let open: () => void;
let gate: Promise<void>;

beforeEach(async () => {
  stub = await startTokenStub();
  sentSignals = [];
  gate = new Promise((resolve) => {
    open = resolve;
  });
});
afterEach(() => stub.close());

/** Token requests wait for the gate (or their signal) before reaching the stub. */
const gatedFetch: FetchLike = async (input, init) => {
  const signal = init?.signal ?? undefined;
  if (signal) sentSignals.push(signal);
  await new Promise<void>((resolve, reject) => {
    void gate.then(resolve);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  return fetch(input, init);
};

const client = (overrides: Partial<TollgateClientOptions> = {}) =>
  new TollgateClient({ tokenUrl: stub.tokenUrl, apiKeys: [{ apiKey: KEY }], random: () => 0.5, ...overrides });

describe('abort signals', () => {
  it('sends nothing for a caller whose signal is already aborted, through getToken and fetch', async () => {
    const tollgate = client();
    const reason = new Error('caller gave up');

    await expect(tollgate.getToken({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(tollgate.fetch(`${stub.url}/orders/42`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(stub.requests).toEqual([]);
  });

  it('stops waiting when the signal aborts, and cancels the exchange nobody waits for any more', async () => {
    const tollgate = client({ fetch: gatedFetch });
    const caller = new AbortController();
    const waiting = tollgate.getToken({ signal: caller.signal });
    await expect.poll(() => sentSignals.length).toBe(1);

    caller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    expect(sentSignals[0]!.aborted).toBe(true);
    expect(stub.requests).toEqual([]);

    // The next caller starts afresh.
    open();
    expect(await tollgate.getToken()).toBe(stub.issued[0]);
  });

  it('does not cancel an exchange another caller still waits on', async () => {
    const tollgate = client({ fetch: gatedFetch });
    const impatient = new AbortController();
    const first = tollgate.getToken({ signal: impatient.signal });
    const patient = tollgate.getToken();
    const alsoPatient = tollgate.getToken({ signal: new AbortController().signal });
    await expect.poll(() => sentSignals.length).toBe(1);

    impatient.abort(new Error('impatient'));
    await expect(first).rejects.toThrow('impatient');
    expect(sentSignals[0]!.aborted).toBe(false);

    open();
    expect(await patient).toBe(stub.issued[0]);
    expect(await alsoPatient).toBe(stub.issued[0]);
    expect(stub.tokenRequests()).toHaveLength(1);
  });

  it('stops during a backoff pause, and the exchange makes no further attempt', async () => {
    stub.script.push(unavailable('10'));
    let pauses = 0;
    let pauseSignal: AbortSignal | undefined;
    const tollgate = client({
      // A pause that only ends when the exchange is abandoned.
      sleep: (_ms, signal) => {
        pauses += 1;
        pauseSignal = signal;
        return new Promise(() => undefined);
      },
    });
    const caller = new AbortController();
    const fetched = tollgate.fetch(`${stub.url}/orders/42`, { signal: caller.signal });
    await expect.poll(() => pauses).toBe(1);

    caller.abort(new Error('shutting down'));
    await expect(fetched).rejects.toThrow('shutting down');
    expect(pauseSignal?.aborted).toBe(true);
    expect(stub.tokenRequests()).toHaveLength(1);
    expect(stub.requests.filter((request) => request.pathname === '/orders/42')).toEqual([]);
  });
});
