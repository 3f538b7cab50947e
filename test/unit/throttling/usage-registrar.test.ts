/**
 * The registration algorithm's failure paths, against an in-memory fake of its own port
 * (`UsagePlanApi`) whose operations can be told to fail.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_LIMITS } from '../../../common/defaults';
import { UsageNaming } from '../../../common/names';
import { KMS_TAG_APPLICATION_VALUE } from '../../../common/tokens';
import type { ClientLimits } from '../../../common/credential-items';
import {
  UsageRegistrar,
  usageRegistrationConfigFrom,
  type ApiStageRef,
  type NewApiKey,
  type NewUsagePlan,
  type UsageApiKey,
  type UsagePlanApi,
  type UsagePlanInfo,
} from '../../../lambda/core/credentials/usage-registration';

const STAGE: ApiStageRef = { restApiId: 'api', stageName: 'v1' };
const CUSTOM: ClientLimits = { rateLimit: 5, burstLimit: 5 };

class FakePlans implements UsagePlanApi {
  keys = new Map<string, { name: string; value: string; enabled: boolean }>();
  /** The tags each create was sent, in order. */
  createdTags: Readonly<Record<string, string>>[] = [];
  plans = new Map<string, UsagePlanInfo & { keys: Set<string> }>();
  failing = new Set<keyof UsagePlanApi>();
  private next = 0;

  constructor() {
    this.plans.set('default', { id: 'default', name: 'stack', stages: [STAGE], limits: DEFAULT_CLIENT_LIMITS, keys: new Set() });
  }
  private check(op: keyof UsagePlanApi) {
    if (this.failing.has(op)) throw Object.assign(new Error(`${op} refused`), { name: 'ServiceUnavailableException' });
  }
  async findApiKey(name: string, value: string): Promise<UsageApiKey | undefined> {
    this.check('findApiKey');
    const found = [...this.keys].find(([, key]) => key.name === name && key.value === value);
    return found && { id: found[0], enabled: found[1].enabled };
  }
  async createApiKey(key: NewApiKey) {
    this.check('createApiKey');
    this.createdTags.push(key.tags);
    if ([...this.keys.values()].some((k) => k.value === key.value)) return 'exists' as const;
    const id = `k${(this.next += 1)}`;
    this.keys.set(id, { name: key.name, value: key.value, enabled: true });
    return id;
  }
  async deleteApiKey(keyId: string) {
    this.check('deleteApiKey');
    this.keys.delete(keyId);
  }
  async findPlans(name: string) {
    this.check('findPlans');
    return [...this.plans.values()].filter((plan) => plan.name === name);
  }
  async createPlan(plan: NewUsagePlan) {
    this.check('createPlan');
    this.createdTags.push(plan.tags);
    const id = `p${(this.next += 1)}`;
    this.plans.set(id, { id, name: plan.name, stages: [plan.stage], limits: plan.limits, keys: new Set() });
    return id;
  }
  async updatePlanLimits(planId: string, _from: ClientLimits, to: ClientLimits) {
    this.check('updatePlanLimits');
    this.plans.set(planId, { ...this.plans.get(planId)!, limits: to });
  }
  async deletePlan(planId: string) {
    this.check('deletePlan');
    this.plans.delete(planId);
  }
  async plansOfKey(keyId: string) {
    this.check('plansOfKey');
    return [...this.plans.values()].filter((plan) => plan.keys.has(keyId));
  }
  async bindKey(planId: string, keyId: string) {
    this.check('bindKey');
    this.plans.get(planId)!.keys.add(keyId);
    return 'bound' as const;
  }
  async unbindKey(planId: string, keyId: string) {
    this.check('unbindKey');
    this.plans.get(planId)?.keys.delete(keyId);
  }
  holding(keyId: string) {
    return [...this.plans.values()].filter((plan) => plan.keys.has(keyId)).map((plan) => plan.id);
  }
}

const client = (limits: ClientLimits = DEFAULT_CLIENT_LIMITS) => ({ clientId: 'acme', usageKey: 'tgu00000000000000000000000000000001', limits });

describe('usage registration tags', () => {
  it("tags the key and the custom plan it creates with the application, this deployment (the default plan's name) and the client", async () => {
    const api = new FakePlans();
    await new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE }).register(client(CUSTOM));
    const expected = { [UsageNaming.applicationTag]: KMS_TAG_APPLICATION_VALUE, [UsageNaming.deploymentTag]: 'stack', [UsageNaming.clientTag]: 'acme' };
    expect(api.createdTags).toEqual([expected, expected]);
  });
});

describe('usage registration failure paths', () => {
  it('moving back to the default plan and failing to bind it re-binds the custom plan: the client stays served', async () => {
    const api = new FakePlans();
    const registrar = new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE });
    const custom = await registrar.register(client(CUSTOM));
    expect(custom.registered).toBe(true);
    const customPlan = (custom as { usagePlanId: string }).usagePlanId;

    const bind = api.bindKey.bind(api);
    api.bindKey = async (planId, keyId) => {
      if (planId === 'default') throw new Error('bind refused');
      return bind(planId, keyId);
    };
    const result = await registrar.register(client());
    expect(result).toEqual({ registered: false, error: 'bind key to plan: Error: bind refused', usageKeyId: 'k1', usagePlanId: customPlan });
    expect(api.holding('k1')).toEqual([customPlan]);
    expect(api.plans.has(customPlan)).toBe(true);
  });

  it('when neither the new plan nor the way back can be bound, the result says the key is in no plan (null)', async () => {
    const api = new FakePlans();
    const registrar = new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE });
    await registrar.register(client());
    api.failing.add('bindKey');
    expect(await registrar.register(client(CUSTOM))).toEqual({
      registered: false,
      error: expect.stringMatching(/^bind key to plan/),
      usageKeyId: 'k1',
      usagePlanId: null,
    });
    expect(api.holding('k1')).toEqual([]);
    api.failing.clear();
    expect((await registrar.register(client(CUSTOM))).registered).toBe(true);
  });

  it('a failed unbind leaves the key where it was, and says so', async () => {
    const api = new FakePlans();
    const registrar = new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE });
    await registrar.register(client());
    api.failing.add('unbindKey');
    expect(await registrar.register(client(CUSTOM))).toEqual({
      registered: false,
      error: 'unbind key from plan: ServiceUnavailableException: unbindKey refused',
      usageKeyId: 'k1',
      usagePlanId: 'default',
    });
  });

  it('duplicate custom plans (two registrations racing) are reduced to one', async () => {
    const api = new FakePlans();
    const registrar = new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE });
    for (const id of ['p8', 'p9']) api.plans.set(id, { id, name: 'tollgate-client-acme', stages: [STAGE], limits: CUSTOM, keys: new Set() });
    const result = await registrar.register(client(CUSTOM));
    expect(result).toMatchObject({ registered: true, usagePlanId: 'p8' });
    expect([...api.plans.keys()].sort()).toEqual(['default', 'p8']);
  });

  it('a conflict on create for a key it cannot find under its name is an error, not a second key', async () => {
    const api = new FakePlans();
    api.keys.set('elsewhere', { name: 'someone-else', value: client().usageKey, enabled: true });
    const result = await new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE }).register(client());
    expect(result).toEqual({ registered: false, error: expect.stringMatching(/^create API key: .*not under the name tollgate-acme/) });
    expect(api.keys.size).toBe(1);
  });

  it('finds the default plan by name on its stage once, and reports a missing one', async () => {
    const api = new FakePlans();
    const lookups: string[] = [];
    const find = api.findPlans.bind(api);
    api.findPlans = async (name) => {
      lookups.push(name);
      return find(name);
    };
    const registrar = new UsageRegistrar(api, { defaultPlanName: 'stack', stage: STAGE });
    await registrar.register(client());
    await registrar.register(client());
    expect(lookups.filter((name) => name === 'stack')).toHaveLength(1);

    const otherStage = new FakePlans();
    otherStage.plans.set('default', { ...otherStage.plans.get('default')!, stages: [{ restApiId: 'api', stageName: 'v2' }] });
    expect(await new UsageRegistrar(otherStage, { defaultPlanName: 'stack', stage: STAGE }).register(client())).toEqual({
      registered: false,
      error: 'look up default usage plan: Error: no usage plan named stack serves this stage',
    });
  });

  it('configuration: all three variables or none', () => {
    expect(usageRegistrationConfigFrom({})).toBeUndefined();
    expect(usageRegistrationConfigFrom({ TOLLGATE_DEFAULT_USAGE_PLAN_NAME: 'p', TOLLGATE_REST_API_ID: 'a', TOLLGATE_STAGE_NAME: 's' })).toEqual({
      defaultPlanName: 'p',
      stage: { restApiId: 'a', stageName: 's' },
    });
    expect(() => usageRegistrationConfigFrom({ TOLLGATE_REST_API_ID: 'a' })).toThrow(/missing TOLLGATE_DEFAULT_USAGE_PLAN_NAME, TOLLGATE_STAGE_NAME/);
  });
});
