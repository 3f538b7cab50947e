/**
 * The admin API's usage reports over the real admin function, reading what the usage store
 * wrote to DynamoDB Local, at an injected clock.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { UsageRetentionDefaults } from '../../../common/usage';
import { DynamoUsageStore } from '../../../lambda/adapters/usage-store';
import { meterLines, RouteLabeler } from '../../../lambda/core/usage/usage-meter';
import { adminCall } from '../../support/api-events';
import { body, harness, type Harness } from '../issuance/harness';
import { line } from '../../unit/usage/lines';

const USAGE = '/admin/clients/{clientId}/usage';
const TOP = '/admin/usage/top';
const K1 = 'key_00000000000000000001';
const K2 = 'key_00000000000000000002';

describe('GET /admin/clients/{clientId}/usage and GET /admin/usage/top', () => {
  let h: Harness;
  /** The start of the minute that holds the injected clock, epoch ms. */
  let minute: number;

  beforeAll(async () => {
    h = await harness({ seedKey: false });
    minute = Math.floor((h.nowSeconds() * 1000) / 60_000) * 60_000;
    const store = new DynamoUsageStore(h.tables.doc, h.tables.names.usage, UsageRetentionDefaults);
    const routes = new RouteLabeler(DEFAULT_ROUTES);
    const at = (minutesAgo: number) => minute - minutesAgo * 60_000 + 1_000;
    const lines = [
      ...Array.from({ length: 5 }, () => line({ atMs: at(2), clientId: 'acme', keyId: K1 })),
      ...Array.from({ length: 3 }, () =>
        line({ atMs: at(0), clientId: 'acme', keyId: K2, method: 'POST', path: '/orders', status: 403, errorType: 'ACCESS_DENIED' }),
      ),
      ...Array.from({ length: 2 }, () => line({ atMs: at(0), clientId: 'acme', keyId: K1, status: 429, errorType: 'THROTTLED', sourceIp: '192.0.2.4' })),
      ...Array.from({ length: 7 }, () => line({ atMs: at(1), clientId: 'zeta', keyId: K2 })),
      ...Array.from({ length: 4 }, () => line({ atMs: at(1), clientId: 'omega', keyId: K2, status: 429, errorType: 'THROTTLED' })),
    ];
    await store.apply('seed', meterLines(lines, routes));
  });

  const get = (resource: string, query: Record<string, string>, clientId = 'acme') =>
    h.admin(adminCall('GET', resource, resource === USAGE ? { clientId } : undefined, undefined, query));

  it('returns one point per minute, zeros where nothing happened, with totals and networks', async () => {
    const response = await get(USAGE, { from: String(minute / 1000 - 180), granularity: 'minute' });
    expect(response.statusCode, response.body).toBe(200);
    const view = body(response) as { points: Record<string, unknown>[]; totals: Record<string, unknown>; from: string; to: string };
    expect(view.from).toBe(new Date(minute - 180_000).toISOString());
    expect(view.to).toBe(new Date(minute).toISOString());
    expect(view.points.map((p) => p.requests)).toEqual([0, 5, 0, 5]);
    expect(view.points[3]).toEqual({
      start: new Date(minute).toISOString(),
      requests: 5,
      allowed: 0,
      throttled: 2,
      serverErrors: 0,
      denied: 3,
      deniedBy: { access_denied: 3 },
      networks: 2,
    });
    expect(view.totals).toEqual({ requests: 10, allowed: 5, throttled: 2, serverErrors: 0, denied: 3, deniedBy: { access_denied: 3 } });
  });

  it('defaults to the last 60 minutes up to now', async () => {
    const view = body(await get(USAGE, {})) as { points: unknown[]; granularity: string };
    expect(view.granularity).toBe('minute');
    expect(view.points).toHaveLength(60);
  });

  it('narrows to one key or one route, and rolls up to hours and days', async () => {
    const byKey = body(await get(USAGE, { from: String(minute / 1000 - 180), keyId: K1 })) as { keyId: string; totals: Record<string, number> };
    expect(byKey.keyId).toBe(K1);
    expect(byKey.totals).toMatchObject({ requests: 7, allowed: 5, throttled: 2 });
    const byRoute = body(await get(USAGE, { from: String(minute / 1000 - 180), route: 'POST /orders' })) as { totals: Record<string, number> };
    expect(byRoute.totals).toMatchObject({ requests: 3, denied: 3 });
    const day = body(await get(USAGE, { granularity: 'day', from: new Date(minute - 2 * 86_400_000).toISOString() })) as {
      points: Record<string, unknown>[];
      totals: Record<string, number>;
    };
    expect(day.points).toHaveLength(3);
    expect(day.totals.requests).toBe(10);
    expect(day.points[2]).not.toHaveProperty('networks');
  });

  it('ranks clients of a window by requests, denials or throttling', async () => {
    const byRequests = body(await get(TOP, { window: '1h' })) as { clients: { clientId: string }[] };
    // The seeded minutes may straddle an hour boundary; a two-hour window holds them all.
    const twoHours = body(await get(TOP, { window: '2h' })) as { clients: Record<string, unknown>[] };
    expect(twoHours.clients).toEqual([
      { clientId: 'acme', requests: 10, denied: 3, throttled: 2 },
      { clientId: 'zeta', requests: 7, denied: 0, throttled: 0 },
      { clientId: 'omega', requests: 4, denied: 0, throttled: 4 },
    ]);
    expect(byRequests.clients.length).toBeGreaterThan(0);
    const throttled = body(await get(TOP, { by: 'throttled', window: '1d', limit: '1' })) as { by: string; clients: { clientId: string }[] };
    expect(throttled).toMatchObject({ by: 'throttled', clients: [{ clientId: 'omega' }] });
    const denied = body(await get(TOP, { by: 'denied', window: '7d' })) as { clients: { clientId: string }[] };
    expect(denied.clients.map((c) => c.clientId)).toEqual(['acme']);
  });

  it.each([
    [USAGE, { granularity: 'week' }, /granularity/],
    [USAGE, { from: 'yesterday' }, /from: must be an ISO 8601 time/],
    [USAGE, { to: '2026-12-06T20:00:00' }, /to: must be an ISO 8601 time with a zone/],
    [USAGE, { from: '2000000000', to: '1000000000' }, /from must not be after to/],
    // Instants whose ten-digit sort key would not sort as time does: DynamoDB refused the range (500).
    [USAGE, { from: '9999999960', to: '10000000020' }, /to: must be between 1970-01-01T00:00:00Z and 2286-11-20T17:46:39Z/],
    [USAGE, { from: '0001-01-01T00:00:00Z', to: '0001-01-05T00:00:00Z', granularity: 'day' }, /from: must be between 1970/],
    [USAGE, { to: '1969-12-31T23:59:59Z' }, /to: must be between 1970/],
    [USAGE, { from: '1000000000', granularity: 'minute' }, /at most 1440 points per request/],
    [USAGE, { keyId: 'abc' }, /keyId: must be a key id/],
    [USAGE, { route: 'orders' }, /route: must be a route label/],
    [USAGE, { keyId: K1, route: 'GET /orders' }, /keyId or route, not both/],
    [USAGE, { fromm: '1' }, /Unrecognized key/],
    [TOP, { by: 'latency' }, /by: /],
    [TOP, { window: '0h' }, /window: must be a number of hours or days/],
    [TOP, { window: '49h' }, /window: must be at most 48h or 90d/],
    [TOP, { window: '91d' }, /window: must be at most 48h or 90d/],
    [TOP, { window: '1w' }, /window: /],
    [TOP, { limit: '0' }, /limit: /],
    [TOP, { limit: '101' }, /limit: /],
    [TOP, { top: '5' }, /Unrecognized key/],
  ])('refuses %s with %j as 400 invalid_request, naming the parameter', async (resource, query, description) => {
    const response = await get(resource, query as Record<string, string>);
    expect(response.statusCode, response.body).toBe(400);
    expect(body(response)).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(description) });
  });

  it('refuses a client id that cannot exist before reading anything', async () => {
    const response = await get(USAGE, {}, 'no|pipes');
    expect(response.statusCode).toBe(400);
    expect(body(response)).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/clientId must match/) });
  });
});

describe('metered quota routes', () => {
  let h: Harness;
  const QUOTA = '/admin/clients/{clientId}/quota';
  const RESUME = '/admin/clients/{clientId}/resume';
  beforeAll(async () => {
    h = await harness({ seedKey: false });
    await h.createKey('acme');
  });
  const call = (method: string, resource: string, clientId: string, body?: unknown) => h.admin(adminCall(method, resource, { clientId }, body));

  it('sets, shows and removes a quota with what was used this period; a client without one has none', async () => {
    expect(body(await call('GET', QUOTA, 'acme'))).toEqual({ clientId: 'acme' });
    const set = await call('PUT', QUOTA, 'acme', { quota: { limit: 100, period: 'WEEK' } });
    expect(set.statusCode, set.body).toBe(200);
    expect(body(set)).toMatchObject({ clientId: 'acme', quota: { limit: 100, period: 'WEEK' }, period: { used: 0, remaining: 100 } });
    const shown = body(await call('GET', QUOTA, 'acme')) as { period: { start: number; end: number } };
    expect(shown.period.end - shown.period.start).toBe(7 * 86_400);
    expect(body(await call('PUT', QUOTA, 'acme', { quota: null }))).toEqual({ clientId: 'acme' });
  });

  it('resumes a suspended client at once, and a client that is not suspended is left as it is', async () => {
    const { DynamoUsageQuotaStore } = await import('../../../lambda/adapters/usage-quota-store');
    const store = new DynamoUsageQuotaStore(h.tables.doc, { clients: h.tables.names.clients, usage: h.tables.names.usage, apiKeys: h.tables.names.apiKeys });
    expect(await store.suspend('acme', h.nowSeconds() + 600, h.nowSeconds() * 1000)).toBe(true);
    expect(await store.suspend('acme', h.nowSeconds() + 600, h.nowSeconds() * 1000)).toBe(false);
    expect(body(await call('GET', QUOTA, 'acme'))).toEqual({ clientId: 'acme', suspendedUntil: h.nowSeconds() + 600 });
    const resumed = await call('POST', RESUME, 'acme');
    expect(resumed.statusCode).toBe(200);
    expect(body(resumed)).toEqual({ clientId: 'acme' });
    const [client] = (await h.items('clients')).filter((c) => c.clientId === 'acme');
    expect(client).toMatchObject({ suspendedUntil: h.nowSeconds(), suspendedReason: 'resumed' });
    expect((await call('POST', RESUME, 'acme')).statusCode).toBe(200);
  });

  it.each([
    [{}, /quota/],
    [{ quota: { limit: 0, period: 'DAY' } }, /quota.limit/],
    [{ quota: { limit: 1.5, period: 'DAY' } }, /quota.limit/],
    [{ quota: { limit: 10, period: 'YEAR' } }, /quota.period/],
    [{ quota: { limit: 10, period: 'DAY', credits: 5 } }, /Unrecognized key/],
    [{ quota: 10 }, /quota/],
  ])('refuses the body %j with 400 invalid_request, changing nothing', async (input, description) => {
    const before = await h.items('clients');
    const response = await call('PUT', QUOTA, 'acme', input);
    expect(response.statusCode).toBe(400);
    expect(body(response)).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(description) });
    expect(await h.items('clients')).toEqual(before);
  });

  it('answers 404 client_not_found for a client that never had a key, and 400 for an impossible client id', async () => {
    for (const [method, resource, input] of [
      ['GET', QUOTA],
      ['PUT', QUOTA, { quota: null }],
      ['POST', RESUME],
    ] as const) {
      const response = await call(method, resource, 'ghost', input);
      expect(response.statusCode).toBe(404);
      expect(body(response).error).toBe('client_not_found');
    }
    expect((await call('GET', QUOTA, 'bad|id')).statusCode).toBe(400);
  });
});

describe('credits', () => {
  let h: Harness;
  const CREDITS = '/admin/clients/{clientId}/credits';
  beforeAll(async () => {
    h = await harness({ seedKey: false });
    await h.createKey('acme');
  });

  it('are counted by the metering transaction exactly once per batch, and shown with what is left', async () => {
    const set = await h.admin(adminCall('PUT', CREDITS, { clientId: 'acme' }, { credits: { remaining: 100, refill: 10, period: 'DAY' } }));
    expect(set.statusCode, set.body).toBe(200);
    expect(body(set)).toMatchObject({ clientId: 'acme', credits: { granted: 100, used: 0, remaining: 100, refill: 10, period: 'DAY' } });
    const store = new DynamoUsageStore(h.tables.doc, h.tables.names.usage, UsageRetentionDefaults, h.tables.names.clients);
    const lines = [
      ...Array.from({ length: 7 }, () => line({ atMs: h.nowSeconds() * 1000, clientId: 'acme', keyId: K1 })),
      line({ atMs: h.nowSeconds() * 1000, clientId: 'acme', keyId: K1, status: 403, errorType: 'ACCESS_DENIED' }),
    ];
    const batch = meterLines(lines, new RouteLabeler(DEFAULT_ROUTES));
    await store.apply('credits-1', batch, new Set(['acme']));
    await store.apply('credits-1', batch, new Set(['acme']));
    const shown = body(await h.admin(adminCall('GET', '/admin/clients/{clientId}/quota', { clientId: 'acme' })));
    expect(shown.credits).toMatchObject({ granted: 100, used: 7, remaining: 93 });
    // New credits start counting afresh and lift a suspension.
    const { DynamoUsageQuotaStore } = await import('../../../lambda/adapters/usage-quota-store');
    await new DynamoUsageQuotaStore(h.tables.doc, { clients: h.tables.names.clients, usage: h.tables.names.usage, apiKeys: h.tables.names.apiKeys }).suspend(
      'acme',
      h.nowSeconds() + 600,
      h.nowSeconds() * 1000,
    );
    const reset = body(await h.admin(adminCall('PUT', CREDITS, { clientId: 'acme' }, { credits: { remaining: 5, refill: 0, period: 'MONTH' } })));
    expect(reset).toEqual({ clientId: 'acme', credits: { granted: 5, used: 0, remaining: 5, refill: 0, period: 'MONTH', nextRefill: expect.any(Number) } });
    expect(body(await h.admin(adminCall('PUT', CREDITS, { clientId: 'acme' }, { credits: null })))).toEqual({ clientId: 'acme' });
  });

  it.each([
    [{}],
    [{ credits: { remaining: -1, refill: 0, period: 'DAY' } }],
    [{ credits: { remaining: 1, refill: 0.5, period: 'DAY' } }],
    [{ credits: { remaining: 1, refill: 0, period: 'HOUR' } }],
    [{ credits: { remaining: 1 } }],
  ])('refuses %j with 400 invalid_request', async (input) => {
    const response = await h.admin(adminCall('PUT', CREDITS, { clientId: 'acme' }, input));
    expect(response.statusCode).toBe(400);
    expect(body(response).error).toBe('invalid_request');
  });

  it('answers 404 for a client that never had a key', async () => {
    expect((await h.admin(adminCall('PUT', CREDITS, { clientId: 'ghost' }, { credits: null }))).statusCode).toBe(404);
  });

  it('new credits lift a suspension for spent credits, never an anomaly suspension (a security response, not a billing one)', async () => {
    await h.createKey('flagged');
    const { DynamoUsageQuotaStore } = await import('../../../lambda/adapters/usage-quota-store');
    const suspensions = new DynamoUsageQuotaStore(h.tables.doc, {
      clients: h.tables.names.clients,
      usage: h.tables.names.usage,
      apiKeys: h.tables.names.apiKeys,
    });
    const until = h.nowSeconds() + 3600;
    expect(await suspensions.suspendFor('flagged', until, 'anomaly', h.nowSeconds() * 1000)).toBe(true);
    const topUp = await h.admin(adminCall('PUT', CREDITS, { clientId: 'flagged' }, { credits: { remaining: 1000, refill: 0, period: 'DAY' } }));
    expect(topUp.statusCode).toBe(200);
    expect(body(topUp).suspendedUntil).toBe(until);
    // An operator's resume still lifts it.
    expect(body(await h.admin(adminCall('POST', '/admin/clients/{clientId}/resume', { clientId: 'flagged' }))).suspendedUntil).toBeUndefined();
  });
});

describe('per-key quota routes', () => {
  let h: Harness;
  let keyId: string;
  let otherKeyId: string;
  const QUOTA = '/admin/keys/{keyId}/quota';
  const RESUME = '/admin/keys/{keyId}/resume';
  beforeAll(async () => {
    h = await harness({ seedKey: false });
    keyId = (await h.createKey('acme')).key.keyId as string;
    otherKeyId = (await h.createKey('acme')).key.keyId as string;
  });
  const call = (method: string, resource: string, id: string, input?: unknown) => h.admin(adminCall(method, resource, { keyId: id }, input));

  it("sets, shows and removes a key's quota with what the key used this period, leaving the client's and the other key's alone", async () => {
    expect(body(await call('GET', QUOTA, keyId))).toEqual({ keyId, clientId: 'acme' });
    const store = new DynamoUsageStore(h.tables.doc, h.tables.names.usage, UsageRetentionDefaults);
    const at = h.nowSeconds() * 1000;
    const lines = [
      ...Array.from({ length: 6 }, () => line({ atMs: at, clientId: 'acme', keyId })),
      ...Array.from({ length: 4 }, () => line({ atMs: at, clientId: 'acme', keyId: otherKeyId })),
      line({ atMs: at, clientId: 'acme', keyId, status: 403, errorType: 'ACCESS_DENIED' }),
    ];
    await store.apply('key-quota', meterLines(lines, new RouteLabeler(DEFAULT_ROUTES)));
    const set = await call('PUT', QUOTA, keyId, { quota: { limit: 20, period: 'DAY' } });
    expect(set.statusCode, set.body).toBe(200);
    expect(body(set)).toMatchObject({ keyId, clientId: 'acme', quota: { limit: 20, period: 'DAY' }, period: { used: 6, remaining: 14 } });
    expect(body(await call('GET', QUOTA, otherKeyId))).toEqual({ keyId: otherKeyId, clientId: 'acme' });
    expect(body(await h.admin(adminCall('GET', '/admin/clients/{clientId}/quota', { clientId: 'acme' })))).toEqual({ clientId: 'acme' });
    const [record] = (await h.items('apiKeys')).filter((k) => k.keyId === keyId);
    expect(record).toMatchObject({ meteredQuota: { limit: 20, period: 'DAY' } });
    expect(body(await call('PUT', QUOTA, keyId, { quota: null }))).toEqual({ keyId, clientId: 'acme' });
  });

  it('resumes a suspended key at once (the write the fan-out turns into a lifting), and a key that is not suspended is left as it is', async () => {
    const { DynamoUsageQuotaStore } = await import('../../../lambda/adapters/usage-quota-store');
    const store = new DynamoUsageQuotaStore(h.tables.doc, { clients: h.tables.names.clients, usage: h.tables.names.usage, apiKeys: h.tables.names.apiKeys });
    expect(await store.suspendKey(keyId, h.nowSeconds() + 600, h.nowSeconds() * 1000)).toBe(true);
    expect(await store.suspendKey(keyId, h.nowSeconds() + 600, h.nowSeconds() * 1000)).toBe(false);
    expect(body(await call('GET', QUOTA, keyId))).toEqual({ keyId, clientId: 'acme', suspendedUntil: h.nowSeconds() + 600 });
    // The client is not suspended by its key's suspension.
    expect(body(await h.admin(adminCall('GET', '/admin/clients/{clientId}/quota', { clientId: 'acme' })))).toEqual({ clientId: 'acme' });
    const resumed = await call('POST', RESUME, keyId);
    expect(resumed.statusCode).toBe(200);
    expect(body(resumed)).toEqual({ keyId, clientId: 'acme' });
    const [record] = (await h.items('apiKeys')).filter((k) => k.keyId === keyId);
    expect(record).toMatchObject({ suspendedUntil: h.nowSeconds(), suspendedReason: 'resumed', status: 'active' });
    expect((await call('POST', RESUME, keyId)).statusCode).toBe(200);
  });

  it('never suspends a revoked key', async () => {
    const { DynamoUsageQuotaStore } = await import('../../../lambda/adapters/usage-quota-store');
    const store = new DynamoUsageQuotaStore(h.tables.doc, { clients: h.tables.names.clients, usage: h.tables.names.usage, apiKeys: h.tables.names.apiKeys });
    const revoked = (await h.createKey('acme')).key.keyId as string;
    expect((await h.admin(adminCall('DELETE', '/admin/keys/{keyId}', { keyId: revoked }))).statusCode).toBe(204);
    expect(await store.suspendKey(revoked, h.nowSeconds() + 600, h.nowSeconds() * 1000)).toBe(false);
  });

  it.each([
    [{}, /quota/],
    [{ quota: { limit: 0, period: 'DAY' } }, /quota.limit/],
    [{ quota: { limit: 10, period: 'YEAR' } }, /quota.period/],
    [{ quota: { limit: 10, period: 'DAY', extra: 1 } }, /Unrecognized key/],
  ])('refuses the body %j with 400 invalid_request, changing nothing', async (input, description) => {
    const before = await h.items('apiKeys');
    const response = await call('PUT', QUOTA, keyId, input);
    expect(response.statusCode).toBe(400);
    expect(body(response)).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(description) });
    expect(await h.items('apiKeys')).toEqual(before);
  });

  it('answers 404 key_not_found for an unknown key id and for anything that is not a key id, changing nothing', async () => {
    const before = await h.items('apiKeys');
    for (const id of ['key_ffffffffffffffffffff', 'not-a-key']) {
      for (const [method, resource, input] of [
        ['GET', QUOTA],
        ['PUT', QUOTA, { quota: { limit: 5, period: 'DAY' } }],
        ['POST', RESUME],
      ] as const) {
        const response = await call(method, resource, id, input);
        expect(response.statusCode, `${method} ${id}`).toBe(404);
        expect(body(response).error).toBe('key_not_found');
      }
    }
    expect(await h.items('apiKeys')).toEqual(before);
  });
});
