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
 * itself when the period turns. Per-key quotas work the same way over the key's own meters
 * (its `d|k|…` rows) and suspend that key alone, through its API key record. Pure: the
 * clock and every store are ports.
 */
import { SECONDS_PER_DAY } from '../../../common/defaults';
import type { QuotaPeriod } from '../../../common/credential-items';
import { KEY_ID_PATTERN } from '../../../common/tokens';
import { bucketStart } from '../../../common/usage';

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
  const day = bucketStart(nowSeconds, 'day');
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
export function creditBalance(
  credits: Credits,
  used: number,
  nowSeconds: number,
): { readonly granted: number; readonly balance: number; readonly nextRefill: number } {
  const granted = credits.remaining + credits.refill * refillsBetween(credits.period, credits.setAt, nowSeconds);
  return { granted, balance: granted - used, nextRefill: quotaPeriodBounds(credits.period, nowSeconds).end };
}

/** Credits without refill that run out suspend the client until an operator adds more; the suspension needs an end all the same. */
export const NO_REFILL_SUSPENSION_SECONDS = 10 * 365 * SECONDS_PER_DAY;

/** Whether an operator's resume waived the period `bounds` (the waiver names the period's end, so no clock is compared). */
export function quotaWaived(state: { readonly quotaWaivedUntil?: number }, bounds: { readonly end: number }): boolean {
  return state.quotaWaivedUntil === bounds.end;
}

export interface QuotaState {
  readonly quota?: MeteredQuota;
  readonly credits?: Credits;
  /** Allowed requests counted against `credits` since they were set. */
  readonly creditsUsed?: number;
  /** Epoch seconds; absent or past: not suspended. */
  readonly suspendedUntil?: number;
  /** The end of a metered-quota period an operator waived by resuming its suspension (epoch seconds). */
  readonly quotaWaivedUntil?: number;
}

/** A per-key quota and the key's own suspension, as stored on the API key record. */
export interface KeyQuotaState {
  readonly quota?: MeteredQuota;
  /** Epoch seconds; absent or past: the key is not suspended. */
  readonly suspendedUntil?: number;
  /** As for clients ({@link QuotaState.quotaWaivedUntil}). */
  readonly quotaWaivedUntil?: number;
}

/** An API key seen in a batch, with the client the meters counted it under. */
export interface MeteredKey {
  readonly clientId: string;
  readonly keyId: string;
}

export interface QuotaPorts {
  /** The client's quota and suspension, as stored on its record. */
  state(clientId: string): Promise<QuotaState>;
  /** The key's quota and suspension, as stored on its record (empty for an unknown key). */
  keyState(keyId: string): Promise<KeyQuotaState>;
  /** Allowed requests made with the key, counted in its day rows from `periodStart` (epoch s) to now. */
  keyUsed(clientId: string, keyId: string, periodStart: number, nowSeconds: number): Promise<number>;
  /** Suspends only the key until `untilSeconds` unless it already is as long; true when this call did. */
  suspendKey(keyId: string, untilSeconds: number, nowMs: number): Promise<boolean>;
  /** Allowed requests of the client counted in day rows from `periodStart` (epoch s) to now. */
  used(clientId: string, periodStart: number, nowSeconds: number): Promise<number>;
  /** Suspends the client until `untilSeconds` unless it already is as long; true when this call did. */
  suspend(clientId: string, untilSeconds: number, nowMs: number): Promise<boolean>;
  /** Records that `threshold` (a quota fraction, or `credits:<fraction>`) was reported for the period; true the first time only. */
  noticeOnce(clientId: string, periodStart: number, threshold: number | string, expiresAt: number): Promise<boolean>;
  publish(event: { readonly detailType: string; readonly detail: Readonly<Record<string, string | number>>; readonly time: number }): Promise<void>;
}

/** The ports from a store that holds quotas, meters and suspensions, and an event publisher: shared by the metering function and local mode. */
export function quotaPorts(store: Omit<QuotaPorts, 'publish'>, publish: QuotaPorts['publish']): QuotaPorts {
  return {
    state: (clientId) => store.state(clientId),
    used: (clientId, start, now) => store.used(clientId, start, now),
    suspend: (clientId, until, nowMs) => store.suspend(clientId, until, nowMs),
    keyState: (keyId) => store.keyState(keyId),
    keyUsed: (clientId, keyId, start, now) => store.keyUsed(clientId, keyId, start, now),
    suspendKey: (keyId, until, nowMs) => store.suspendKey(keyId, until, nowMs),
    noticeOnce: (clientId, start, threshold, expiresAt) => store.noticeOnce(clientId, start, threshold, expiresAt),
    publish,
  };
}

/**
 * The API keys a batch metered allowed requests for, each with its client: the subjects of
 * per-key quotas. A key with no allowed request in the batch used nothing more (and a
 * suspended key's refusals are not allowed requests), so it costs no read; only well-formed
 * key ids are looked up.
 */
export function meteredKeys(minutes: Iterable<{ readonly clientId: string; readonly keys: ReadonlyMap<string, { readonly allowed: number }> }>): MeteredKey[] {
  const keys = new Map<string, MeteredKey>();
  for (const minute of minutes) {
    for (const [keyId, counts] of minute.keys)
      if (counts.allowed > 0 && KEY_ID_PATTERN.test(keyId) && !keys.has(keyId)) keys.set(keyId, { clientId: minute.clientId, keyId });
  }
  return [...keys.values()];
}

/** One decision of the check; `keyId` is present when it is about a per-key quota. */
export type QuotaOutcome = { readonly clientId: string; readonly keyId?: string } & (
  | { readonly outcome: 'no_quota' | 'within' | 'already_suspended' | 'waived' }
  | { readonly outcome: 'approaching'; readonly threshold: number; readonly used: number; readonly limit: number }
  | { readonly outcome: 'suspended'; readonly used: number; readonly limit: number; readonly until: number }
);

/** Whose quota a period check is about: what it reads, what it suspends, how its notices and events are named. */
interface QuotaSubject {
  /** Fields every outcome and event of the subject carries. */
  readonly ids: { readonly clientId: string; readonly keyId?: string };
  /** The notice marker of a threshold, unique among the client's notices of a period. */
  readonly marker: (threshold: number) => number | string;
  used(periodStart: number, nowSeconds: number): Promise<number>;
  suspend(untilSeconds: number, nowMs: number): Promise<boolean>;
}

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

  /**
   * Checks each client once, then each API key of the batch once (per-key quotas, from the
   * key's own meters; crossing one suspends that key only). One subject's failure does not
   * stop the others (it is reported with the batch).
   */
  async check(clientIds: Iterable<string>, keys: Iterable<MeteredKey> = []): Promise<QuotaOutcome[]> {
    const outcomes: QuotaOutcome[] = [];
    const failures: unknown[] = [];
    const run = async (work: () => Promise<QuotaOutcome[]>) => {
      try {
        outcomes.push(...(await work()));
      } catch (error) {
        failures.push(error);
      }
    };
    for (const clientId of new Set(clientIds)) await run(() => this.checkOne(clientId));
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key.keyId)) continue;
      seen.add(key.keyId);
      await run(() => this.checkKey(key));
    }
    if (failures.length > 0) throw new AggregateError(failures, `quota check failed for ${failures.length} client(s) or key(s)`);
    return outcomes;
  }

  private async checkOne(clientId: string): Promise<QuotaOutcome[]> {
    const state = await this.ports.state(clientId);
    if (state.credits !== undefined) return this.checkCredits(clientId, state, state.credits);
    if (state.quota === undefined) return [{ clientId, outcome: 'no_quota' }];
    return this.checkPeriod(
      {
        ids: { clientId },
        marker: (threshold) => threshold,
        used: (start, now) => this.ports.used(clientId, start, now),
        suspend: (until, nowMs) => this.ports.suspend(clientId, until, nowMs),
      },
      state.quota,
      state,
    );
  }

  /** A per-key quota: the same check over the key's meters; its notices share the client's, marked with the key. */
  private async checkKey({ clientId, keyId }: MeteredKey): Promise<QuotaOutcome[]> {
    const state = await this.ports.keyState(keyId);
    if (state.quota === undefined) return [{ clientId, keyId, outcome: 'no_quota' }];
    return this.checkPeriod(
      {
        ids: { clientId, keyId },
        marker: (threshold) => `key:${keyId}:${threshold}`,
        used: (start, now) => this.ports.keyUsed(clientId, keyId, start, now),
        suspend: (until, nowMs) => this.ports.suspendKey(keyId, until, nowMs),
      },
      state.quota,
      state,
    );
  }

  /**
   * A period's check. An operator who resumed the period's quota suspension waived the quota
   * for the rest of it (`quotaWaivedUntil` is the period's end): its use stays over the limit,
   * and suspending again at the next batch would undo the resume within a second. Compared
   * with the period's end, not a time, so the next period is enforced whatever the clocks say.
   */
  private async checkPeriod(
    subject: QuotaSubject,
    quota: MeteredQuota,
    state: Pick<KeyQuotaState, 'suspendedUntil' | 'quotaWaivedUntil'>,
  ): Promise<QuotaOutcome[]> {
    const { suspendedUntil } = state;
    const { ids } = subject;
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const { limit, period } = quota;
    const bounds = quotaPeriodBounds(period, nowSeconds);
    if (suspendedUntil !== undefined && suspendedUntil >= bounds.end) return [{ ...ids, outcome: 'already_suspended' }];
    const used = await subject.used(bounds.start, nowSeconds);
    const outcomes: QuotaOutcome[] = [];
    for (const threshold of QUOTA_NOTICE_THRESHOLDS) {
      if (used < threshold * limit || used >= limit) continue;
      if (!(await this.ports.noticeOnce(ids.clientId, bounds.start, subject.marker(threshold), bounds.end + SECONDS_PER_DAY))) continue;
      await this.ports.publish({
        detailType: UsageEvent.limitApproaching,
        detail: { ...ids, period, periodStart: bounds.start, periodEnd: bounds.end, limit, used, threshold },
        time: nowSeconds,
      });
      outcomes.push({ ...ids, outcome: 'approaching', threshold, used, limit });
    }
    if (used < limit) return outcomes.length ? outcomes : [{ ...ids, outcome: 'within' }];
    if (quotaWaived(state, bounds)) return [...outcomes, { ...ids, outcome: 'waived' }];
    if (await subject.suspend(bounds.end, nowMs)) {
      await this.ports.publish({
        detailType: UsageEvent.quotaExceeded,
        detail: { ...ids, period, periodStart: bounds.start, periodEnd: bounds.end, limit, used },
        time: nowSeconds,
      });
      outcomes.push({ ...ids, outcome: 'suspended', used, limit, until: bounds.end });
      return outcomes;
    }
    return [...outcomes, { ...ids, outcome: 'already_suspended' }];
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
