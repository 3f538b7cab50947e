/**
 * Per-client throttling as the operator API sees it: a client's limits on its record, and
 * the registration of its usage key with the usage plan those limits call for (see
 * `core/credentials/usage-registration.ts`). The record says how far API Gateway has caught up:
 * `usageVersion === limitsVersion` and a `usagePlanId` mean "registered"; the issuer names
 * the usage key in tokens only while the key is bound to some plan (`usagePlanId`), so a
 * client whose registration failed gets the deployment's fallback key, i.e. the default
 * plan, instead of API Gateway's 403.
 *
 * Registration never fails the operation it follows: a key is created (201) even when API
 * Gateway is unreachable; the response and an audit line say so, and the next limits call
 * or key creation for that client retries.
 */
import { randomBytes } from 'node:crypto';
import { CredentialStatus, type ClientLimits } from '../../../common/credential-items';
import { USAGE_KEY_PREFIX, USAGE_KEY_RANDOM_CHARS } from '../../../common/tokens';
import { clientNotFound, parseInput, requireClientIdParameter } from './admin-input';
import type { RandomBytes } from '../credentials/api-keys';
import { AuditAction, type AuditLog } from '../shared/audit';
import { bytesToBigInt, encodeBase62 } from '../credentials/base62';
import { effectiveLimits, LimitsBody, limitsFrom, planKind, type PlanKind } from '../credentials/client-limits';
import type { StoredClient } from '../credentials/credentials';
import { Conflict, ErrorCode } from '../shared/issuance-errors';
import type { RegistrationResult, UsageRegistrar } from '../credentials/usage-registration';

/** Random bytes behind a usage key: 23 bytes (184 bits) always fit 32 base62 digits (62^32 ≈ 2^190). */
const USAGE_KEY_RANDOM_BYTES = 23;

export function newUsageKey(random: RandomBytes = randomBytes): string {
  return USAGE_KEY_PREFIX + encodeBase62(bytesToBigInt(random(USAGE_KEY_RANDOM_BYTES)), USAGE_KEY_RANDOM_CHARS);
}

export type ClientWriteOutcome = StoredClient | 'not_found' | 'client_revoked';

/** What a registration run leaves on the record (see {@link RegistrationResult}). */
export interface UsageRecord {
  readonly usageKeyId?: string;
  /** `null`: remove (bound to no plan). */
  readonly usagePlanId?: string | null;
  /** Set on success only: the `limitsVersion` now applied. */
  readonly usageVersion?: number;
}

export interface ClientUsageStore {
  get(clientId: string): Promise<StoredClient | undefined>;
  /** Active clients only: sets `usageKey` unless it has one; the record after the write. */
  ensureUsageKey(clientId: string, candidate: string): Promise<ClientWriteOutcome>;
  /** Active clients only: `limits` set (`undefined` removes them: the defaults), `limitsVersion` + 1, usage key ensured. */
  setLimits(clientId: string, limits: ClientLimits | undefined, usageKeyCandidate: string): Promise<ClientWriteOutcome>;
  /** Unless `limitsVersion` moved on since `limitsVersion` (a newer call then owns the state). */
  recordUsage(clientId: string, limitsVersion: number, usage: UsageRecord): Promise<'recorded' | 'superseded'>;
  /** After a deregistration: the record no longer names an API key or plan. */
  clearUsage(clientId: string): Promise<void>;
}

/** A client's throttling state, as in every response that touches it. */
export interface UsageView {
  readonly plan: PlanKind;
  /** API Gateway applies exactly the client's current limits to its own usage key. */
  readonly usageKeyRegistered: boolean;
  /** Why the registration this call attempted did not complete. */
  readonly usageError?: string;
}

export interface LimitsView extends UsageView {
  readonly clientId: string;
  readonly limits: ClientLimits;
}

export const USAGE_NOT_CONFIGURED = 'usage plans are not configured for this deployment';

export interface ClientUsagePorts {
  readonly store: ClientUsageStore;
  /** Absent: this deployment registers nothing (no usage-plan configuration). */
  readonly registrar?: UsageRegistrar;
  readonly audit: AuditLog;
  readonly newUsageKey?: () => string;
}

export function isRegistered(client: StoredClient): boolean {
  return client.usageKeyId !== undefined && client.usagePlanId !== undefined && client.usageVersion === (client.limitsVersion ?? 0);
}

export class ClientUsage {
  private readonly newUsageKey: () => string;

  constructor(private readonly ports: ClientUsagePorts) {
    this.newUsageKey = ports.newUsageKey ?? (() => newUsageKey());
  }

  /** `GET /admin/clients/{clientId}/limits`. */
  async limits(clientIdParameter: string | undefined): Promise<LimitsView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const client = await this.ports.store.get(clientId);
    if (!client) throw clientNotFound();
    if (client.status !== CredentialStatus.Active) throw clientRevoked();
    return limitsView(client, this.ports.registrar ? {} : { usageError: USAGE_NOT_CONFIGURED });
  }

  /** `PUT /admin/clients/{clientId}/limits`: the defaults move the client back to the shared plan. */
  async setLimits(clientIdParameter: string | undefined, body: unknown): Promise<LimitsView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const limits = limitsFrom(parseInput(LimitsBody, body, 'body'));
    const stored = planKind(limits) === 'default' ? undefined : limits;
    const outcome = await this.ports.store.setLimits(clientId, stored, this.newUsageKey());
    if (typeof outcome === 'string') {
      this.ports.audit.record({ action: AuditAction.clientLimits, outcome: 'failure', reason: outcome, clientId });
      throw outcome === 'not_found' ? clientNotFound() : clientRevoked();
    }
    this.ports.audit.record({ action: AuditAction.clientLimits, outcome: 'success', clientId, limits: describeLimits(limits) });
    const attempt = await this.register(outcome);
    return limitsView(attempt.client, attempt.error === undefined ? {} : { usageError: attempt.error });
  }

  /**
   * After a key was created for the client: registers its usage key unless already done.
   * Never throws: the key exists either way, and the view says what happened.
   */
  async afterKeyCreated(clientId: string): Promise<UsageView> {
    try {
      if (!this.ports.registrar) return usageView(await this.requireRecord(clientId), USAGE_NOT_CONFIGURED);
      const ensured = await this.ports.store.ensureUsageKey(clientId, this.newUsageKey());
      if (typeof ensured === 'string') return { plan: 'default', usageKeyRegistered: false, usageError: `client record: ${ensured}` };
      if (isRegistered(ensured)) return usageView(ensured);
      const attempt = await this.register(ensured);
      return usageView(attempt.client, attempt.error);
    } catch (error) {
      const usageError = `unexpected: ${(error as Error).name}`;
      this.ports.audit.warn('usage registration after key creation failed', { clientId, error: (error as Error).name });
      return { plan: 'default', usageKeyRegistered: false, usageError };
    }
  }

  /** After a client was revoked: its usage key leaves every plan and API Gateway (best effort; repeating the revoke retries). */
  async afterClientRevoked(clientId: string): Promise<void> {
    const { registrar, store, audit } = this.ports;
    try {
      const client = await store.get(clientId);
      if (!registrar || client?.usageKey === undefined) return;
      const result = await registrar.deregister(clientId, client.usageKey, client.usageKeyId);
      if (result.removed) await store.clearUsage(clientId);
      audit.record({
        action: AuditAction.usageDeregister,
        outcome: result.removed ? 'success' : 'failure',
        clientId,
        ...(result.removed ? {} : { reason: result.error }),
      });
    } catch (error) {
      audit.warn('usage deregistration of a revoked client failed', { clientId, error: (error as Error).name });
    }
  }

  private async requireRecord(clientId: string): Promise<StoredClient> {
    const client = await this.ports.store.get(clientId);
    if (!client) throw clientNotFound();
    return client;
  }

  /** One registration run and its record write; the record as it now stands. */
  private async register(client: StoredClient): Promise<{ client: StoredClient; error?: string }> {
    const { registrar, store, audit } = this.ports;
    if (!registrar) return { client, error: USAGE_NOT_CONFIGURED };
    const usageKey = client.usageKey;
    if (usageKey === undefined) return { client, error: 'client record has no usage key' };
    const version = client.limitsVersion ?? 0;
    const result = await registrar.register({
      clientId: client.clientId,
      usageKey,
      limits: effectiveLimits(client.limits),
      ...(client.usageKeyId === undefined ? {} : { usageKeyId: client.usageKeyId }),
    });
    audit.record({
      action: AuditAction.usageRegister,
      outcome: result.registered ? 'success' : 'failure',
      clientId: client.clientId,
      ...(result.registered ? {} : { reason: result.error }),
    });
    const usage = usageRecordOf(result, version);
    let recorded: 'recorded' | 'superseded';
    try {
      recorded = await store.recordUsage(client.clientId, version, usage);
    } catch (error) {
      audit.warn('recording the usage registration failed', { clientId: client.clientId, error: (error as Error).name });
      return { client, error: `recording the registration failed: ${(error as Error).name}` };
    }
    const after = recorded === 'recorded' ? withUsage(client, usage) : client;
    const error = result.registered ? (recorded === 'superseded' ? 'limits changed during registration; the newer change applies' : undefined) : result.error;
    return error === undefined ? { client: after } : { client: after, error };
  }
}

function usageRecordOf(result: RegistrationResult, version: number): UsageRecord {
  if (result.registered) return { usageKeyId: result.usageKeyId, usagePlanId: result.usagePlanId, usageVersion: version };
  return {
    ...(result.usageKeyId === undefined ? {} : { usageKeyId: result.usageKeyId }),
    ...(result.usagePlanId === undefined ? {} : { usagePlanId: result.usagePlanId }),
  };
}

/** The record as `recordUsage` left it. */
function withUsage(client: StoredClient, usage: UsageRecord): StoredClient {
  const { usagePlanId: _dropped, ...rest } = client;
  const planId = usage.usagePlanId === undefined ? client.usagePlanId : (usage.usagePlanId ?? undefined);
  return {
    ...rest,
    ...(planId === undefined ? {} : { usagePlanId: planId }),
    ...(usage.usageKeyId === undefined ? {} : { usageKeyId: usage.usageKeyId }),
    ...(usage.usageVersion === undefined ? {} : { usageVersion: usage.usageVersion }),
  };
}

function usageView(client: StoredClient, usageError?: string): UsageView {
  const plan = planKind(effectiveLimits(client.limits));
  return usageError === undefined ? { plan, usageKeyRegistered: isRegistered(client) } : { plan, usageKeyRegistered: isRegistered(client), usageError };
}

function limitsView(client: StoredClient, extra: { usageError?: string }): LimitsView {
  return { clientId: client.clientId, limits: effectiveLimits(client.limits), ...usageView(client, extra.usageError) };
}

function describeLimits(limits: ClientLimits): string {
  const quota = limits.quota ? ` quota=${limits.quota.limit}/${limits.quota.period}` : '';
  return `rate=${limits.rateLimit} burst=${limits.burstLimit}${quota}`;
}

const clientRevoked = () => new Conflict(ErrorCode.clientRevoked, 'This client is revoked; it has no limits.');
