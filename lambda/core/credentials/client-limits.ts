/**
 * Per-client limits: the admin API's input rules, the defaults a client without limits of
 * its own gets, and which usage plan (the shared default one or a custom one) serves them.
 */
import { z } from 'zod';
import { DEFAULT_CLIENT_LIMITS, Limits } from '../../../common/defaults';
import { QUOTA_PERIODS, type ClientLimits } from '../../../common/credential-items';

/**
 * `PUT /admin/clients/{clientId}/limits`. `quota: null` (or absent) means no quota.
 *
 * `burstLimit` must be at least `ceil(rateLimit)`: API Gateway's token bucket holds
 * `burstLimit` tokens, so with a smaller bucket a client sending one second's worth of its
 * allowed rate at once — what concurrent clients do — is throttled below the rate it was
 * promised, and the configured rate only holds for perfectly spaced requests. Above
 * `Limits.burstLimitMax` that rule yields: the account-level bucket of API Gateway (5,000
 * per Region) caps every burst anyway, so a larger per-key bucket could not be honoured.
 */
export const LimitsBody = z
  .strictObject({
    rateLimit: z.number().positive().max(Limits.rateLimitMax),
    burstLimit: z.number().int().min(1).max(Limits.burstLimitMax),
    quota: z
      .strictObject({
        limit: z.number().int().min(1).max(Limits.quotaLimitMax),
        period: z.enum(QUOTA_PERIODS),
      })
      .nullable()
      .optional(),
  })
  .refine((body) => body.burstLimit >= minimumBurst(body.rateLimit), {
    path: ['burstLimit'],
    message: `must be at least rateLimit rounded up, or ${Limits.burstLimitMax} for higher rates (the bucket must hold one second of the allowed rate)`,
  });
export type LimitsBody = z.infer<typeof LimitsBody>;

export function minimumBurst(rateLimit: number): number {
  return Math.min(Math.ceil(rateLimit), Limits.burstLimitMax);
}

/** The stored form: no `quota` member at all when there is none. */
export function limitsFrom(body: LimitsBody): ClientLimits {
  const { rateLimit, burstLimit, quota } = body;
  return quota ? { rateLimit, burstLimit, quota: { limit: quota.limit, period: quota.period } } : { rateLimit, burstLimit };
}

export function sameLimits(a: ClientLimits, b: ClientLimits): boolean {
  return a.rateLimit === b.rateLimit && a.burstLimit === b.burstLimit && a.quota?.limit === b.quota?.limit && a.quota?.period === b.quota?.period;
}

/** Which plan serves these limits: clients with the defaults share one plan (limits apply per key). */
export type PlanKind = 'default' | 'custom';

export function planKind(limits: ClientLimits): PlanKind {
  return sameLimits(limits, DEFAULT_CLIENT_LIMITS) ? 'default' : 'custom';
}

/** A record's limits: its own, else the defaults. */
export function effectiveLimits(stored: ClientLimits | undefined): ClientLimits {
  return stored ?? DEFAULT_CLIENT_LIMITS;
}
