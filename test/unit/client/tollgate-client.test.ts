import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import {
  ApiKeysRejected,
  InvalidTokenResponse,
  TokenRequestRejected,
  TokenServiceUnavailable,
  TollgateClient,
  type TollgateClientEvent,
  type TollgateClientOptions,
} from '../../../client/index';
import { closedPortUrl, startHttpStub, type HttpStub } from '../../support/http-stub';
import { credentialOf, INVALID_CLIENT, issueToken, startTokenStub, unavailable, type TokenStub } from './token-stub';

const KEY_A = generateApiKey().apiKey;
const KEY_B = generateApiKey().apiKey;
const START_MS = Date.UTC(2025, 0, 1);

let stub: TokenStub;
let nowMs: number;
let delays: number[];
let events: TollgateClientEvent[];
/** Every event of every test, checked at the end for secrets. */
const allEvents: TollgateClientEvent[] = [];

beforeEach(async () => {
  stub = await startTokenStub();
  nowMs = START_MS;
  delays = [];
  events = [];
});

afterEach(async () => {
  allEvents.push(...events);
  await stub.close();
});

/** A client on the stub with an injected clock, a sleep that only moves that clock, and fixed jitter. */
function client(overrides: Partial<TollgateClientOptions> = {}): TollgateClient {
  return new TollgateClient({
    tokenUrl: stub.tokenUrl,
    apiKeys: [{ clientId: 'orders-service', apiKey: KEY_A }],
    now: () => nowMs,
    sleep: async (ms) => {
      delays.push(ms);
      nowMs += ms;
    },
    random: () => 0.5,
    onEvent: (event) => events.push(event),
    ...overrides,
  });
}

describe('token exchange', () => {
  it('authenticates with client_secret_basic when the client id is known, and sends the grant and scope', async () => {
    const tollgate = client({ apiKeys: [{ clientId: 'orders service+1', apiKey: KEY_A }], scope: 'orders:read' });
    const token = await tollgate.getToken();

    expect(token).toBe(stub.issued[0]);
    const [request] = stub.tokenRequests();
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.authorization).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
    // RFC 6749 §2.3.1: the space and plus of the client id are form-encoded inside the base64.
    expect(Buffer.from(request!.headers.authorization!.slice(6), 'base64').toString()).toBe(`orders+service%2B1:${KEY_A}`);
    expect(credentialOf(request!)).toEqual({ scheme: 'basic', clientId: 'orders service+1', apiKey: KEY_A });
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({ grant_type: 'client_credentials', scope: 'orders:read' });
  });

  it('authenticates with the API key as a bearer credential when no client id is given', async () => {
    await client({ apiKeys: [{ apiKey: KEY_A }] }).getToken();
    expect(stub.tokenRequests()[0]!.headers.authorization).toBe(`Bearer ${KEY_A}`);
    expect(new URLSearchParams(stub.tokenRequests()[0]!.body).has('scope')).toBe(false);
  });

  it('gives 50 concurrent callers the token of one single exchange', async () => {
    const tollgate = client();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => tollgate.getToken()));

    expect(stub.tokenRequests()).toHaveLength(1);
    expect(new Set(tokens)).toEqual(new Set([stub.issued[0]]));
  });

  it('rejects a token request the server refuses for good, without retrying', async () => {
    stub.script.push({ status: 400, body: { error: 'invalid_scope', error_description: 'Scope orders:admin is not granted.' } });
    const error = await client({ scope: 'orders:admin' })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenRequestRejected);
    expect(error).toMatchObject({ status: 400, error: 'invalid_scope', keyPosition: 0 });
    expect(stub.tokenRequests()).toHaveLength(1);
  });

  it('rejects a 200 that is not a token response, with a message that does not quote the body', async () => {
    stub.script.push({ status: 200, body: { access_token: 'tok_leak', token_type: 'mac', expires_in: 60 } });
    const error = await client()
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidTokenResponse);
    expect((error as Error).message).not.toContain('tok_leak');
  });

  it('does not follow a redirect of the token request elsewhere', async () => {
    stub.script.push({ status: 307, headers: { Location: 'http://127.0.0.1:9/steal' } });
    const error = await client()
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TokenRequestRejected', status: 307, error: 'http_307' });
    expect(stub.tokenRequests()).toHaveLength(1);
  });
});

describe('API key pool', () => {
  it('fails over to the next key at once when the first gets invalid_client, and stays on it', async () => {
    stub.script.push(INVALID_CLIENT);
    const tollgate = client({ apiKeys: [{ clientId: 'orders-service', apiKey: KEY_A }, { apiKey: KEY_B }] });

    expect(await tollgate.getToken()).toBe(stub.issued[0]);
    expect(stub.tokenRequests().map(credentialOf)).toEqual([
      { scheme: 'basic', clientId: 'orders-service', apiKey: KEY_A },
      { scheme: 'bearer', apiKey: KEY_B },
    ]);
    expect(delays).toEqual([]);
    expect(events).toContainEqual({ type: 'key_rejected', keyPosition: 0 });

    tollgate.invalidate();
    await tollgate.getToken();
    expect(credentialOf(stub.tokenRequests()[2]!)).toEqual({ scheme: 'bearer', apiKey: KEY_B });
  });

  it('rejects with the pool positions when every key is refused, and does not ask again', async () => {
    stub.script.push(INVALID_CLIENT, INVALID_CLIENT);
    const tollgate = client({ apiKeys: [{ apiKey: KEY_A }, { apiKey: KEY_B }] });
    const error = await tollgate.getToken().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiKeysRejected);
    expect((error as ApiKeysRejected).positions).toEqual([0, 1]);
    expect((error as Error).message).toContain('0, 1');
    expect((error as Error).message).not.toContain(KEY_A.slice(3, 20));
    await expect(tollgate.getToken()).rejects.toBeInstanceOf(ApiKeysRejected);
    expect(stub.tokenRequests()).toHaveLength(2);
  });
});

describe('refresh before expiry', () => {
  it('refreshes once less than 10% of a 900 s lifetime remains', async () => {
    const tollgate = client();
    const first = await tollgate.getToken();

    nowMs = START_MS + 809_000;
    expect(await tollgate.getToken()).toBe(first);
    nowMs = START_MS + 811_000;
    // Still valid: served at once while the refresh runs in the background.
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(events.filter((event) => event.type === 'token_issued')).toHaveLength(2));
    const second = await tollgate.getToken();

    expect(second).toBe(stub.issued[1]);
    expect(second).not.toBe(first);
    expect(stub.tokenRequests()).toHaveLength(2);
  });

  it.each([
    ['at least 30 s before expiry when 10% of the lifetime is less', 120, {}, 90],
    ['when refreshBeforeExpirySeconds say so', 900, { refreshBeforeExpirySeconds: 300 }, 600],
    ['at half the lifetime when the window would be longer', 40, {}, 20],
  ] as const)('refreshes %s', async (_, expiresIn, options, refreshAtSeconds) => {
    stub.script.push(issueToken(stub.issued, expiresIn));
    const tollgate = client(options);
    await tollgate.getToken();

    nowMs = START_MS + refreshAtSeconds * 1000 - 1;
    await tollgate.getToken();
    expect(stub.tokenRequests()).toHaveLength(1);
    nowMs = START_MS + refreshAtSeconds * 1000;
    await tollgate.getToken();
    await vi.waitFor(() => expect(stub.tokenRequests()).toHaveLength(2));
  });

  it('keeps serving the still-valid token when an early refresh meets an outage, and fails once it has expired', async () => {
    const tollgate = client({ retry: { maxAttempts: 2 } });
    const first = await tollgate.getToken();
    stub.script.push(unavailable(), unavailable(), unavailable(), unavailable());

    nowMs = START_MS + 850_000;
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'refresh_failed_using_cached_token', reason: 'temporarily_unavailable' }));

    nowMs = START_MS + 900_000;
    await expect(tollgate.getToken()).rejects.toBeInstanceOf(TokenServiceUnavailable);
  });
});

describe('retries', () => {
  it('waits as long as Retry-After asks on a 503, then gets the token', async () => {
    stub.script.push(unavailable('2'), unavailable('3'));
    const token = await client().getToken();

    expect(token).toBe(stub.issued[0]);
    expect(delays).toEqual([2000, 3000]);
    expect(events.filter((event) => event.type === 'retry_scheduled')).toEqual([
      { type: 'retry_scheduled', attempt: 1, delayMs: 2000, reason: 'temporarily_unavailable', status: 503 },
      { type: 'retry_scheduled', attempt: 2, delayMs: 3000, reason: 'temporarily_unavailable', status: 503 },
    ]);
  });

  it('reads a Retry-After HTTP-date against the injected clock', async () => {
    stub.script.push(unavailable(new Date(START_MS + 7000).toUTCString()));
    await client().getToken();
    expect(delays).toEqual([7000]);
  });

  it('backs off exponentially with jitter on 5xx and gives up after the bounded attempts', async () => {
    stub.script.push({ status: 502, body: 'Bad Gateway' }, { status: 500, body: {} }, { status: 503, body: {} }, { status: 504, body: {} });
    const error = await client({ random: () => 0.999 })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenServiceUnavailable);
    expect(error).toMatchObject({ reason: 'server_error', attempts: 4, status: 504 });
    expect(stub.tokenRequests()).toHaveLength(4);
    // Full jitter under ceilings of 200, 400 and 800 ms.
    expect(delays).toEqual([199, 399, 799]);
  });

  it('caps the backoff at maxDelayMs', async () => {
    stub.script.push(...Array.from({ length: 5 }, () => ({ status: 500, body: {} })));
    await client({ random: () => 0.999, retry: { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 3000 } }).getToken();
    expect(delays).toEqual([999, 1998, 2997, 2997, 2997]);
  });

  it('retries a 429 as throttling', async () => {
    stub.script.push({ status: 429, headers: { 'Retry-After': '1' }, body: { error: 'too_many_requests' } });
    await client().getToken();
    expect(events).toContainEqual({ type: 'retry_scheduled', attempt: 1, delayMs: 1000, reason: 'throttled', status: 429 });
  });

  it('gives up at once when Retry-After is longer than the client may wait', async () => {
    stub.script.push(unavailable('120'));
    const error = await client()
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TokenServiceUnavailable', attempts: 1, retryAfterMs: 120_000 });
    expect(delays).toEqual([]);
  });

  it('retries network errors and reports them as such', async () => {
    const tollgate = client({ tokenUrl: `${await closedPortUrl()}/oauth/token`, retry: { maxAttempts: 3 } });
    const error = await tollgate.getToken().catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TokenServiceUnavailable', reason: 'network', attempts: 3 });
    expect(error).not.toHaveProperty('status', expect.anything());
    expect(delays).toHaveLength(2);
  });
});

describe('fetch wrapper', () => {
  let api: HttpStub;
  let accepted: Set<string>;
  let challenge: string;

  beforeEach(async () => {
    accepted = new Set();
    challenge = 'Bearer error="invalid_token"';
    api = await startHttpStub((request) => {
      const token = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (accepted.has(token)) return { status: 200, body: { echoed: request.body, method: request.method } };
      return { status: 401, headers: { 'WWW-Authenticate': challenge }, body: { error: 'invalid_token' } };
    });
  });
  afterEach(() => api.close());
  /** The API stub listens on its own port: an origin of its own, allowed explicitly. */
  const apiClient = () => client({ apiOrigins: [api.url] });

  it('adds the bearer token to the request', async () => {
    const tollgate = apiClient();
    await tollgate.getToken();
    accepted.add(stub.issued[0]!);

    const response = await tollgate.fetch(`${api.url}/orders/42`, { headers: { 'X-Request-Id': 'r1' } });

    expect(response.status).toBe(200);
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${stub.issued[0]}`);
    expect(api.requests[0]!.headers['x-request-id']).toBe('r1');
  });

  it('on 401 invalid_token refreshes once and retries once, replaying the body', async () => {
    const tollgate = apiClient();
    await tollgate.getToken();
    // The first token was revoked: only the next one is accepted.
    stub.script.push((_request) => {
      const response = issueToken(stub.issued, 900);
      accepted.add(stub.issued.at(-1)!);
      return response;
    });

    const response = await tollgate.fetch(`${api.url}/orders`, { method: 'POST', body: '{"item":1}' });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ echoed: '{"item":1}', method: 'POST' });
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${stub.issued[0]}`, `Bearer ${stub.issued[1]}`]);
    expect(stub.tokenRequests()).toHaveLength(2);
    expect(events).toContainEqual({ type: 'token_invalidated', reason: 'invalid_token' });
  });

  it('returns the second 401 instead of looping', async () => {
    const response = await apiClient().fetch(`${api.url}/orders`);

    expect(response.status).toBe(401);
    expect(api.requests).toHaveLength(2);
    expect(stub.tokenRequests()).toHaveLength(2);
  });

  it('exchanges its key for an invalid_token answer at most once per 10 s: a refusing API does not cost one exchange per call', async () => {
    const tollgate = apiClient();
    const statuses = [];
    for (let call = 0; call < 50; call += 1) statuses.push((await tollgate.fetch(`${api.url}/orders`)).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    // The first token, and the one fresh exchange the first refusal earned.
    expect(stub.tokenRequests()).toHaveLength(2);
    expect(api.requests).toHaveLength(51);
  });

  it('does not refresh on a 401 without the invalid_token challenge', async () => {
    challenge = 'Bearer realm="api"';
    const response = await apiClient().fetch(`${api.url}/orders`);

    expect(response.status).toBe(401);
    expect(api.requests).toHaveLength(1);
    expect(stub.tokenRequests()).toHaveLength(1);
  });
});

describe('options', () => {
  it.each([
    [{ tokenUrl: '/oauth/token' }, /tokenUrl must be an absolute URL/],
    [{ tokenUrl: 'ftp://example.com/oauth/token' }, /http\(s\)/],
    [{ apiKeys: [] }, /at least one API key/],
    [{ apiKeys: [{ apiKey: 'tg_short' }] }, /apiKeys\[0\]\.apiKey is not a Tollgate API key/],
    [{ apiKeys: [{ apiKey: KEY_A, clientId: '' }] }, /apiKeys\[0\]\.clientId/],
    [{ retry: { maxAttempts: 0 } }, /maxAttempts/],
    [{ refreshBeforeExpirySeconds: -1 }, /refreshBeforeExpirySeconds/],
  ])('refuses %j', (overrides, message) => {
    expect(() => client(overrides as Partial<TollgateClientOptions>)).toThrow(message);
  });

  it('names a malformed key by position only', () => {
    const almost = `${KEY_A}x`;
    expect(() => client({ apiKeys: [{ apiKey: KEY_B }, { apiKey: almost }] })).toThrow(/^apiKeys\[1\]\.apiKey is not/);
    expect(() => client({ apiKeys: [{ apiKey: almost }] })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(almost.slice(3)) as unknown }),
    );
  });
});

afterAll(() => {
  // The onEvent hook is for logs and metrics: it must never carry a key or a token.
  const serialized = JSON.stringify(allEvents);
  expect(allEvents.length).toBeGreaterThan(10);
  expect(serialized).not.toMatch(/tg_[0-9A-Za-z]{10}/);
  expect(serialized).not.toMatch(/tok_[0-9a-f]{8}/);
});
