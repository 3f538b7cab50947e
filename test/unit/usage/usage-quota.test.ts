import { describe, expect, it } from 'vitest';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import {
  meteredKeys,
  QuotaEnforcer,
  quotaPeriodBounds,
  UsageEvent,
  type KeyQuotaState,
  type QuotaPorts,
  type QuotaState,
} from '../../../lambda/core/usage/usage-quota';

const DAY = SECONDS_PER_DAY;

describe('quotaPeriodBounds', () => {
  it('is the UTC day, the ISO week from Monday, the calendar month', () => {
    const at = Date.UTC(2026, 11, 6, 20, 35) / 1000; // a Sunday
    expect(quotaPeriodBounds('DAY', at)).toEqual({ start: Date.UTC(2026, 11, 6) / 1000, end: Date.UTC(2026, 11, 7) / 1000 });
    expect(quotaPeriodBounds('WEEK', at)).toEqual({ start: Date.UTC(2026, 10, 30) / 1000, end: Date.UTC(2026, 11, 7) / 1000 });
    expect(quotaPeriodBounds('WEEK', Date.UTC(2026, 11, 7) / 1000)).toEqual({ start: Date.UTC(2026, 11, 7) / 1000, end: Date.UTC(2026, 11, 14) / 1000 });
    expect(quotaPeriodBounds('MONTH', at)).toEqual({ start: Date.UTC(2026, 11, 1) / 1000, end: Date.UTC(2027, 0, 1) / 1000 });
    expect(quotaPeriodBounds('MONTH', Date.UTC(2028, 1, 29, 23, 59, 59) / 1000)).toEqual({
      start: Date.UTC(2028, 1, 1) / 1000,
      end: Date.UTC(2028, 2, 1) / 1000,
    });
  });
});

/** Ports over memory: `used` is what the test says the meters hold. */
class Fakes implements QuotaPorts {
  used_ = 0;
  readonly states = new Map<string, QuotaState>();
  readonly notices = new Set<string>();
  readonly events: { detailType: string; detail: Record<string, unknown> }[] = [];
  async state(clientId: string) {
    return this.states.get(clientId) ?? {};
  }
  async used() {
    return this.used_;
  }
  async suspend(clientId: string, until: number) {
    const state = this.states.get(clientId) ?? {};
    if (state.suspendedUntil !== undefined && state.suspendedUntil >= until) return false;
    this.states.set(clientId, { ...state, suspendedUntil: until });
    return true;
  }
  readonly keyStates = new Map<string, KeyQuotaState>();
  /** Allowed requests per key, as the key's meters hold them. */
  readonly keyUsedBy = new Map<string, number>();
  async keyState(keyId: string) {
    return this.keyStates.get(keyId) ?? {};
  }
  async keyUsed(_clientId: string, keyId: string) {
    return this.keyUsedBy.get(keyId) ?? 0;
  }
  async suspendKey(keyId: string, until: number) {
    const state = this.keyStates.get(keyId) ?? {};
    if (state.suspendedUntil !== undefined && state.suspendedUntil >= until) return false;
    this.keyStates.set(keyId, { ...state, suspendedUntil: until });
    return true;
  }
  async noticeOnce(clientId: string, start: number, threshold: number | string) {
    const key = `${clientId}|${start}|${threshold}`;
    if (this.notices.has(key)) return false;
    this.notices.add(key);
    return true;
  }
  async publish(event: { detailType: string; detail: Readonly<Record<string, string | number>> }) {
    this.events.push({ detailType: event.detailType, detail: { ...event.detail } });
  }
}

describe('QuotaEnforcer (injected clock)', () => {
  const dayStart = Date.UTC(2026, 11, 6) / 1000;

  it('warns at 80% and 95% once each, suspends at the limit until the day ends, and lets the next day start afresh', async () => {
    const fakes = new Fakes();
    fakes.states.set('acme', { quota: { limit: 100, period: 'DAY' } });
    let now = (dayStart + 3600) * 1000;
    const enforcer = new QuotaEnforcer(fakes, () => now);

    fakes.used_ = 79;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'within' }]);
    fakes.used_ = 80;
    expect(await enforcer.check(['acme', 'acme'])).toEqual([{ clientId: 'acme', outcome: 'approaching', threshold: 0.8, used: 80, limit: 100 }]);
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'within' }]);
    fakes.used_ = 97;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'approaching', threshold: 0.95, used: 97, limit: 100 }]);
    fakes.used_ = 100;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'suspended', used: 100, limit: 100, until: dayStart + DAY }]);
    expect(fakes.states.get('acme')?.suspendedUntil).toBe(dayStart + DAY);
    fakes.used_ = 104;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'already_suspended' }]);
    expect(fakes.events.map((e) => [e.detailType, e.detail.threshold ?? e.detail.used])).toEqual([
      [UsageEvent.limitApproaching, 0.8],
      [UsageEvent.limitApproaching, 0.95],
      [UsageEvent.quotaExceeded, 100],
    ]);
    expect(fakes.events[0]!.detail).toEqual({
      clientId: 'acme',
      period: 'DAY',
      periodStart: dayStart,
      periodEnd: dayStart + DAY,
      limit: 100,
      used: 80,
      threshold: 0.8,
    });

    // The next day: the meters start from zero, the old suspension has ended.
    now = (dayStart + DAY + 10) * 1000;
    fakes.used_ = 3;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'within' }]);
    fakes.used_ = 100;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'suspended', used: 100, limit: 100, until: dayStart + 2 * DAY }]);
  });

  it("takes an operator's waiver of a period's quota (quotaWaivedUntil = the period's end) until that period turns", async () => {
    const fakes = new Fakes();
    let now = (dayStart + 3600) * 1000;
    const enforcer = new QuotaEnforcer(fakes, () => now);
    fakes.used_ = 100;
    // Yesterday's period waived: today's limit holds.
    fakes.states.set('acme', { quota: { limit: 100, period: 'DAY' }, suspendedUntil: dayStart - 10, quotaWaivedUntil: dayStart });
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'suspended', used: 100, limit: 100, until: dayStart + DAY }]);

    // Today's period waived after its suspension: the period's use stays over the limit and is not held against it again.
    now += 60_000;
    fakes.states.set('acme', { quota: { limit: 100, period: 'DAY' }, suspendedUntil: now / 1000, quotaWaivedUntil: dayStart + DAY });
    fakes.used_ = 150;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'waived' }]);
    expect(fakes.states.get('acme')?.suspendedUntil).toBe(now / 1000);

    // The next day: enforced again.
    now = (dayStart + DAY + 10) * 1000;
    fakes.used_ = 100;
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'suspended', used: 100, limit: 100, until: dayStart + 2 * DAY }]);
  });

  it('leaves clients without a quota alone and reports a failing client without skipping the others', async () => {
    const fakes = new Fakes();
    fakes.states.set('limited', { quota: { limit: 1, period: 'MONTH' } });
    fakes.used_ = 1;
    const failing: QuotaPorts = {
      keyState: (k) => fakes.keyState(k),
      keyUsed: (c, k) => fakes.keyUsed(c, k),
      suspendKey: (k, u) => fakes.suspendKey(k, u),
      state: async (id) => (id === 'broken' ? Promise.reject(new Error('down')) : fakes.state(id)),
      used: async () => 1,
      suspend: (c, u) => fakes.suspend(c, u),
      noticeOnce: async () => true,
      publish: async () => undefined,
    };
    const enforcer = new QuotaEnforcer(failing, () => dayStart * 1000);
    await expect(enforcer.check(['free', 'broken', 'limited'])).rejects.toThrow(/quota check failed for 1 client/);
    expect(fakes.states.get('limited')?.suspendedUntil).toBe(Date.UTC(2027, 0, 1) / 1000);
    expect(await new QuotaEnforcer(fakes, () => dayStart * 1000).check(['free'])).toEqual([{ clientId: 'free', outcome: 'no_quota' }]);
  });
});

describe('per-key quotas (injected clock)', () => {
  const dayStart = Date.UTC(2026, 11, 6) / 1000;
  const KEY = 'key_0123456789abcdef0123';
  const OTHER = 'key_fedcba9876543210fedc';

  it('warn at 80% and 95% naming the key, suspend only that key at its limit until the period ends, start afresh when it turns', async () => {
    const fakes = new Fakes();
    fakes.keyStates.set(KEY, { quota: { limit: 20, period: 'DAY' } });
    let now = (dayStart + 3600) * 1000;
    const enforcer = new QuotaEnforcer(fakes, () => now);
    const keys = [
      { clientId: 'acme', keyId: KEY },
      { clientId: 'acme', keyId: OTHER },
    ];

    fakes.keyUsedBy.set(KEY, 15).set(OTHER, 500);
    expect(await enforcer.check(['acme'], keys)).toEqual([
      { clientId: 'acme', outcome: 'no_quota' },
      { clientId: 'acme', keyId: KEY, outcome: 'within' },
      { clientId: 'acme', keyId: OTHER, outcome: 'no_quota' },
    ]);
    fakes.keyUsedBy.set(KEY, 16);
    expect(await enforcer.check([], keys)).toContainEqual({ clientId: 'acme', keyId: KEY, outcome: 'approaching', threshold: 0.8, used: 16, limit: 20 });
    fakes.keyUsedBy.set(KEY, 19);
    expect(await enforcer.check([], [...keys, ...keys])).toEqual([
      { clientId: 'acme', keyId: KEY, outcome: 'approaching', threshold: 0.95, used: 19, limit: 20 },
      { clientId: 'acme', keyId: OTHER, outcome: 'no_quota' },
    ]);
    fakes.keyUsedBy.set(KEY, 23);
    expect(await enforcer.check([], keys)).toContainEqual({ clientId: 'acme', keyId: KEY, outcome: 'suspended', used: 23, limit: 20, until: dayStart + DAY });
    // The key alone: the client and its other key are untouched.
    expect(fakes.keyStates.get(KEY)?.suspendedUntil).toBe(dayStart + DAY);
    expect(fakes.keyStates.get(OTHER)).toBeUndefined();
    expect(fakes.states.get('acme')).toBeUndefined();
    expect(await enforcer.check([], keys)).toContainEqual({ clientId: 'acme', keyId: KEY, outcome: 'already_suspended' });
    expect(fakes.events.map((e) => [e.detailType, e.detail.keyId, e.detail.threshold ?? e.detail.used])).toEqual([
      [UsageEvent.limitApproaching, KEY, 0.8],
      [UsageEvent.limitApproaching, KEY, 0.95],
      [UsageEvent.quotaExceeded, KEY, 23],
    ]);
    expect(fakes.events[0]!.detail).toEqual({
      clientId: 'acme',
      keyId: KEY,
      period: 'DAY',
      periodStart: dayStart,
      periodEnd: dayStart + DAY,
      limit: 20,
      used: 16,
      threshold: 0.8,
    });

    // The next day: the key's meters start from zero and its notices come again.
    now = (dayStart + DAY + 10) * 1000;
    fakes.keyUsedBy.set(KEY, 17);
    expect(await enforcer.check([], keys)).toContainEqual({ clientId: 'acme', keyId: KEY, outcome: 'approaching', threshold: 0.8, used: 17, limit: 20 });
  });

  it("take an operator's waiver of the key's period as for clients", async () => {
    const fakes = new Fakes();
    const now = (dayStart + 3600) * 1000;
    const enforcer = new QuotaEnforcer(fakes, () => now);
    fakes.keyStates.set(KEY, { quota: { limit: 20, period: 'DAY' }, suspendedUntil: now / 1000 - 5, quotaWaivedUntil: dayStart + DAY });
    fakes.keyUsedBy.set(KEY, 40);
    expect(await enforcer.check([], [{ clientId: 'acme', keyId: KEY }])).toEqual([{ clientId: 'acme', keyId: KEY, outcome: 'waived' }]);
  });

  it("keep a key's notices apart from its client's in the same period", async () => {
    const fakes = new Fakes();
    fakes.states.set('acme', { quota: { limit: 100, period: 'DAY' } });
    fakes.keyStates.set(KEY, { quota: { limit: 10, period: 'DAY' } });
    fakes.used_ = 80;
    fakes.keyUsedBy.set(KEY, 8);
    const outcomes = await new QuotaEnforcer(fakes, () => (dayStart + 60) * 1000).check(['acme'], [{ clientId: 'acme', keyId: KEY }]);
    expect(outcomes.filter((o) => o.outcome === 'approaching')).toHaveLength(2);
  });

  it('report a failing key without skipping the other subjects', async () => {
    const fakes = new Fakes();
    fakes.keyStates.set(OTHER, { quota: { limit: 1, period: 'WEEK' } });
    fakes.keyUsedBy.set(OTHER, 1);
    const failing: QuotaPorts = { ...portsOf(fakes), keyState: async (k) => (k === KEY ? Promise.reject(new Error('down')) : fakes.keyState(k)) };
    await expect(
      new QuotaEnforcer(failing, () => dayStart * 1000).check(
        [],
        [
          { clientId: 'acme', keyId: KEY },
          { clientId: 'acme', keyId: OTHER },
        ],
      ),
    ).rejects.toThrow(/quota check failed for 1 client\(s\) or key\(s\)/);
    expect(fakes.keyStates.get(OTHER)?.suspendedUntil).toBe(quotaPeriodBounds('WEEK', dayStart).end);
  });

  it('are checked for the well-formed keys a batch allowed requests for, once each', () => {
    const counts = (allowed: number) => ({ allowed });
    const minutes = [
      {
        clientId: 'acme',
        keys: new Map([
          [KEY, counts(3)],
          [OTHER, counts(0)],
          ['not-a-key', counts(5)],
        ]),
      },
      { clientId: 'acme', keys: new Map([[KEY, counts(1)]]) },
      { clientId: 'zeta', keys: new Map([['key_00000000000000000000', counts(1)]]) },
    ];
    expect(meteredKeys(minutes)).toEqual([
      { clientId: 'acme', keyId: KEY },
      { clientId: 'zeta', keyId: 'key_00000000000000000000' },
    ]);
  });
});

function portsOf(fakes: Fakes): QuotaPorts {
  return {
    state: (c) => fakes.state(c),
    used: () => fakes.used(),
    suspend: (c, u) => fakes.suspend(c, u),
    keyState: (k) => fakes.keyState(k),
    keyUsed: (c, k) => fakes.keyUsed(c, k),
    suspendKey: (k, u) => fakes.suspendKey(k, u),
    noticeOnce: (c, s, t) => fakes.noticeOnce(c, s, t),
    publish: (e) => fakes.publish(e),
  };
}

describe('credits (injected clock)', () => {
  const dayStart = Date.UTC(2026, 11, 6) / 1000;

  it('count one refill per period start after they were set', async () => {
    const { refillsBetween, creditBalance } = await import('../../../lambda/core/usage/usage-quota');
    expect(refillsBetween('DAY', dayStart + 100, dayStart + DAY - 1)).toBe(0);
    expect(refillsBetween('DAY', dayStart + 100, dayStart + DAY)).toBe(1);
    expect(refillsBetween('DAY', dayStart + 100, dayStart + 10 * DAY + 5)).toBe(10);
    expect(refillsBetween('MONTH', Date.UTC(2026, 0, 31) / 1000, Date.UTC(2026, 2, 1) / 1000)).toBe(2);
    expect(creditBalance({ remaining: 50, refill: 10, period: 'DAY', setAt: dayStart + 100 }, 55, dayStart + DAY + 1)).toEqual({
      granted: 60,
      balance: 5,
      nextRefill: dayStart + 2 * DAY,
    });
  });

  it('warn at 80% and 95% of what they grant, suspend when spent until the next refill, and serve again after it', async () => {
    const fakes = new Fakes();
    fakes.states.set('acme', { credits: { remaining: 100, refill: 50, period: 'DAY', setAt: dayStart + 60 }, creditsUsed: 0 });
    let now = (dayStart + 3600) * 1000;
    const enforcer = new QuotaEnforcer(fakes, () => now);
    const use = (n: number) => fakes.states.set('acme', { ...fakes.states.get('acme'), creditsUsed: n });

    expect(await enforcer.creditClients(['acme', 'other'])).toEqual(new Set(['acme']));
    use(79);
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'within' }]);
    use(96);
    expect((await enforcer.check(['acme'])).map((o) => o.outcome)).toEqual(['approaching', 'approaching']);
    use(100);
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'suspended', used: 100, limit: 100, until: dayStart + DAY }]);
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'already_suspended' }]);
    // The refill at midnight grants 50 more: the suspension ended with the day, and 10 of them are used.
    now = (dayStart + DAY + 60) * 1000;
    use(110);
    expect(await enforcer.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'within' }]);
    expect(fakes.events.filter((e) => e.detailType === UsageEvent.quotaExceeded)).toHaveLength(1);
  });

  it('without refill, suspend until an operator sets new credits', async () => {
    const fakes = new Fakes();
    fakes.states.set('acme', { credits: { remaining: 10, refill: 0, period: 'MONTH', setAt: dayStart }, creditsUsed: 10 });
    const outcome = await new QuotaEnforcer(fakes, () => (dayStart + 60) * 1000).check(['acme']);
    expect(outcome).toEqual([{ clientId: 'acme', outcome: 'suspended', used: 10, limit: 10, until: dayStart + 10 * 365 * DAY }]);
  });
});
