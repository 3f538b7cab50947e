import { describe, expect, it } from 'vitest';
import { periodBounds, UsageLimiter, type UsageLimitSource } from '../../../local/usage-limiter';
import type { KeyLimits } from '../../../local/usage-plans';

/** A fixed set of keys and their limits, mutable to move a key between plans. */
function source(entries: Record<string, KeyLimits>): UsageLimitSource & { entries: Record<string, KeyLimits> } {
  return { entries, limitsFor: (key) => entries[key] };
}

function clock(startMs: number) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const T0 = Date.UTC(2026, 2, 11, 12, 0, 0); // Wednesday

describe('local usage limiter (API Gateway usage-plan semantics)', () => {
  it('refuses a missing key and a key no plan holds (403 INVALID_API_KEY)', () => {
    const limiter = new UsageLimiter(source({}), () => T0);
    expect(limiter.admit(undefined)).toEqual({ outcome: 'invalid_key' });
    expect(limiter.admit(null)).toEqual({ outcome: 'invalid_key' });
    expect(limiter.admit('')).toEqual({ outcome: 'invalid_key' });
    expect(limiter.admit('tguUnknown')).toEqual({ outcome: 'invalid_key' });
  });

  it('token bucket: a full burst at once, then the steady rate, with an honest Retry-After', () => {
    const time = clock(T0);
    const limiter = new UsageLimiter(source({ a: { planId: 'p', keyId: 'k', throttle: { rateLimit: 5, burstLimit: 5 } } }), time.now);
    const burst = Array.from({ length: 7 }, () => limiter.admit('a'));
    expect(burst.filter((v) => v.outcome === 'allow')).toHaveLength(5);
    expect(burst.at(-1)).toEqual({ outcome: 'throttled', retryAfterSeconds: 1 });
    time.advance(200); // one token at 5/s
    expect(limiter.admit('a')).toEqual({ outcome: 'allow' });
    expect(limiter.admit('a').outcome).toBe('throttled');
    time.advance(10_000); // refills to the burst, never beyond
    expect(Array.from({ length: 6 }, () => limiter.admit('a').outcome)).toEqual(['allow', 'allow', 'allow', 'allow', 'allow', 'throttled']);
  });

  it('a slow rate waits longer than a second for its next token', () => {
    const limiter = new UsageLimiter(source({ slow: { planId: 'p', keyId: 'k', throttle: { rateLimit: 0.25, burstLimit: 1 } } }), () => T0);
    expect(limiter.admit('slow')).toEqual({ outcome: 'allow' });
    expect(limiter.admit('slow')).toEqual({ outcome: 'throttled', retryAfterSeconds: 4 });
  });

  it('limits apply per key: one client throttled does not slow another in the same plan', () => {
    const throttle = { rateLimit: 1, burstLimit: 2 };
    const limiter = new UsageLimiter(source({ a: { planId: 'shared', keyId: 'ka', throttle }, b: { planId: 'shared', keyId: 'kb', throttle } }), () => T0);
    expect([limiter.admit('a'), limiter.admit('a'), limiter.admit('a')].map((v) => v.outcome)).toEqual(['allow', 'allow', 'throttled']);
    expect([limiter.admit('b'), limiter.admit('b')].map((v) => v.outcome)).toEqual(['allow', 'allow']);
  });

  it('quota: exactly `limit` requests per UTC period; refused requests do not count; Retry-After is the time to the next period', () => {
    const time = clock(Date.UTC(2026, 2, 11, 23, 59, 0));
    const limiter = new UsageLimiter(
      source({ q: { planId: 'p', keyId: 'k', throttle: { rateLimit: 1, burstLimit: 3 }, quota: { limit: 4, period: 'DAY' } } }),
      time.now,
    );
    const first = Array.from({ length: 4 }, () => limiter.admit('q').outcome);
    expect(first).toEqual(['allow', 'allow', 'allow', 'throttled']);
    time.advance(1000);
    expect(limiter.admit('q').outcome).toBe('allow'); // the throttled one did not use quota
    expect(limiter.admit('q')).toEqual({ outcome: 'quota_exceeded', retryAfterSeconds: 59 });
    time.advance(59_000); // midnight UTC: a new day
    expect(limiter.admit('q').outcome).toBe('allow');
  });

  it('a client moved to another plan is counted afresh there, under the new limits', () => {
    const limits = source({ m: { planId: 'default', keyId: 'k', throttle: { rateLimit: 1, burstLimit: 1 } } });
    const limiter = new UsageLimiter(limits, () => T0);
    expect(limiter.admit('m').outcome).toBe('allow');
    expect(limiter.admit('m').outcome).toBe('throttled');
    limits.entries.m = { planId: 'custom', keyId: 'k', throttle: { rateLimit: 100, burstLimit: 100 } };
    expect(limiter.admit('m').outcome).toBe('allow');
  });

  it('a plan without throttle or quota admits everything', () => {
    const limiter = new UsageLimiter(source({ free: { planId: 'p', keyId: 'k' } }), () => T0);
    expect(Array.from({ length: 1000 }, () => limiter.admit('free').outcome).every((o) => o === 'allow')).toBe(true);
  });

  it('periods are UTC days, ISO weeks (Monday) and calendar months', () => {
    expect(periodBounds(T0, 'DAY')).toEqual({ startMs: Date.UTC(2026, 2, 11), endMs: Date.UTC(2026, 2, 12) });
    expect(periodBounds(T0, 'WEEK')).toEqual({ startMs: Date.UTC(2026, 2, 9), endMs: Date.UTC(2026, 2, 16) });
    expect(periodBounds(Date.UTC(2026, 2, 15, 23), 'WEEK').startMs).toBe(Date.UTC(2026, 2, 9)); // Sunday belongs to the week of Monday the 9th
    expect(periodBounds(T0, 'MONTH')).toEqual({ startMs: Date.UTC(2026, 2, 1), endMs: Date.UTC(2026, 3, 1) });
    expect(periodBounds(Date.UTC(2026, 11, 31, 12), 'MONTH').endMs).toBe(Date.UTC(2027, 0, 1));
  });
});
