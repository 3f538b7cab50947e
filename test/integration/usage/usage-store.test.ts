import { beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_ROUTES, type RouteRule } from '../../../common/gateway-contract';
import { UsageAttr } from '../../../common/usage';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { USAGE_NETWORKS_MAX, UsageRetentionDefaults, usagePeriodKey, usageSeries, usageTopPartition } from '../../../common/usage';
import { DynamoUsageReader, DynamoUsageStore } from '../../../lambda/adapters/usage-store';
import { meterLines, RouteLabeler } from '../../../lambda/core/usage/usage-meter';
import { freshTables, type TestTables } from '../../support/aws';
import { line } from '../../unit/usage/lines';

/**
 * The start of the current hour: rows expire by TTL some days after their own time (minute rows
 * after 7) and DynamoDB Local really deletes them, so a fixed date would, a week later, lose its
 * rows mid-test. Hour-aligned so every line of a test falls in one minute and one hour.
 */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000;
const MINUTE = T0 / 1000;
const KEY = 'key_00000000000000000001';
const routes = new RouteLabeler(DEFAULT_ROUTES);

describe('DynamoUsageStore on DynamoDB Local', () => {
  let tables: TestTables;
  let store: DynamoUsageStore;
  beforeAll(async () => {
    tables = await freshTables();
    store = new DynamoUsageStore(tables.doc, tables.names.usage, UsageRetentionDefaults);
  });

  const row = async (series: string, period: number | string) =>
    (
      await tables.doc.send(
        new GetCommand({
          TableName: tables.names.usage,
          Key: { [UsageAttr.series]: series, [UsageAttr.period]: typeof period === 'number' ? usagePeriodKey(period) : period },
        }),
      )
    ).Item;

  const traffic = (clientId: string, n: number, extra: Partial<Parameters<typeof line>[0]> = {}) =>
    Array.from({ length: n }, (_, i) => line({ atMs: T0 + i * 100, clientId, keyId: KEY, sourceIp: `203.0.${i % 3}.9`, ...extra }));

  it('adds a batch to the minute, hour and day rows of the client, its keys and routes, with TTLs and the top index', async () => {
    const lines = [...traffic('alpha', 5), ...traffic('alpha', 2, { method: 'POST', path: '/orders', status: 403, errorType: 'ACCESS_DENIED' })];
    expect(await store.apply('batch-1', meterLines(lines, routes))).toEqual({ applied: 1, duplicates: 0 });

    const minute = await row(usageSeries('minute', 'client', 'alpha'), MINUTE);
    expect(minute).toMatchObject({ requests: 7, allowed: 5, denied: 2, denied_access_denied: 2, expiresAt: MINUTE + 60 + 7 * SECONDS_PER_DAY });
    expect([...(minute!.networks as Set<string>)].sort()).toEqual(['203.0.0.0/24', '203.0.1.0/24', '203.0.2.0/24']);
    const hourStart = Math.floor(MINUTE / 3600) * 3600;
    const dayStart = Math.floor(MINUTE / SECONDS_PER_DAY) * SECONDS_PER_DAY;
    expect(await row(usageSeries('hour', 'client', 'alpha'), hourStart)).toMatchObject({ requests: 7, expiresAt: hourStart + 3600 + 90 * SECONDS_PER_DAY });
    expect(await row(usageSeries('day', 'client', 'alpha'), dayStart)).toMatchObject({
      requests: 7,
      expiresAt: dayStart + SECONDS_PER_DAY + 400 * SECONDS_PER_DAY,
    });
    expect(await row(usageSeries('minute', 'key', 'alpha', KEY), MINUTE)).toMatchObject({ requests: 7, allowed: 5, denied: 2 });
    expect(await row(usageSeries('day', 'route', 'alpha', 'POST /orders'), dayStart)).toMatchObject({ requests: 2, denied_access_denied: 2 });
    expect(await row(usageTopPartition('hour', hourStart), 'alpha')).toMatchObject({ requests: 7, denied: 2, throttled: 0 });
  });

  it('changes nothing when the same batch is delivered again, even concurrently', async () => {
    const batch = meterLines(traffic('bravo', 10), routes);
    const results = await Promise.all([store.apply('batch-b', batch), store.apply('batch-b', batch), store.apply('batch-b', batch)]);
    expect(results.reduce((n, r) => n + r.applied, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(2);
    expect(await row(usageSeries('minute', 'client', 'bravo'), MINUTE)).toMatchObject({ requests: 10 });
    expect(await row(usageSeries('hour', 'route', 'bravo', 'GET /orders/{proxy+}'), Math.floor(MINUTE / 3600) * 3600)).toMatchObject({ requests: 10 });

    // A different batch with the same lines is new traffic, and adds.
    await store.apply('batch-b2', batch);
    expect(await row(usageSeries('minute', 'client', 'bravo'), MINUTE)).toMatchObject({ requests: 20 });
  });

  it('adds concurrent batches for one client exactly (transaction conflicts are retried)', async () => {
    const batches = Array.from({ length: 12 }, (_, i) => store.apply(`conc-${i}`, meterLines(traffic('charlie', 3), routes)));
    await Promise.all(batches);
    expect(await row(usageSeries('minute', 'client', 'charlie'), MINUTE)).toMatchObject({ requests: 36, allowed: 36 });
    expect(await row(usageTopPartition('day', Math.floor(MINUTE / SECONDS_PER_DAY) * SECONDS_PER_DAY), 'charlie')).toMatchObject({ requests: 36 });
  });

  it('splits a client-minute over the 100-action transaction limit into chunks, each idempotent on its own marker', async () => {
    const many: RouteRule[] = Array.from({ length: 60 }, (_, i) => ({ method: 'GET', path: `/r${i}`, scopes: ['x'] }));
    const labeler = new RouteLabeler(many);
    const lines = many.map((rule, i) => line({ atMs: T0 + i, clientId: 'delta', keyId: KEY, path: rule.path }));
    const batch = meterLines(lines, labeler);
    // 60 routes + 1 key, three granularities, plus the client roll-ups and the top index: 188 actions.
    expect(await store.apply('wide', batch)).toEqual({ applied: 1, duplicates: 0 });
    expect(await store.apply('wide', batch)).toEqual({ applied: 0, duplicates: 1 });
    expect(await row(usageSeries('minute', 'client', 'delta'), MINUTE)).toMatchObject({ requests: 60 });
    for (const i of [0, 33, 59])
      expect(await row(usageSeries('day', 'route', 'delta', `GET /r${i}`), Math.floor(MINUTE / SECONDS_PER_DAY) * SECONDS_PER_DAY)).toMatchObject({
        requests: 1,
      });
    expect((await row(usageSeries('minute', 'client', 'delta'), MINUTE))!.batches).toHaveProperty('size', 2);
  });

  it('stops growing a network set at its bound instead of failing the batch', async () => {
    const ips = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => line({ atMs: T0, clientId: 'echo', keyId: KEY, sourceIp: `10.${(from + i) >> 8}.${(from + i) & 255}.1` }));
    await store.apply('nets-1', meterLines(ips(0, USAGE_NETWORKS_MAX), routes));
    await store.apply('nets-2', meterLines(ips(USAGE_NETWORKS_MAX, 10), routes));
    const minute = await row(usageSeries('minute', 'client', 'echo'), MINUTE);
    expect(minute).toMatchObject({ requests: USAGE_NETWORKS_MAX + 10 });
    expect((minute!.networks as Set<string>).size).toBe(USAGE_NETWORKS_MAX);
  });

  it('reads a series back in time order and the top index of an hour', async () => {
    await store.apply('later', meterLines([line({ atMs: T0 + 120_000, clientId: 'alpha', keyId: KEY })], routes));
    const reader = new DynamoUsageReader(tables.doc, tables.names.usage);
    const rows = await reader.series(usageSeries('minute', 'client', 'alpha'), MINUTE, MINUTE + 180);
    expect(rows.map((r) => [r[UsageAttr.period], r[UsageAttr.requests]])).toEqual([
      [usagePeriodKey(MINUTE), 7],
      [usagePeriodKey(MINUTE + 120), 1],
    ]);
    const top = await reader.top('hour', Math.floor(MINUTE / 3600) * 3600);
    expect(top.map((r) => r[UsageAttr.period]).sort()).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo']);
  });
});
