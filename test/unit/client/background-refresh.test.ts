/**
 * Refresh in the background: while the cached token is valid, callers get it at once, even
 * when the token endpoint hangs or keeps answering 503; only callers without a valid token
 * wait. Clocks and sleeps are injected; nothing here measures time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { TokenServiceUnavailable, TollgateClient, type FetchLike, type TollgateClientEvent, type TollgateClientOptions } from '../../../client/index';
import { startTokenStub, unavailable, type TokenStub } from './token-stub';

const KEY = generateApiKey().apiKey;
const START_MS = Date.UTC(2025, 0, 1);

let stub: TokenStub;
let nowMs: number;
let events: TollgateClientEvent[];

beforeEach(async () => {
  stub = await startTokenStub();
  nowMs = START_MS;
  events = [];
});
afterEach(() => stub.close());

function client(overrides: Partial<TollgateClientOptions> = {}): TollgateClient {
  return new TollgateClient({
    tokenUrl: stub.tokenUrl,
    apiKeys: [{ apiKey: KEY }],
    now: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms;
    },
    random: () => 0.5,
    onEvent: (event) => events.push(event),
    ...overrides,
  });
}

const issuedEvents = () => events.filter((event) => event.type === 'token_issued');

describe('background refresh', () => {
  it('serves the cached token at once while a refresh meets 503s with Retry-After past its expiry; a caller without a valid token then waits', async () => {
    const tollgate = client();
    const first = await tollgate.getToken();
    stub.script.push(unavailable('10'), unavailable('10'), unavailable('10'), unavailable('10'));

    // 20 s before expiry: the retries' Retry-After pauses (3 × 10 s) outlast the token.
    nowMs = START_MS + 880_000;
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'refresh_failed_using_cached_token', reason: 'temporarily_unavailable' }));
    expect(stub.tokenRequests()).toHaveLength(5);

    // The retries moved the injected clock past the expiry: this caller has no valid token. The
    // service's last Retry-After (10 s) has not passed: it gets that failure at once, nothing sent.
    expect(nowMs).toBeGreaterThanOrEqual(START_MS + 900_000);
    await expect(tollgate.getToken()).rejects.toBeInstanceOf(TokenServiceUnavailable);
    expect(stub.tokenRequests()).toHaveLength(5);
    // Once it has, a caller waits for a fresh exchange.
    nowMs += 10_000;
    expect(await tollgate.getToken()).toBe(stub.issued[1]);
  });

  it("honours the service's Retry-After for callers without a token: 50 calls after a 429 with Retry-After: 120 send one request, not 50", async () => {
    const tollgate = client();
    stub.script.push({ ...unavailable('120'), status: 429, body: { error: 'too_many_requests' } });
    const outcomes = [];
    for (let call = 0; call < 50; call += 1)
      outcomes.push(
        await tollgate.getToken().then(
          () => 'token',
          (error: unknown) => (error as Error).name,
        ),
      );
    expect(new Set(outcomes)).toEqual(new Set(['TokenServiceUnavailable']));
    expect(stub.tokenRequests()).toHaveLength(1);
    // After the pause (the client's longest honoured Retry-After, 30 s), the next caller tries again.
    nowMs += 30_000;
    expect(await tollgate.getToken()).toBe(stub.issued[0]);
    expect(stub.tokenRequests()).toHaveLength(2);
  });

  it('an exchange from before invalidate() that fails later pauses nothing, and invalidate() ends a pause', async () => {
    let release!: (response: Response) => void;
    let calls = 0;
    const send: FetchLike = async (input, init) => {
      calls += 1;
      if (calls === 1) return new Promise<Response>((resolve) => (release = resolve));
      return fetch(input, init);
    };
    const tollgate = client({ fetch: send });
    const stale = tollgate.getToken().then(
      () => 'token',
      (error: unknown) => (error as Error).name,
    );
    await vi.waitFor(() => expect(calls).toBe(1));
    tollgate.invalidate();
    const fresh = await tollgate.getToken();
    release(
      new Response(JSON.stringify({ error: 'temporarily_unavailable' }), {
        status: 429,
        headers: { 'Retry-After': '120', 'Content-Type': 'application/json' },
      }),
    );
    expect(await stale).toBe('TokenServiceUnavailable');
    // The fresh token stands, and after invalidate() the next caller exchanges again.
    expect(await tollgate.getToken()).toBe(fresh);
    tollgate.invalidate();
    expect(await tollgate.getToken()).toBe(stub.issued[1]);
  });

  it('does not hold callers up while the token endpoint hangs, and runs one exchange for all of them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let hold = false;
    let tokenCalls = 0;
    const send: FetchLike = async (input, init) => {
      tokenCalls += 1;
      if (hold) await gate;
      return fetch(input, init);
    };
    const tollgate = client({ fetch: send });
    const first = await tollgate.getToken();

    hold = true;
    nowMs = START_MS + 850_000;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => tollgate.getToken()));
    expect(new Set(tokens)).toEqual(new Set([first]));
    expect(tokenCalls).toBe(2);

    release();
    await vi.waitFor(() => expect(issuedEvents()).toHaveLength(2));
    expect(await tollgate.getToken()).toBe(stub.issued[1]);
  });

  it('reports a refused background refresh through onEvent, keeps the cached token, and pauses before trying again', async () => {
    const tollgate = client({ retry: { maxDelayMs: 5000 } });
    const first = await tollgate.getToken();
    stub.script.push({ status: 400, body: { error: 'invalid_scope', error_description: 'Scope orders:read is no longer granted.' } });

    nowMs = START_MS + 850_000;
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'refresh_failed_using_cached_token', reason: 'rejected', error: 'TokenRequestRejected' }));

    // No exchange on every call while the token endpoint refuses: the next waits out the pause.
    expect(await tollgate.getToken()).toBe(first);
    expect(stub.tokenRequests()).toHaveLength(2);
    nowMs += 5000;
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(issuedEvents()).toHaveLength(2));
    expect(stub.tokenRequests()).toHaveLength(3);
    expect(await tollgate.getToken()).toBe(stub.issued[1]);
  });
});
