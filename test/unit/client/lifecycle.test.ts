/**
 * The token cache's lifecycle under concurrency and misbehaving surroundings: an exchange
 * started before the cache was dropped does not refill it, a cancelled one installs nothing,
 * the request timeout holds whatever the injected fetch does, an async event sink cannot end
 * the process, the background pause ends with a success, and only the API's own 401 drops the
 * token. Fake fetches and an injected clock; nothing here measures time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { TokenServiceUnavailable, TollgateClient, type FetchLike, type TollgateClientOptions } from '../../../client/index';

const KEY = generateApiKey().apiKey;
const TOKEN_URL = 'https://api.example.com/v1/oauth/token';
const START_MS = Date.UTC(2025, 0, 1);
let nowMs: number;
let issued: number;

beforeEach(() => {
  nowMs = START_MS;
  issued = 0;
});

/** A token answer: `tok_1`, `tok_2`, … in the order they are made. */
function tokenAnswer(expiresIn = 900): Response {
  issued += 1;
  return Response.json({ access_token: `tok_${issued}`, token_type: 'Bearer', expires_in: expiresIn, scope: 'orders:read' });
}

/** A fetch whose token answers the test releases one by one (`answers`), ignoring any signal. */
function heldFetch(): { fetch: FetchLike; pending: Array<(response: Response) => void>; calls: () => number } {
  const pending: Array<(response: Response) => void> = [];
  let calls = 0;
  return {
    pending,
    calls: () => calls,
    fetch: () => {
      calls += 1;
      return new Promise<Response>((resolve) => pending.push(resolve));
    },
  };
}

function client(overrides: Partial<TollgateClientOptions>): TollgateClient {
  return new TollgateClient({
    tokenUrl: TOKEN_URL,
    apiKeys: [{ apiKey: KEY }],
    now: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms;
    },
    random: () => 0.5,
    ...overrides,
  });
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TollgateClient lifecycle', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
  });

  it('an exchange in flight when the cache is dropped serves nobody after it and does not refill the cache', async () => {
    const held = heldFetch();
    const tollgate = client({ fetch: held.fetch });
    const first = tollgate.getToken();
    held.pending.shift()!(tokenAnswer());
    expect(await first).toBe('tok_1');

    nowMs = START_MS + 850_000; // inside the refresh window: a background exchange starts and hangs
    expect(await tollgate.getToken()).toBe('tok_1');
    expect(held.calls()).toBe(2);

    tollgate.invalidate();
    const next = tollgate.getToken();
    expect(held.calls()).toBe(3); // a fresh exchange, not the one from before the drop
    held.pending.shift()!(tokenAnswer()); // the old exchange answers late: tok_2
    held.pending.shift()!(tokenAnswer()); // the new one: tok_3
    expect(await next).toBe('tok_3');
    await settle();
    expect(await tollgate.getToken()).toBe('tok_3');
  });

  it('a cancelled exchange whose fetch ignored the signal installs nothing when it answers late', async () => {
    const held = heldFetch();
    const tollgate = client({ fetch: held.fetch });
    const caller = new AbortController();
    const abandoned = tollgate.getToken({ signal: caller.signal });
    caller.abort(new Error('caller gave up'));
    await expect(abandoned).rejects.toThrow('caller gave up');

    const next = tollgate.getToken();
    held.pending[1]!(tokenAnswer()); // the new exchange: tok_1
    expect(await next).toBe('tok_1');
    held.pending[0]!(tokenAnswer()); // the cancelled one answers late: tok_2
    await settle();
    expect(await tollgate.getToken()).toBe('tok_1');
  });

  it('the request timeout ends an attempt even when the injected fetch never settles and ignores its signal', async () => {
    const tollgate = client({ fetch: () => new Promise<Response>(() => undefined), requestTimeoutMs: 20, retry: { maxAttempts: 2 } });
    const failure = await tollgate.getToken().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TokenServiceUnavailable);
    expect(failure).toMatchObject({ reason: 'network', attempts: 2 });
  });

  it.each([0, 2 ** 31, 1e10])('refuses requestTimeoutMs %d, which no timer can wait', (requestTimeoutMs) => {
    expect(() => client({ requestTimeoutMs })).toThrow(/requestTimeoutMs must be a number of milliseconds above 0/);
  });

  it('refuses a retry delay no timer can wait', () => {
    expect(() => client({ retry: { maxRetryAfterMs: 2 ** 31 } })).toThrow(/retry\.maxRetryAfterMs must be at most/);
  });

  it('ignores an async onEvent that rejects: no unhandled rejection, the token is returned', async () => {
    const tollgate = client({
      fetch: async () => tokenAnswer(),
      onEvent: async () => {
        throw new Error('log sink down');
      },
    });
    expect(await tollgate.getToken()).toBe('tok_1');
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('a success ends the pause a failed background refresh set, so the next refresh window refreshes in the background again', async () => {
    let answer: () => Response = () => tokenAnswer();
    let calls = 0;
    const tollgate = client({
      fetch: async () => {
        calls += 1;
        return answer();
      },
    });
    await tollgate.getToken();
    // A background refresh is told to come back in a day: the pause is capped at maxRetryAfterMs (30 s).
    answer = () => Response.json({ error: 'temporarily_unavailable' }, { status: 503, headers: { 'Retry-After': '86400' } });
    nowMs = START_MS + 850_000;
    await tollgate.getToken();
    await settle();
    expect(calls).toBe(2);

    // After the expiry a caller's own exchange succeeds: tok_2, valid for 900 s from now.
    answer = () => tokenAnswer();
    nowMs = START_MS + 901_000;
    expect(await tollgate.getToken()).toBe('tok_2');
    expect(calls).toBe(3);

    // Its refresh window, 31 s after the failed refresh: refreshed in the background, callers not held up.
    nowMs += 850_000;
    expect(await tollgate.getToken()).toBe('tok_2');
    await settle();
    expect(calls).toBe(4);
    expect(await tollgate.getToken()).toBe('tok_3');
  });

  it("keeps its token when a 401 invalid_token came from a host a redirect led to, not from the API's origin", async () => {
    let tokenCalls = 0;
    const tollgate = client({
      fetch: async (input) => {
        const url = input instanceof Request ? input.url : String(input);
        if (url === TOKEN_URL) {
          tokenCalls += 1;
          return tokenAnswer();
        }
        const refused = new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
        Object.defineProperties(refused, { redirected: { value: true }, url: { value: 'https://elsewhere.example.net/x' } });
        return refused;
      },
    });
    for (let call = 0; call < 3; call += 1) expect((await tollgate.fetch('https://api.example.com/v1/orders/1')).status).toBe(401);
    expect(tokenCalls).toBe(1);
  });
});
