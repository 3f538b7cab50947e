/**
 * API Gateway API keys and usage plans through the SDK (REST API `/apikeys`, `/usageplans`).
 * API Gateway's idempotency signals become the port's answers: `ConflictException` on a
 * create means "it exists", `NotFoundException` on a delete means "already gone".
 *
 * Transient failures (429 TooManyRequests, 5xx, lost connections) are retried by the SDK's
 * standard retry strategy: a bounded number of attempts (3 by default) with exponential
 * backoff and jitter, longer for throttling errors. A failure that outlasts them reaches the
 * core, which leaves the client on the default plan and reports it.
 */
import {
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetUsagePlansCommand,
  NotFoundException,
  UpdateUsagePlanCommand,
  type APIGatewayClient,
  type PatchOperation,
  type UsagePlan,
} from '@aws-sdk/client-api-gateway';
import { QUOTA_PERIODS, type ClientLimits, type QuotaPeriod } from '../../common/credential-items';
import type { ApiStageRef, NewApiKey, NewUsagePlan, UsageApiKey, UsagePlanApi, UsagePlanInfo } from '../core/credentials/usage-registration';

/** API Gateway's largest page for GetApiKeys and GetUsagePlans. */
const PAGE_SIZE = 500;
const DESCRIPTION = 'Tollgate per-client throttling (managed by the Tollgate admin function)';

export class ApiGatewayUsagePlans implements UsagePlanApi {
  constructor(private readonly client: APIGatewayClient) {}

  /**
   * Key values are read one key at a time, and only of a key named exactly `name`: never
   * `GetApiKeys` with `includeValues`, which would hand the function the value of every
   * key its name prefix matches (`nameQuery` matches by prefix), other APIs' included.
   */
  async findApiKey(name: string, value: string, knownId?: string): Promise<UsageApiKey | undefined> {
    if (knownId !== undefined) {
      const known = await this.keyNamed(knownId, name, value);
      if (known) return known;
    }
    let position: string | undefined;
    do {
      const page = await this.client.send(new GetApiKeysCommand({ nameQuery: name, includeValues: false, limit: PAGE_SIZE, position }));
      for (const key of page.items ?? []) {
        if (key.name !== name || key.id === undefined || key.id === knownId) continue;
        const match = await this.keyNamed(key.id, name, value);
        if (match) return match;
      }
      position = page.position;
    } while (position);
    return undefined;
  }

  /** The key with this id if it has exactly this name and value; a key gone, or one the role may not read (no client tag: not made by a registration), is not. */
  private async keyNamed(keyId: string, name: string, value: string): Promise<UsageApiKey | undefined> {
    try {
      const key = await this.client.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true }));
      return key.name === name && key.value === value ? { id: keyId, enabled: key.enabled === true } : undefined;
    } catch (error) {
      if (error instanceof NotFoundException || (error as Error).name === 'AccessDeniedException') return undefined;
      throw error;
    }
  }

  async createApiKey(key: NewApiKey): Promise<string | 'exists'> {
    try {
      const created = await this.client.send(
        new CreateApiKeyCommand({ name: key.name, value: key.value, enabled: true, description: DESCRIPTION, tags: { ...key.tags } }),
      );
      return required(created.id, 'CreateApiKey returned no id');
    } catch (error) {
      if (error instanceof ConflictException) return 'exists';
      throw error;
    }
  }

  deleteApiKey(keyId: string): Promise<void> {
    return ignoreNotFound(this.client.send(new DeleteApiKeyCommand({ apiKey: keyId })));
  }

  async findPlans(name: string): Promise<readonly UsagePlanInfo[]> {
    return (await this.allPlans()).filter((plan) => plan.name === name);
  }

  async createPlan(plan: NewUsagePlan): Promise<string> {
    const created = await this.client.send(
      new CreateUsagePlanCommand({
        name: plan.name,
        description: DESCRIPTION,
        apiStages: [{ apiId: plan.stage.restApiId, stage: plan.stage.stageName }],
        throttle: { rateLimit: plan.limits.rateLimit, burstLimit: plan.limits.burstLimit },
        ...(plan.limits.quota ? { quota: { limit: plan.limits.quota.limit, period: plan.limits.quota.period } } : {}),
        tags: { ...plan.tags },
      }),
    );
    return required(created.id, 'CreateUsagePlan returned no id');
  }

  async updatePlanLimits(planId: string, from: ClientLimits, to: ClientLimits): Promise<void> {
    const patchOperations = limitPatches(from, to);
    if (patchOperations.length > 0) await this.client.send(new UpdateUsagePlanCommand({ usagePlanId: planId, patchOperations }));
  }

  /** API Gateway refuses to delete a plan that still has API stages, so they go first. */
  async deletePlan(planId: string, detach: readonly ApiStageRef[]): Promise<void> {
    if (detach.length > 0) {
      const patchOperations = detach.map((stage) => ({ op: 'remove' as const, path: '/apiStages', value: `${stage.restApiId}:${stage.stageName}` }));
      await ignoreNotFound(this.client.send(new UpdateUsagePlanCommand({ usagePlanId: planId, patchOperations })));
    }
    await ignoreNotFound(this.client.send(new DeleteUsagePlanCommand({ usagePlanId: planId })));
  }

  plansOfKey(keyId: string): Promise<readonly UsagePlanInfo[]> {
    return this.allPlans(keyId);
  }

  async bindKey(planId: string, keyId: string): Promise<'bound' | 'exists'> {
    try {
      await this.client.send(new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId, keyType: 'API_KEY' }));
      return 'bound';
    } catch (error) {
      if (error instanceof ConflictException) return 'exists';
      throw error;
    }
  }

  unbindKey(planId: string, keyId: string): Promise<void> {
    return ignoreNotFound(this.client.send(new DeleteUsagePlanKeyCommand({ usagePlanId: planId, keyId })));
  }

  /** Every usage plan (of one API key, when given), all pages. */
  private async allPlans(keyId?: string): Promise<UsagePlanInfo[]> {
    const plans: UsagePlanInfo[] = [];
    let position: string | undefined;
    do {
      const page = await this.client.send(new GetUsagePlansCommand({ keyId, limit: PAGE_SIZE, position }));
      for (const plan of page.items ?? []) if (plan.id !== undefined) plans.push(planInfo(plan));
      position = page.position;
    } while (position);
    return plans;
  }
}

function planInfo(plan: UsagePlan): UsagePlanInfo {
  const quota = plan.quota;
  const period = QUOTA_PERIODS.find((p) => p === quota?.period);
  return {
    id: plan.id!,
    name: plan.name ?? '',
    stages: (plan.apiStages ?? []).map((stage) => ({ restApiId: stage.apiId ?? '', stageName: stage.stage ?? '' })),
    limits: {
      rateLimit: plan.throttle?.rateLimit ?? 0,
      burstLimit: plan.throttle?.burstLimit ?? 0,
      ...(quota?.limit !== undefined && period !== undefined ? { quota: { limit: quota.limit, period } } : {}),
    },
  };
}

/** JSON-Patch style operations (API Gateway's `patchOperations`) turning `from` into `to`. */
export function limitPatches(from: ClientLimits, to: ClientLimits): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const replace = (path: string, value: number | QuotaPeriod) => ops.push({ op: 'replace', path, value: String(value) });
  if (from.rateLimit !== to.rateLimit) replace('/throttle/rateLimit', to.rateLimit);
  if (from.burstLimit !== to.burstLimit) replace('/throttle/burstLimit', to.burstLimit);
  if (to.quota === undefined) {
    if (from.quota !== undefined) ops.push({ op: 'remove', path: '/quota' });
  } else {
    if (from.quota?.limit !== to.quota.limit) replace('/quota/limit', to.quota.limit);
    if (from.quota?.period !== to.quota.period) replace('/quota/period', to.quota.period);
  }
  return ops;
}

function required(value: string | undefined, message: string): string {
  if (value === undefined) throw new Error(message);
  return value;
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof NotFoundException)) throw error;
  }
}
