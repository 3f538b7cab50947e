/**
 * Metered quotas (docs/usage.md): per-client request quotas per UTC day, week or month,
 * enforced from the usage table rather than by an API Gateway usage plan, so they work for
 * any number of clients (usage plans stop at 10,000 API Gateway keys).
 *
 * After each metered batch, every client in it that has a quota is checked: its allowed
 * requests since the period began are summed from its day rows; at 80% and 95% of the limit
 * a `UsageLimitApproaching` event goes out once per period and threshold; at the limit the
 * client is suspended until the period ends — one conditional write to its client record,
 * which the revocation fan-out carries to every authorizer as a `suspended` feed entry and
 * follows with an authorizer-cache flush, exactly like a revocation. The suspension ends by
 * itself when the period turns. Pure: the clock and every store are ports.
 */
import { SECONDS_PER_DAY } from '../../../common/config';
import type { QuotaPeriod } from '../../../common/tables';

export interface MeteredQuota {
  readonly limit: number;
  readonly period: QuotaPeriod;
}

/** Fractions of the limit at which a client's owner is told, once per period each. */
export const QUOTA_NOTICE_THRESHOLDS = [0.8, 0.95] as const;

export const UsageEvent = {
  limitApproaching: 'Tollgate Usage Limit Approaching',
  quotaExceeded: 'Tollgate Usage Quota Exceeded',
} as const;

/** The UTC period holding `nowSeconds`: DAY, ISO WEEK (from Monday 00:00) or calendar MONTH. */
export function quotaPeriodBounds(period: QuotaPeriod, nowSeconds: number): { readonly start: number; readonly end: number } {
  const day = Math.floor(nowSeconds / SECONDS_PER_DAY) * SECONDS_PER_DAY;
  if (period === 'DAY') return { start: day, end: day + SECONDS_PER_DAY };
  if (period === 'WEEK') {
    // 1970-01-01 was a Thursday: day index 0 is Thursday, so Monday is (index + 3) % 7 == 0.
    const index = day / SECONDS_PER_DAY;
    const start = day - ((index + 3) % 7) * SECONDS_PER_DAY;
    return { start, end: start + 7 * SECONDS_PER_DAY };
  }
  const date = new Date(nowSeconds * 1000);
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
  return { start, end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000 };
}

/**
 * Unkey-style credits: `remaining` requests when set (at `setAt`, epoch s), plus `refill`
 * more at the start of every `period` after that; they do not reset. Spent by allowed
 * requests, counted exactly once by the metering transactions (`creditsUsed`).
 */
export interface Credits {
  readonly remaining: number;
  readonly refill: number;
  readonly period: QuotaPeriod;
  readonly setAt: number;
}

/** How many period starts fall in (from, to]: the refills since the credits were set. */
export function refillsBetween(period: QuotaPeriod, from: number, to: number): number {
  let count = 0;
  for (let start = quotaPeriodBounds(period, from).end; start <= to; start = quotaPeriodBounds(period, start).end) count += 1;
  return count;
}

/** What the credits grant by `nowSeconds`, what is left, and when the next refill comes. */
export function creditBalance(credits: Credits, used: number, nowSeconds: number): { readonly granted: number; readonly balance: number; readonly nextRefill: number } {
  const granted = credits.remaining + credits.refill * refillsBetween(credits.period, credits.setAt, nowSeconds);
  return { granted, balance: granted - used, nextRefill: quotaPeriodBounds(credits.period, nowSeconds).end };
}

/** Credits without refill that run out suspend the client until an operator adds more; the suspension needs an end all the same. */
export const NO_REFILL_SUSPENSION_SECONDS = 10 * 365 * SECONDS_PER_DAY;

export interface QuotaState {
  readonly quota?: MeteredQuota;
  readonly credits?: Credits;
  /** Allowed requests counted against `credits` since they were set. */
  readonly creditsUsed?: number;
  /** Epoch seconds; absent or past: not suspended. */
  readonly suspendedUntil?: number;
}

export interface QuotaPorts {
  /** The client's quota and suspension, as stored on its record. */
  state(clientId: string): Promise<QuotaState>;
  /** Allowed requests of the client counted in day rows from `periodStart` (epoch s) to now. */
  used(clientId: string, periodStart: number, nowSeconds: number): Promise<number>;
  /** Suspends the client until `untilSeconds` unless it already is as long; true when this call did. */
  suspend(clientId: string, untilSeconds: number, nowMs: number): Promise<boolean>;
  /** Records that `threshold` (a quota fraction, or `credits:<fraction>`) was reported for the period; true the first time only. */
  noticeOnce(clientId: string, periodStart: number, threshold: number | string, expiresAt: number): Promise<boolean>;
  publish(event: { readonly detailType: string; readonly detail: Readonly<Record<string, string | number>>; readonly time: number }): Promise<void>;
}

export type QuotaOutcome =
  | { readonly clientId: string; readonly outcome: 'no_quota' | 'within' | 'already_suspended' }
  | { readonly clientId: string; readonly outcome: 'approaching'; readonly threshold: number; readonly used: number; readonly limit: number }
  | { readonly clientId: string; readonly outcome: 'suspended'; readonly used: number; readonly limit: number; readonly until: number };

export class QuotaEnforcer {
  constructor(
    private readonly ports: QuotaPorts,
    /** Epoch milliseconds. */
    private readonly now: () => number,
  ) {}

  /** The clients of a batch that have credits: the metering transaction counts their allowed requests on their record. */
  async creditClients(clientIds: Iterable<string>): Promise<Set<string>> {
    const withCredits = new Set<string>();
    for (const clientId of new Set(clientIds)) if ((await this.ports.state(clientId)).credits !== undefined) withCredits.add(clientId);
    return withCredits;
  }

  /** Checks each client once; one client's failure does not stop the others (it is reported with the batch). */
  async check(clientIds: Iterable<string>): Promise<QuotaOutcome[]> {
    const outcomes: QuotaOutcome[] = [];
    const failures: unknown[] = [];
    for (const clientId of new Set(clientIds)) {
      try {
        outcomes.push(...(await this.checkOne(clientId)));
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `quota check failed for ${failures.length} client(s)`);
    return outcomes;
  }

  private async checkOne(clientId: string): Promise<QuotaOutcome[]> {
    const state = await this.ports.state(clientId);
    if (state.credits !== undefined) return this.checkCredits(clientId, state, state.credits);
    if (state.quota === undefined) return [{ clientId, outcome: 'no_quota' }];
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const { limit, period } = state.quota;
    const bounds = quotaPeriodBounds(period, nowSeconds);
    if (state.suspendedUntil !== undefined && state.suspendedUntil >= bounds.end) return [{ clientId, outcome: 'already_suspended' }];
    const used = await this.ports.used(clientId, bounds.start, nowSeconds);
    const outcomes: QuotaOutcome[] = [];
    for (const threshold of QUOTA_NOTICE_THRESHOLDS) {
      if (used < threshold * limit || used >= limit) continue;
      if (!(await this.ports.noticeOnce(clientId, bounds.start, threshold, bounds.end + SECONDS_PER_DAY))) continue;
      await this.ports.publish({
        detailType: UsageEvent.limitApproaching,
        detail: { clientId, period, periodStart: bounds.start, periodEnd: bounds.end, limit, used, threshold },
        time: nowSeconds,
      });
      outcomes.push({ clientId, outcome: 'approaching', threshold, used, limit });
    }
    if (used < limit) return outcomes.length ? outcomes : [{ clientId, outcome: 'within' }];
    if (await this.ports.suspend(clientId, bounds.end, nowMs)) {
      await this.ports.publish({
        detailType: UsageEvent.quotaExceeded,
        detail: { clientId, period, periodStart: bounds.start, periodEnd: bounds.end, limit, used },
        time: nowSeconds,
      });
      outcomes.push({ clientId, outcome: 'suspended', used, limit, until: bounds.end });
      return outcomes;
    }
    return [...outcomes, { clientId, outcome: 'already_suspended' }];
  }

  /** Credits: notices at 80% and 95% of what they grant (once per refill period), a suspension until the next refill when spent. */
  private async checkCredits(clientId: string, state: QuotaState, credits: Credits): Promise<QuotaOutcome[]> {
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const used = state.creditsUsed ?? 0;
    const { granted, balance, nextRefill } = creditBalance(credits, used, nowSeconds);
    const until = credits.refill > 0 ? nextRefill : credits.setAt + NO_REFILL_SUSPENSION_SECONDS;
    if (state.suspendedUntil !== undefined && state.suspendedUntil >= until) return [{ clientId, outcome: 'already_suspended' }];
    const periodStart = quotaPeriodBounds(credits.period, nowSeconds).start;
    const outcomes: QuotaOutcome[] = [];
    for (const threshold of QUOTA_NOTICE_THRESHOLDS) {
      if (used < threshold * granted || balance <= 0) continue;
      if (!(await this.ports.noticeOnce(clientId, periodStart, `credits:${threshold}`, nextRefill + SECONDS_PER_DAY))) continue;
      await this.ports.publish({
        detailType: UsageEvent.limitApproaching,
        detail: { clientId, credits: 'true', granted, used, remaining: balance, threshold, nextRefill },
        time: nowSeconds,
      });
      outcomes.push({ clientId, outcome: 'approaching', threshold, used, limit: granted });
    }
    if (balance > 0) return outcomes.length ? outcomes : [{ clientId, outcome: 'within' }];
    if (await this.ports.suspend(clientId, until, nowMs)) {
      await this.ports.publish({ detailType: UsageEvent.quotaExceeded, detail: { clientId, credits: 'true', granted, used, until }, time: nowSeconds });
      return [...outcomes, { clientId, outcome: 'suspended', used, limit: granted, until }];
    }
    return [...outcomes, { clientId, outcome: 'already_suspended' }];
  }
}
