import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_LIMITS, Defaults, Limits } from '../../../common/defaults';
import { USAGE_KEY_PATTERN } from '../../../common/tokens';
import { limitPatches } from '../../../lambda/adapters/usage-plans';
import { effectiveLimits, LimitsBody, limitsFrom, planKind, sameLimits } from '../../../lambda/core/credentials/client-limits';
import { newUsageKey } from '../../../lambda/core/admin/client-usage';

const accepts = (body: unknown) => LimitsBody.safeParse(body).success;

describe('limits input', () => {
  it('accepts the bounds and refuses one past them', () => {
    expect(accepts({ rateLimit: 0.01, burstLimit: 1 })).toBe(true);
    expect(accepts({ rateLimit: 0, burstLimit: 1 })).toBe(false);
    expect(accepts({ rateLimit: -1, burstLimit: 1 })).toBe(false);
    expect(accepts({ rateLimit: Limits.rateLimitMax, burstLimit: Limits.burstLimitMax })).toBe(true);
    expect(accepts({ rateLimit: Limits.rateLimitMax + 0.5, burstLimit: Limits.burstLimitMax })).toBe(false);
    expect(accepts({ rateLimit: 1, burstLimit: Limits.burstLimitMax + 1 })).toBe(false);
    expect(accepts({ rateLimit: 1, burstLimit: 0 })).toBe(false);
    expect(accepts({ rateLimit: 1, burstLimit: 1, quota: { limit: Limits.quotaLimitMax, period: 'MONTH' } })).toBe(true);
    expect(accepts({ rateLimit: 1, burstLimit: 1, quota: { limit: Limits.quotaLimitMax + 1, period: 'MONTH' } })).toBe(false);
    expect(accepts({ rateLimit: 1, burstLimit: 1, quota: { limit: 1.5, period: 'WEEK' } })).toBe(false);
  });

  it('needs a bucket of at least one second of the rate, up to the account-level burst', () => {
    expect(accepts({ rateLimit: 10, burstLimit: 10 })).toBe(true);
    expect(accepts({ rateLimit: 10.2, burstLimit: 10 })).toBe(false);
    expect(accepts({ rateLimit: 10.2, burstLimit: 11 })).toBe(true);
    expect(accepts({ rateLimit: 8000, burstLimit: Limits.burstLimitMax })).toBe(true);
    expect(accepts({ rateLimit: 8000, burstLimit: Limits.burstLimitMax - 1 })).toBe(false);
  });

  it('is strict: unknown fields anywhere are refused', () => {
    expect(accepts({ rateLimit: 1, burstLimit: 1, extra: true })).toBe(false);
    expect(accepts({ rateLimit: 1, burstLimit: 1, quota: { limit: 1, period: 'DAY', offset: 0 } })).toBe(false);
  });

  it('stores no quota member for `quota: null` or an absent quota', () => {
    expect(limitsFrom(LimitsBody.parse({ rateLimit: 2, burstLimit: 3, quota: null }))).toEqual({ rateLimit: 2, burstLimit: 3 });
    expect(limitsFrom(LimitsBody.parse({ rateLimit: 2, burstLimit: 3 }))).toEqual({ rateLimit: 2, burstLimit: 3 });
    expect(limitsFrom(LimitsBody.parse({ rateLimit: 2, burstLimit: 3, quota: { limit: 9, period: 'WEEK' } }))).toEqual({
      rateLimit: 2,
      burstLimit: 3,
      quota: { limit: 9, period: 'WEEK' },
    });
  });
});

describe('plans', () => {
  it('exactly the defaults share the default plan; anything else is custom', () => {
    expect(DEFAULT_CLIENT_LIMITS).toEqual({ rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit });
    expect(planKind({ rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit })).toBe('default');
    expect(planKind({ rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit + 1 })).toBe('custom');
    expect(planKind({ ...DEFAULT_CLIENT_LIMITS, quota: { limit: 1000, period: 'DAY' } })).toBe('custom');
    expect(effectiveLimits(undefined)).toEqual(DEFAULT_CLIENT_LIMITS);
    expect(
      sameLimits({ rateLimit: 1, burstLimit: 1, quota: { limit: 5, period: 'DAY' } }, { rateLimit: 1, burstLimit: 1, quota: { limit: 5, period: 'WEEK' } }),
    ).toBe(false);
  });

  it('patches only what changed, adding and removing the quota', () => {
    const base = { rateLimit: 5, burstLimit: 5 };
    expect(limitPatches(base, base)).toEqual([]);
    expect(limitPatches(base, { ...base, quota: { limit: 100, period: 'DAY' } })).toEqual([
      { op: 'replace', path: '/quota/limit', value: '100' },
      { op: 'replace', path: '/quota/period', value: 'DAY' },
    ]);
    expect(limitPatches({ ...base, quota: { limit: 100, period: 'DAY' } }, { ...base, quota: { limit: 100, period: 'MONTH' } })).toEqual([
      { op: 'replace', path: '/quota/period', value: 'MONTH' },
    ]);
    expect(limitPatches({ ...base, quota: { limit: 100, period: 'DAY' } }, { rateLimit: 2.5, burstLimit: 5 })).toEqual([
      { op: 'replace', path: '/throttle/rateLimit', value: '2.5' },
      { op: 'remove', path: '/quota' },
    ]);
  });
});

describe('usage keys', () => {
  it('are 35 letters and digits (API Gateway key values are 20–128 alphanumerics), random, and never an API key', () => {
    const keys = new Set(Array.from({ length: 200 }, () => newUsageKey()));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(USAGE_KEY_PATTERN);
      expect(key).toMatch(/^[A-Za-z0-9]{20,128}$/);
    }
    expect(newUsageKey(() => new Uint8Array(23).fill(255))).toMatch(USAGE_KEY_PATTERN);
    expect(newUsageKey(() => new Uint8Array(23))).toBe(`tgu${'0'.repeat(32)}`);
  });
});
