/**
 * An operator's `resume` of a metered-quota suspension waives the quota for the rest of its
 * period, and nothing else does: the real store, admin and quota check over DynamoDB Local,
 * with the meters filled through the metering transaction. The waiver is its own attribute
 * (`quotaWaivedUntil`, the lifted suspension's end), compared with the period's end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { UsageRetentionDefaults } from '../../../common/usage';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { DynamoUsageStore } from '../../../lambda/adapters/usage-store';
import { meterLines, RouteLabeler } from '../../../lambda/core/usage/usage-meter';
import { QuotaEnforcer, quotaPeriodBounds, quotaPorts } from '../../../lambda/core/usage/usage-quota';
import { QuotaAdmin } from '../../../lambda/core/usage/usage-quota-admin';
import { line } from '../../unit/usage/lines';
import { harness, type Harness } from '../issuance/harness';

const audit = { record: () => undefined, warn: () => undefined };
const MONTH_QUOTA = { limit: 100, period: 'MONTH' } as const;
/**
 * The second day of this month: usage rows expire by TTL `dayDays` after their time, and
 * DynamoDB Local really deletes them, so a fixed date long past lost its meters mid-test.
 */
const START_MS = (quotaPeriodBounds('MONTH', Math.floor(Date.now() / 1000)).start + 86_400) * 1000;

let h: Harness;
beforeAll(async () => {
  h = await harness({ seedKey: false });
});

/** One client's world: its quota store, the admin API's quota routes, the quota check and the meters, on one clock. */
async function client(clientId: string) {
  await h.createKey(clientId);
  const { tables } = h;
  const store = new DynamoUsageQuotaStore(tables.doc, { clients: tables.names.clients, usage: tables.names.usage, apiKeys: tables.names.apiKeys });
  const meters = new DynamoUsageStore(tables.doc, tables.names.usage, UsageRetentionDefaults);
  let now = START_MS;
  let batch = 0;
  const check = async () =>
    (
      await new QuotaEnforcer(
        quotaPorts(store, async () => undefined),
        () => now,
      ).check([clientId])
    )[0]!.outcome;
  return {
    store,
    admin: new QuotaAdmin(store, audit as never, () => now),
    check,
    later: (ms: number) => void (now += ms),
    nowSeconds: () => Math.floor(now / 1000),
    meter: async (requests: number) => {
      const lines = Array.from({ length: requests }, () => line({ atMs: now, clientId }));
      await meters.apply(`${clientId}-${(batch += 1)}`, meterLines(lines, new RouteLabeler(DEFAULT_ROUTES)));
    },
  };
}

/** A client whose monthly quota its meters used up, suspended by the quota check, a minute ago. */
async function suspendedByQuota(clientId: string) {
  const c = await client(clientId);
  await c.store.setQuota(clientId, MONTH_QUOTA);
  await c.meter(150);
  expect(await c.check()).toBe('suspended');
  c.later(60_000);
  return c;
}

describe('the metered-quota waiver', () => {
  it("an operator's resume of the quota suspension waives the rest of the period, and a later anomaly suspension does not undo it", async () => {
    const c = await suspendedByQuota('waived');
    const shown = await c.admin.resume('waived', undefined);
    expect(shown).toMatchObject({ quotaWaivedUntil: shown.period?.end, period: { used: 150, remaining: 0 } });
    expect(shown.suspendedUntil).toBeUndefined();
    await c.meter(10);
    expect(await c.check()).toBe('waived');
    expect(await c.store.suspendFor('waived', c.nowSeconds() + 600, 'anomaly', c.nowSeconds() * 1000)).toBe(true);
    c.later(700_000);
    await c.meter(1);
    expect(await c.check()).toBe('waived');
  });

  it('resuming an anomaly suspension waives no quota: the limit holds when it is reached', async () => {
    const c = await client('anomalous');
    await c.store.setQuota('anomalous', MONTH_QUOTA);
    await c.meter(10);
    expect(await c.store.suspendFor('anomalous', c.nowSeconds() + 3600, 'anomaly', c.nowSeconds() * 1000)).toBe(true);
    c.later(60_000);
    expect((await c.admin.resume('anomalous', undefined)).quotaWaivedUntil).toBeUndefined();
    await c.meter(500);
    expect(await c.check()).toBe('suspended');
  });

  it('resuming a client suspended for spent credits waives no quota: removed credits leave the limit in force', async () => {
    const c = await client('spent');
    await c.store.setQuota('spent', MONTH_QUOTA);
    // Credits refilled monthly: spent, they suspend until the next refill, the quota period's end too (same reason).
    await c.admin.setCredits('spent', { credits: { remaining: 0, refill: 10, period: 'MONTH' } });
    const monthEnd = quotaPeriodBounds('MONTH', c.nowSeconds()).end;
    expect(await c.store.suspend('spent', monthEnd, c.nowSeconds() * 1000)).toBe(true);
    c.later(60_000);
    expect((await c.admin.resume('spent', undefined)).quotaWaivedUntil).toBeUndefined();
    await c.admin.setCredits('spent', { credits: null });
    await c.meter(150);
    expect(await c.check()).toBe('suspended');
  });

  it('setting or removing the quota ends a waiver: a new limit holds in the same period', async () => {
    const c = await suspendedByQuota('reset');
    await c.admin.resume('reset', undefined);
    expect(await c.check()).toBe('waived');
    await c.admin.set('reset', { quota: null });
    await c.admin.set('reset', { quota: { limit: 120, period: 'MONTH' } });
    await c.meter(1);
    expect(await c.check()).toBe('suspended');
  });

  it('granting or removing credits lifts a suspension without waiving the quota', async () => {
    const c = await suspendedByQuota('credited');
    await c.admin.setCredits('credited', { credits: { remaining: 50, refill: 0, period: 'MONTH' } });
    c.later(60_000);
    await c.admin.setCredits('credited', { credits: null });
    await c.meter(10);
    expect(await c.check()).toBe('suspended');
  });
});
