/**
 * What API Gateway does with an allowed request's `usageIdentifierKey` on a method with
 * `apiKeyRequired`, for the local gateway: find the usage plan of the stage holding that
 * key (none: 403), then apply the plan's limits to that key alone —
 * - throttle: a token bucket of `burstLimit` tokens refilled at `rateLimit` per second,
 *   full at first use; a request without a token is THROTTLED (429);
 * - quota: at most `limit` requests per UTC day, week (ISO weeks, from Monday) or month;
 *   beyond it QUOTA_EXCEEDED (429) until the period ends. Refused requests count for neither.
 * Pure apart from the clock it is given; state lives in memory (a restart refills). The
 * stage's per-method throttles of the public routes use the same buckets (`TokenBuckets`).
 */
import type { RouteThrottle } from '../common/api-routes';
import type { QuotaPeriod } from '../common/credential-items';
import { Defaults } from '../common/defaults';
import * as Setting from '../common/settings';
import type { KeySpec } from '../common/tokens';
import type { KeyLimits } from './usage-plans';

export interface UsageLimitSource {
  limitsFor(usageKey: string): KeyLimits | undefined;
}

export type UsageVerdict =
  | { readonly outcome: 'allow' }
  | { readonly outcome: 'throttled' | 'quota_exceeded'; readonly retryAfterSeconds: number }
  | { readonly outcome: 'invalid_key' };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

interface QuotaCount {
  periodStartMs: number;
  used: number;
}

const ALLOW: UsageVerdict = { outcome: 'allow' };
const INVALID_KEY: UsageVerdict = { outcome: 'invalid_key' };
const DAY_MS = 86_400_000;

/**
 * API Gateway's throttle: per id, a token bucket of `burstLimit` tokens refilled at
 * `rateLimit` per second, full at first use. The usage plans' per-key throttles and the
 * stage's per-method ones alike.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /** Takes one token from `id`'s bucket, or says how many whole seconds until one is there. */
  take(id: string, throttle: { readonly rateLimit: number; readonly burstLimit: number }, nowMs: number): number | undefined {
    const bucket = this.buckets.get(id) ?? { tokens: throttle.burstLimit, updatedMs: nowMs };
    this.buckets.set(id, bucket);
    const refilled = bucket.tokens + (Math.max(0, nowMs - bucket.updatedMs) / 1000) * throttle.rateLimit;
    bucket.tokens = Math.min(throttle.burstLimit, refilled);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return throttle.rateLimit > 0 ? Math.max(1, Math.ceil((1 - bucket.tokens) / throttle.rateLimit)) : 1;
  }
}

export class UsageLimiter {
  private readonly buckets = new TokenBuckets();
  private readonly quotas = new Map<string, QuotaCount>();

  constructor(
    private readonly source: UsageLimitSource,
    /** Epoch milliseconds. */
    private readonly now: () => number,
  ) {}

  admit(usageKey: string | null | undefined): UsageVerdict {
    if (!usageKey) return INVALID_KEY;
    const limits = this.source.limitsFor(usageKey);
    if (!limits) return INVALID_KEY;
    const nowMs = this.now();
    // Counters belong to the key within its plan: a client moved to another plan starts afresh there.
    const id = `${limits.planId}/${limits.keyId}`;
    const quota = limits.quota && this.quotaCount(id, limits.quota.period, nowMs);
    if (limits.quota && quota && quota.used >= limits.quota.limit) {
      return { outcome: 'quota_exceeded', retryAfterSeconds: secondsUntil(periodBounds(nowMs, limits.quota.period).endMs, nowMs) };
    }
    if (limits.throttle) {
      const wait = this.buckets.take(id, limits.throttle, nowMs);
      if (wait !== undefined) return { outcome: 'throttled', retryAfterSeconds: wait };
    }
    if (quota) quota.used += 1;
    return ALLOW;
  }

  private quotaCount(id: string, period: QuotaPeriod, nowMs: number): QuotaCount {
    const { startMs } = periodBounds(nowMs, period);
    const count = this.quotas.get(id);
    if (count && count.periodStartMs === startMs) return count;
    const fresh = { periodStartMs: startMs, used: 0 };
    this.quotas.set(id, fresh);
    return fresh;
  }
}

/** The UTC period holding `nowMs`: [start, end). */
export function periodBounds(nowMs: number, period: QuotaPeriod): { readonly startMs: number; readonly endMs: number } {
  const now = new Date(nowMs);
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (period === 'DAY') return { startMs: midnight, endMs: midnight + DAY_MS };
  if (period === 'WEEK') {
    const sinceMonday = (now.getUTCDay() + 6) % 7;
    const startMs = midnight - sinceMonday * DAY_MS;
    return { startMs, endMs: startMs + 7 * DAY_MS };
  }
  return { startMs: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), endMs: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) };
}

function secondsUntil(endMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((endMs - nowMs) / 1000));
}

/**
 * The deployed stage's per-method throttles of the public routes (`publicRouteThrottle`), for
 * these settings: the token route's is the stack's default for the key spec.
 */
export function stageThrottlesFor(settings: Readonly<Record<string, unknown>> = {}): { readonly tokenRoute: RouteThrottle } {
  const keySpec = (settings[Setting.keySpec.name] as KeySpec | undefined) ?? Setting.keySpec.default;
  return { tokenRoute: Defaults.tokenRouteThrottle[keySpec] };
}
