/**
 * Usage-plan registration through the real SDK client over HTTP to an API Gateway stub that
 * records every request: what is created, in which order, that a second run creates
 * nothing, and what retries and persistent failures leave behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_LIMITS } from '../../../common/defaults';
import { EndpointEnv, UsageNaming } from '../../../common/names';
import type { ClientLimits } from '../../../common/credential-items';
import { apiGatewayClient } from '../../../lambda/adapters/clients/api-gateway';
import { ApiGatewayUsagePlans } from '../../../lambda/adapters/usage-plans';
import { newUsageKey } from '../../../lambda/core/admin/client-usage';
import { UsageRegistrar, type UsageClient } from '../../../lambda/core/credentials/usage-registration';
import { isRequest, SERVER_ERROR, startApiGatewayStub, TOO_MANY_REQUESTS, type ApiGatewayStub } from './api-gateway-stub';

const STAGE = { restApiId: 'api123', stageName: 'v1' };
const CUSTOM: ClientLimits = { rateLimit: 5, burstLimit: 5, quota: { limit: 100, period: 'DAY' } };

describe('usage-plan registration against API Gateway over HTTP', () => {
  let stub: ApiGatewayStub;
  let registrar: UsageRegistrar;
  let defaultPlanId: string;

  beforeAll(async () => {
    stub = await startApiGatewayStub();
    const client = apiGatewayClient({ [EndpointEnv.apigateway]: stub.url });
    defaultPlanId = stub.model.ensurePlan('stack-clients', { apiId: STAGE.restApiId, stage: STAGE.stageName }, { rateLimit: 50, burstLimit: 100 }).id;
    registrar = new UsageRegistrar(new ApiGatewayUsagePlans(client), { defaultPlanName: 'stack-clients', stage: STAGE });
  });
  afterAll(() => stub.close());
  beforeEach(() => stub.clear());

  const client = (clientId: string, limits: ClientLimits = DEFAULT_CLIENT_LIMITS): UsageClient => ({ clientId, usageKey: newUsageKey(), limits });
  const keyOf = (usageKey: string) => stub.model.snapshot().apiKeys.find((key) => key.value === usageKey);
  const plansHolding = (keyId: string) => stub.model.snapshot().plans.filter((plan) => plan.keyIds.includes(keyId));
  const body = (path: RegExp, method = 'POST') => JSON.parse(stub.requests.find(isRequest(method, path))!.body) as Record<string, unknown>;

  it('creates the API key (value = usage key, enabled, named, tagged) and binds it to the default plan; a second run writes nothing', async () => {
    const acme = client('acme');
    const first = await registrar.register(acme);
    const key = keyOf(acme.usageKey)!;
    expect(first).toEqual({ registered: true, usageKeyId: key.id, usagePlanId: defaultPlanId });
    expect(body(/^\/apikeys$/)).toEqual({
      name: 'tollgate-acme',
      value: acme.usageKey,
      enabled: true,
      description: expect.any(String),
      // The deployment tag carries the default plan's name: the admin role manages only what carries its own.
      tags: { [UsageNaming.applicationTag]: 'tollgate', [UsageNaming.deploymentTag]: 'stack-clients', [UsageNaming.clientTag]: 'acme' },
    });
    expect(body(/^\/usageplans\/[^/]+\/keys$/)).toEqual({ keyId: key.id, keyType: 'API_KEY' });
    expect(stub.writes().map((r) => `${r.method} ${r.pathname}`)).toEqual(['POST /apikeys', `POST /usageplans/${defaultPlanId}/keys`]);
    // The listing by name asks for no values; only a key named exactly so is read with its value.
    const lookup = stub.requests.find(isRequest('GET', /^\/apikeys$/))!;
    expect(lookup.query.get('name')).toBe('tollgate-acme');
    expect(lookup.query.get('includeValues')).not.toBe('true');
    expect(stub.requests.filter(isRequest('GET', /^\/apikeys$/)).every((r) => r.query.get('includeValues') !== 'true')).toBe(true);

    stub.clear();
    expect(await registrar.register(acme)).toEqual(first);
    expect(stub.writes()).toEqual([]);
    expect(plansHolding(key.id).map((plan) => plan.id)).toEqual([defaultPlanId]);
  });

  it('moves a client with custom limits to its own plan (unbinding the default plan first), updates it in place, and back to the default', async () => {
    const globex = { ...client('globex'), limits: CUSTOM };
    await registrar.register({ ...globex, limits: DEFAULT_CLIENT_LIMITS });
    stub.clear();

    const moved = await registrar.register(globex);
    const key = keyOf(globex.usageKey)!;
    const custom = stub.model.snapshot().plans.find((plan) => plan.name === 'tollgate-client-globex')!;
    expect(moved).toEqual({ registered: true, usageKeyId: key.id, usagePlanId: custom.id });
    expect(custom).toMatchObject({
      apiStages: [{ apiId: STAGE.restApiId, stage: STAGE.stageName }],
      throttle: { rateLimit: 5, burstLimit: 5 },
      quota: { limit: 100, period: 'DAY' },
    });
    // API Gateway holds a key in one plan per stage: out of the default plan before into the custom one.
    expect(stub.writes().map((r) => `${r.method} ${r.pathname}`)).toEqual([
      'POST /usageplans',
      `DELETE /usageplans/${defaultPlanId}/keys/${key.id}`,
      `POST /usageplans/${custom.id}/keys`,
    ]);
    expect(plansHolding(key.id).map((plan) => plan.id)).toEqual([custom.id]);
    expect(body(/^\/usageplans$/).tags).toEqual({
      [UsageNaming.applicationTag]: 'tollgate',
      [UsageNaming.deploymentTag]: 'stack-clients',
      [UsageNaming.clientTag]: 'globex',
    });

    stub.clear();
    expect(await registrar.register(globex)).toEqual(moved);
    expect(stub.writes()).toEqual([]);

    const changed: ClientLimits = { rateLimit: 20, burstLimit: 40 };
    expect(await registrar.register({ ...globex, limits: changed })).toEqual(moved);
    expect(stub.writes().map((r) => `${r.method} ${r.pathname}`)).toEqual([`PATCH /usageplans/${custom.id}`]);
    expect(body(/^\/usageplans\/[^/]+$/, 'PATCH')).toEqual({
      patchOperations: [
        { op: 'replace', path: '/throttle/rateLimit', value: '20' },
        { op: 'replace', path: '/throttle/burstLimit', value: '40' },
        { op: 'remove', path: '/quota' },
      ],
    });

    stub.clear();
    expect(await registrar.register({ ...globex, limits: DEFAULT_CLIENT_LIMITS })).toEqual({
      registered: true,
      usageKeyId: key.id,
      usagePlanId: defaultPlanId,
    });
    expect(stub.writes().map((r) => `${r.method} ${r.pathname}`)).toEqual([
      `DELETE /usageplans/${custom.id}/keys/${key.id}`,
      `POST /usageplans/${defaultPlanId}/keys`,
      `PATCH /usageplans/${custom.id}`,
      `DELETE /usageplans/${custom.id}`,
    ]);
    expect(body(/^\/usageplans\/[^/]+$/, 'PATCH')).toEqual({
      patchOperations: [{ op: 'remove', path: '/apiStages', value: `${STAGE.restApiId}:${STAGE.stageName}` }],
    });
    expect(stub.model.snapshot().plans.map((plan) => plan.name)).not.toContain('tollgate-client-globex');
  });

  it("retries a 500 and a 429 (the SDK's bounded backoff) and then succeeds", async () => {
    const initech = client('initech');
    stub.fail({ when: isRequest('POST', /^\/apikeys$/), answer: SERVER_ERROR });
    stub.fail({ when: isRequest('POST', /\/keys$/), answer: TOO_MANY_REQUESTS });
    const result = await registrar.register(initech);
    expect(result.registered).toBe(true);
    expect(stub.calls().filter((call) => call === 'POST /apikeys')).toHaveLength(2);
    expect(stub.calls().filter((call) => call === `POST /usageplans/${defaultPlanId}/keys`)).toHaveLength(2);
  });

  it("a create whose response was lost is not repeated as a second key: the retry's conflict reads the key back", async () => {
    const hooli = client('hooli');
    stub.fail({ when: isRequest('POST', /^\/apikeys$/), answer: 'lost' });
    const result = await registrar.register(hooli);
    expect(result).toEqual({ registered: true, usageKeyId: keyOf(hooli.usageKey)!.id, usagePlanId: defaultPlanId });
    expect(stub.model.snapshot().apiKeys.filter((key) => key.name === 'tollgate-hooli')).toHaveLength(1);
  });

  it('a persistent failure is reported, and a move that cannot bind the new plan puts the key back in the default plan', async () => {
    const umbrella = { ...client('umbrella'), limits: CUSTOM };
    await registrar.register({ ...umbrella, limits: DEFAULT_CLIENT_LIMITS });
    const key = keyOf(umbrella.usageKey)!;
    stub.clear();
    stub.fail({
      when: (r) => r.method === 'POST' && /^\/usageplans\/[^/]+\/keys$/.test(r.pathname) && !r.pathname.includes(defaultPlanId),
      answer: SERVER_ERROR,
      times: Infinity,
    });

    const failed = await registrar.register(umbrella);
    expect(failed).toEqual({ registered: false, error: expect.stringMatching(/^bind key to plan: /), usageKeyId: key.id, usagePlanId: defaultPlanId });
    expect(plansHolding(key.id).map((plan) => plan.id)).toEqual([defaultPlanId]);
    // Bounded: a few attempts per call, not an endless loop.
    const custom = stub.model.snapshot().plans.find((plan) => plan.name === 'tollgate-client-umbrella')!;
    expect(stub.calls().filter((call) => call === `POST /usageplans/${custom.id}/keys`).length).toBeLessThanOrEqual(5);

    stub.clear();
    expect(await registrar.register(umbrella)).toEqual({ registered: true, usageKeyId: key.id, usagePlanId: custom.id });
  });

  it('an unreachable API key step reports where it failed and what is known bound (nothing yet)', async () => {
    stub.fail({ when: isRequest('GET', /^\/apikeys$/), answer: SERVER_ERROR, times: Infinity });
    const result = await registrar.register(client('wonka'));
    expect(result).toEqual({ registered: false, error: expect.stringMatching(/^look up API key: /) });
  });

  it('leaves plans of other deployments and a disabled key alone', async () => {
    const otherStage = { apiId: 'other-api', stage: 'v1' };
    const foreign = stub.model.createPlan({ name: 'tollgate-client-tyrell', apiStages: [otherStage], throttle: { rateLimit: 1, burstLimit: 1 } });
    const tyrell = { ...client('tyrell'), limits: CUSTOM };
    expect((await registrar.register(tyrell)).registered).toBe(true);
    await registrar.register({ ...tyrell, limits: DEFAULT_CLIENT_LIMITS });
    expect(stub.model.snapshot().plans.find((plan) => plan.id === foreign.id)).toMatchObject({
      throttle: { rateLimit: 1, burstLimit: 1 },
      apiStages: [otherStage],
    });

    const disabled = stub.model.createApiKey({ name: 'tollgate-cyberdyne', value: newUsageKey(), enabled: false });
    const result = await registrar.register({ clientId: 'cyberdyne', usageKey: disabled.value, limits: DEFAULT_CLIENT_LIMITS });
    expect(result).toEqual({ registered: false, error: expect.stringMatching(/^check API key: .*disabled/) });
    expect(plansHolding(disabled.id)).toEqual([]);
  });

  it("reads the value of no key but those named exactly like the client's, and looks up a stored key id first", async () => {
    const prefixed = stub.model.createApiKey({ name: 'tollgate-acme2', value: newUsageKey(), enabled: true });
    const sameName = stub.model.createApiKey({ name: 'tollgate-acme3', value: newUsageKey(), enabled: true });
    const acme3 = client('acme3');
    stub.clear();
    const first = (await registrar.register(acme3)) as { usageKeyId: string };
    expect(first.usageKeyId).toBe(keyOf(acme3.usageKey)!.id);
    // The other deployment's key of the same name was read (and was not ours); the prefix match was never read.
    const reads = stub.calls().filter((call) => call.startsWith('GET /apikeys/'));
    expect(reads).toContain(`GET /apikeys/${sameName.id}`);
    expect(reads).not.toContain(`GET /apikeys/${prefixed.id}`);
    for (const request of stub.requests.filter(isRequest('GET', /^\/apikeys\/[^/]+$/))) expect(request.query.get('includeValue')).toBe('true');

    stub.clear();
    expect(await registrar.register({ ...acme3, usageKeyId: first.usageKeyId })).toMatchObject({ registered: true, usageKeyId: first.usageKeyId });
    expect(stub.calls().filter((call) => call.startsWith('GET /apikeys'))).toEqual([`GET /apikeys/${first.usageKeyId}`]);

    // A stored id that is gone (or is someone else's) falls back to the lookup by name.
    stub.clear();
    expect(await registrar.register({ ...acme3, usageKeyId: sameName.id })).toMatchObject({ registered: true, usageKeyId: first.usageKeyId });
  });

  it('deregisters a revoked client: out of its plan, custom plan and API key deleted; repeating it is harmless', async () => {
    const soylent = { ...client('soylent'), limits: CUSTOM };
    const { usageKeyId } = (await registrar.register(soylent)) as { usageKeyId: string };
    stub.clear();
    expect(await registrar.deregister('soylent', soylent.usageKey, usageKeyId)).toEqual({ removed: true });
    expect(stub.writes().map((r) => r.method)).toEqual(['DELETE', 'PATCH', 'DELETE', 'DELETE']);
    expect(keyOf(soylent.usageKey)).toBeUndefined();
    expect(stub.model.snapshot().plans.map((plan) => plan.name)).not.toContain('tollgate-client-soylent');
    expect(await registrar.deregister('soylent', soylent.usageKey, undefined)).toEqual({ removed: true });

    stub.fail({ when: isRequest('GET', /^\/usageplans$/), answer: SERVER_ERROR, times: Infinity });
    expect(await registrar.deregister('soylent', soylent.usageKey, usageKeyId)).toEqual({
      removed: false,
      error: expect.stringMatching(/^look up plans of key: /),
    });
  });
});
