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
import { SECONDS_PER_DAY } from '../../common/config';
import type { QuotaPeriod } from '../../common/tables';

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

export interface QuotaState {
  readonly quota?: MeteredQuota;
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
  /** Records that `threshold` was reported for the period; true the first time only. */
  noticeOnce(clientId: string, periodStart: number, threshold: number, expiresAt: number): Promise<boolean>;
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
}
