/**
 * The operator side of metered quotas (docs/usage.md): `GET` and `PUT
 * /admin/clients/{clientId}/quota` and `POST /admin/clients/{clientId}/resume`, and per key
 * `GET` and `PUT /admin/keys/{keyId}/quota` and `POST /admin/keys/{keyId}/resume`. Input is
 * checked before any write; a refusal changes nothing.
 */
import { z } from 'zod';
import { Limits } from '../../../common/defaults';
import { QUOTA_PERIODS } from '../../../common/credential-items';
import { clientNotFound, keyNotFound, parseInput, requireClientIdParameter, requireEmptyBody, requireKeyIdParameter } from '../admin/admin-input';
import { AuditAction, type AuditLog } from '../shared/audit';
import { creditBalance, quotaPeriodBounds, quotaWaived, type Credits, type KeyQuotaState, type MeteredQuota, type QuotaState } from './usage-quota';

/** Per-key quotas: the quota and the key's own suspension on its API key record. */
export interface KeyQuotaAdminStore {
  keyState(keyId: string): Promise<KeyQuotaState & { readonly clientId?: string }>;
  keyUsed(clientId: string, keyId: string, periodStart: number, nowSeconds: number): Promise<number>;
  setKeyQuota(keyId: string, quota: MeteredQuota | undefined): Promise<'written' | 'key_not_found'>;
  resumeKey(keyId: string, nowMs: number): Promise<boolean>;
}

export interface QuotaAdminStore extends KeyQuotaAdminStore {
  state(clientId: string): Promise<QuotaState>;
  used(clientId: string, periodStart: number, nowSeconds: number): Promise<number>;
  exists(clientId: string): Promise<boolean>;
  setQuota(clientId: string, quota: MeteredQuota | undefined): Promise<'written' | 'client_not_found'>;
  setCredits(clientId: string, credits: Credits | undefined): Promise<'written' | 'client_not_found'>;
  /** With `waiveQuota`, lifting a metered-quota suspension also waives the quota for the rest of its period. */
  resume(clientId: string, nowMs: number, waiveQuota?: boolean): Promise<boolean>;
  /** Lifts a suspension in force only if it is for a used-up quota or spent credits; an anomaly suspension stays. */
  liftSpent(clientId: string, nowMs: number): Promise<boolean>;
}

export interface QuotaView {
  readonly clientId: string;
  /** Absent: no metered quota. */
  readonly quota?: MeteredQuota;
  /** The current period and what was used in it (allowed requests, as metered). */
  readonly period?: { readonly start: number; readonly end: number; readonly used: number; readonly remaining: number };
  /** The period's end, while an operator's `resume` waives the rest of it (no suspension for the quota until then). */
  readonly quotaWaivedUntil?: number;
  /** Credits: what they granted so far, what was used, what is left, the refill and when it comes. */
  readonly credits?: {
    readonly granted: number;
    readonly used: number;
    readonly remaining: number;
    readonly refill: number;
    readonly period: string;
    readonly nextRefill: number;
  };
  /** Epoch seconds, while a suspension is in force. */
  readonly suspendedUntil?: number;
}

const QuotaBody = z.strictObject({
  quota: z
    .strictObject({
      limit: z.number().int().min(1).max(Limits.quotaLimitMax),
      period: z.enum(QUOTA_PERIODS),
    })
    .nullable(),
});

const CreditsBody = z.strictObject({
  credits: z
    .strictObject({
      remaining: z.number().int().min(0).max(Limits.quotaLimitMax),
      refill: z.number().int().min(0).max(Limits.quotaLimitMax),
      period: z.enum(QUOTA_PERIODS),
    })
    .nullable(),
});

/** `GET`/`PUT /admin/keys/{keyId}/quota` and `POST /admin/keys/{keyId}/resume`. */
export interface KeyQuotaView {
  readonly keyId: string;
  readonly clientId: string;
  readonly quota?: MeteredQuota;
  /** The current period and the key's allowed requests in it, as metered. */
  readonly period?: { readonly start: number; readonly end: number; readonly used: number; readonly remaining: number };
  /** As for clients ({@link QuotaView.quotaWaivedUntil}). */
  readonly quotaWaivedUntil?: number;
  /** Epoch seconds, while the key's own suspension is in force. */
  readonly suspendedUntil?: number;
}

export class QuotaAdmin {
  constructor(
    private readonly store: QuotaAdminStore,
    private readonly audit: AuditLog,
    /** Epoch milliseconds. */
    private readonly now: () => number,
  ) {}

  async show(clientIdParameter: string | undefined): Promise<QuotaView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    if (!(await this.store.exists(clientId))) throw clientNotFound();
    return this.view(clientId);
  }

  async set(clientIdParameter: string | undefined, body: unknown): Promise<QuotaView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const { quota } = parseInput(QuotaBody, body, 'body');
    if ((await this.store.setQuota(clientId, quota ?? undefined)) === 'client_not_found') throw clientNotFound();
    this.audit.record({
      action: AuditAction.clientQuota,
      outcome: 'success',
      clientId,
      limits: quota ? `metered=${quota.limit}/${quota.period}` : 'metered=none',
    });
    return this.view(clientId);
  }

  /**
   * Sets the client's credits (the count of what was used starts again) and lifts a
   * suspension in force for spent credits: the meters suspend it again if the new credits
   * are spent too. A suspension for an anomaly (a stolen key's traffic) is no billing matter
   * and stays until an operator resumes the client or it ends.
   */
  async setCredits(clientIdParameter: string | undefined, body: unknown): Promise<QuotaView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const { credits } = parseInput(CreditsBody, body, 'body');
    const nowMs = this.now();
    const value = credits === null ? undefined : { ...credits, setAt: Math.floor(nowMs / 1000) };
    if ((await this.store.setCredits(clientId, value)) === 'client_not_found') throw clientNotFound();
    await this.store.liftSpent(clientId, nowMs);
    this.audit.record({
      action: AuditAction.clientQuota,
      outcome: 'success',
      clientId,
      limits: credits ? `credits=${credits.remaining}+${credits.refill}/${credits.period}` : 'credits=none',
    });
    return this.view(clientId);
  }

  /** Lifts a suspension in force; a client that is not suspended is left as it is (idempotent). */
  async resume(clientIdParameter: string | undefined, body: unknown): Promise<QuotaView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    requireEmptyBody(body);
    if (!(await this.store.exists(clientId))) throw clientNotFound();
    const lifted = await this.store.resume(clientId, this.now(), true);
    this.audit.record({ action: AuditAction.clientResume, outcome: lifted ? 'success' : 'noop', clientId, ...(lifted ? {} : { reason: 'not_suspended' }) });
    return this.view(clientId);
  }

  async showKey(keyIdParameter: string | undefined): Promise<KeyQuotaView> {
    return this.keyView(requireKeyIdParameter(keyIdParameter));
  }

  /** Sets (or with `null` removes) the key's metered quota; what the key used this period counts at once. */
  async setKey(keyIdParameter: string | undefined, body: unknown): Promise<KeyQuotaView> {
    const keyId = requireKeyIdParameter(keyIdParameter);
    const { quota } = parseInput(QuotaBody, body, 'body');
    if ((await this.store.setKeyQuota(keyId, quota ?? undefined)) === 'key_not_found') throw keyNotFound();
    const view = await this.keyView(keyId);
    this.audit.record({
      action: AuditAction.keyQuota,
      outcome: 'success',
      keyId,
      clientId: view.clientId,
      limits: quota ? `metered=${quota.limit}/${quota.period}` : 'metered=none',
    });
    return view;
  }

  /** Lifts the key's suspension in force; a key that is not suspended is left as it is (idempotent). */
  async resumeKey(keyIdParameter: string | undefined, body: unknown): Promise<KeyQuotaView> {
    const keyId = requireKeyIdParameter(keyIdParameter);
    requireEmptyBody(body);
    if ((await this.store.keyState(keyId)).clientId === undefined) throw keyNotFound();
    const lifted = await this.store.resumeKey(keyId, this.now());
    const view = await this.keyView(keyId);
    this.audit.record({
      action: AuditAction.keyResume,
      outcome: lifted ? 'success' : 'noop',
      keyId,
      clientId: view.clientId,
      ...(lifted ? {} : { reason: 'not_suspended' }),
    });
    return view;
  }

  private async keyView(keyId: string): Promise<KeyQuotaView> {
    const state = await this.store.keyState(keyId);
    if (state.clientId === undefined) throw keyNotFound();
    const { clientId } = state;
    const nowSeconds = Math.floor(this.now() / 1000);
    const suspended = state.suspendedUntil !== undefined && state.suspendedUntil > nowSeconds ? { suspendedUntil: state.suspendedUntil } : {};
    if (state.quota === undefined) return { keyId, clientId, ...suspended };
    const bounds = quotaPeriodBounds(state.quota.period, nowSeconds);
    const used = await this.store.keyUsed(clientId, keyId, bounds.start, nowSeconds);
    return {
      keyId,
      clientId,
      quota: state.quota,
      period: { ...bounds, used, remaining: Math.max(0, state.quota.limit - used) },
      ...(quotaWaived(state, bounds) && { quotaWaivedUntil: bounds.end }),
      ...suspended,
    };
  }

  private async view(clientId: string): Promise<QuotaView> {
    const state = await this.store.state(clientId);
    const nowSeconds = Math.floor(this.now() / 1000);
    const suspended = state.suspendedUntil !== undefined && state.suspendedUntil > nowSeconds ? { suspendedUntil: state.suspendedUntil } : {};
    const credits = state.credits && this.creditsView(state.credits, state.creditsUsed ?? 0, nowSeconds);
    if (state.quota === undefined) return { clientId, ...(credits && { credits }), ...suspended };
    const bounds = quotaPeriodBounds(state.quota.period, nowSeconds);
    const used = await this.store.used(clientId, bounds.start, nowSeconds);
    return {
      clientId,
      quota: state.quota,
      period: { ...bounds, used, remaining: Math.max(0, state.quota.limit - used) },
      ...(quotaWaived(state, bounds) && { quotaWaivedUntil: bounds.end }),
      ...(credits && { credits }),
      ...suspended,
    };
  }

  private creditsView(credits: Credits, used: number, nowSeconds: number): NonNullable<QuotaView['credits']> {
    const { granted, balance, nextRefill } = creditBalance(credits, used, nowSeconds);
    return { granted, used, remaining: Math.max(0, balance), refill: credits.refill, period: credits.period, nextRefill };
  }
}
