/**
 * The per-client limits endpoints and the usage-plan registration that key creation,
 * limits changes and client revocation drive: the admin and token functions wired as in
 * Lambda over DynamoDB Local, their API Gateway client talking to a recording stub.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { EndpointEnv, Env } from '../../../common/names';
import { USAGE_KEY_PATTERN } from '../../../common/tokens';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { lambdaClient } from '../../../lambda/adapters/clients/lambda';
import { createAdminHandler } from '../../../lambda/admin/app';
import { adminCall } from '../../support/api-events';
import { body, captureLogs, harness, logLines, type Harness } from '../issuance/harness';
import { isRequest, SERVER_ERROR, startApiGatewayStub, type ApiGatewayStub } from './api-gateway-stub';

captureLogs();

const KEYS = '/admin/clients/{clientId}/keys';
const LIMITS = '/admin/clients/{clientId}/limits';
const CLIENT = '/admin/clients/{clientId}';
const STAGE = { apiId: 'api123', stage: 'v1' };
const CUSTOM = { rateLimit: 5, burstLimit: 5, quota: { limit: 100, period: 'DAY' } };

describe('per-client limits and usage-plan registration', () => {
  let stub: ApiGatewayStub;
  let defaultPlanId: string;
  let usageEnv: Record<string, string>;

  beforeAll(async () => {
    stub = await startApiGatewayStub();
    defaultPlanId = stub.model.ensurePlan('stack-clients', STAGE, { rateLimit: 50, burstLimit: 100 }).id;
    usageEnv = {
      [EndpointEnv.apigateway]: stub.url,
      [Env.defaultUsagePlanName]: 'stack-clients',
      [Env.restApiId]: STAGE.apiId,
      [Env.stageName]: STAGE.stage,
    };
  });
  afterAll(() => stub.close());
  beforeEach(() => stub.clear());

  const configured = () => harness({ extraEnv: usageEnv });
  const createKey = async (h: Harness, clientId: string) => {
    const response = await h.admin(adminCall('POST', KEYS, { clientId }, { scopes: ['orders:read'] }));
    expect(response.statusCode, response.body).toBe(201);
    return body(response) as { apiKey: string; key: { keyId: string }; usage: Record<string, unknown> };
  };
  const putLimits = (h: Harness, clientId: string, limits: unknown) => h.admin(adminCall('PUT', LIMITS, { clientId }, limits));
  const getLimits = (h: Harness, clientId: string) => h.admin(adminCall('GET', LIMITS, { clientId }));
  const record = async (h: Harness, clientId: string) => (await h.items('clients')).find((item) => item.clientId === clientId)!;
  const tokenClaims = async (h: Harness, clientId: string, apiKey: string) => {
    const response = await h.exchange(clientId, apiKey);
    expect(response.statusCode, response.body).toBe(200);
    const token = (body(response) as { access_token: string }).access_token;
    return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  };
  const plansHolding = (usageKey: string) => {
    const key = stub.model.snapshot().apiKeys.find((candidate) => candidate.value === usageKey);
    return key
      ? stub.model
          .snapshot()
          .plans.filter((plan) => plan.keyIds.includes(key.id))
          .map((plan) => plan.id)
      : [];
  };

  it("a client's first key registers its usage key in the default plan and its tokens name it; later keys create nothing", async () => {
    const h = await configured();
    const created = await createKey(h, 'acme');
    expect(created.usage).toEqual({ plan: 'default', usageKeyRegistered: true });
    const stored = await record(h, 'acme');
    expect(stored).toMatchObject({
      usageKey: expect.stringMatching(USAGE_KEY_PATTERN),
      usageKeyId: expect.any(String),
      usagePlanId: defaultPlanId,
      limitsVersion: 0,
      usageVersion: 0,
    });
    expect(stored.usageKey).not.toBe(created.apiKey);
    expect(plansHolding(String(stored.usageKey))).toEqual([defaultPlanId]);
    expect((await tokenClaims(h, 'acme', created.apiKey)).uik).toBe(stored.usageKey);

    stub.clear();
    const second = await createKey(h, 'acme');
    expect(second.usage).toEqual({ plan: 'default', usageKeyRegistered: true });
    expect(stub.requests).toEqual([]);
    expect((await record(h, 'acme')).usageKey).toBe(stored.usageKey);
  });

  it('PUT limits gives the client its own plan, GET shows it, and the defaults move it back (custom plan deleted)', async () => {
    const h = await configured();
    const { apiKey } = await createKey(h, 'globex');
    const { usageKey: storedKey, usageKeyId } = await record(h, 'globex');
    const usageKey = String(storedKey);
    stub.clear();

    const put = await putLimits(h, 'globex', CUSTOM);
    // The key id stored by the first registration is read directly: no listing of the Region's API keys.
    expect(stub.calls()).toContain(`GET /apikeys/${String(usageKeyId)}`);
    expect(stub.calls().filter((call) => call === 'GET /apikeys')).toEqual([]);
    expect(put.statusCode, put.body).toBe(200);
    const view = { clientId: 'globex', limits: CUSTOM, plan: 'custom', usageKeyRegistered: true };
    expect(body(put)).toEqual(view);
    expect(body(await getLimits(h, 'globex'))).toEqual(view);
    const custom = stub.model.snapshot().plans.find((plan) => plan.name === 'tollgate-client-globex')!;
    expect(custom).toMatchObject({ throttle: { rateLimit: 5, burstLimit: 5 }, quota: { limit: 100, period: 'DAY' }, apiStages: [STAGE] });
    expect(plansHolding(usageKey)).toEqual([custom.id]);
    expect(await record(h, 'globex')).toMatchObject({ limits: CUSTOM, limitsVersion: 1, usageVersion: 1, usagePlanId: custom.id });
    // The usage key stays the same across plans, so tokens already issued keep working.
    expect((await tokenClaims(h, 'globex', apiKey)).uik).toBe(usageKey);

    const fractional = await putLimits(h, 'globex', { rateLimit: 0.5, burstLimit: 1, quota: null });
    expect(body(fractional)).toEqual({ clientId: 'globex', limits: { rateLimit: 0.5, burstLimit: 1 }, plan: 'custom', usageKeyRegistered: true });
    expect(stub.model.snapshot().plans.find((plan) => plan.id === custom.id)).toMatchObject({ throttle: { rateLimit: 0.5, burstLimit: 1 } });
    expect(stub.model.snapshot().plans.find((plan) => plan.id === custom.id)!.quota).toBeUndefined();

    const back = await putLimits(h, 'globex', { rateLimit: 50, burstLimit: 100 });
    expect(body(back)).toEqual({ clientId: 'globex', limits: { rateLimit: 50, burstLimit: 100 }, plan: 'default', usageKeyRegistered: true });
    expect(plansHolding(usageKey)).toEqual([defaultPlanId]);
    expect(stub.model.snapshot().plans.some((plan) => plan.name === 'tollgate-client-globex')).toBe(false);
    const stored = await record(h, 'globex');
    expect(stored.limits).toBeUndefined();
    expect(stored).toMatchObject({ limitsVersion: 3, usageVersion: 3, usagePlanId: defaultPlanId });
  });

  it('refuses bad limits with 400 naming the field, changing nothing in DynamoDB or API Gateway', async () => {
    const h = await configured();
    await createKey(h, 'initech');
    const before = { clients: await h.items('clients'), apiGateway: stub.model.snapshot() };
    stub.clear();
    const cases: Array<[string, unknown, RegExp]> = [
      ['unknown field', { rateLimit: 5, burstLimit: 5, tier: 'gold' }, /tier/],
      ['missing rate', { burstLimit: 5 }, /rateLimit/],
      ['zero rate', { rateLimit: 0, burstLimit: 5 }, /rateLimit/],
      ['rate too high', { rateLimit: 10_001, burstLimit: 5000 }, /rateLimit/],
      ['rate as string', { rateLimit: '5', burstLimit: 5 }, /rateLimit/],
      ['fractional burst', { rateLimit: 5, burstLimit: 5.5 }, /burstLimit/],
      ['burst below the rate', { rateLimit: 10.5, burstLimit: 10 }, /burstLimit: must be at least rateLimit/],
      ['burst too high', { rateLimit: 5, burstLimit: 5001 }, /burstLimit/],
      ['zero quota', { rateLimit: 5, burstLimit: 5, quota: { limit: 0, period: 'DAY' } }, /quota\.limit/],
      ['bad period', { rateLimit: 5, burstLimit: 5, quota: { limit: 10, period: 'YEAR' } }, /quota\.period/],
      ['quota extra field', { rateLimit: 5, burstLimit: 5, quota: { limit: 10, period: 'DAY', offset: 2 } }, /offset/],
      ['malformed JSON', '{"rateLimit":', /JSON/],
      ['no body', undefined, /rateLimit/],
      ['array body', '[]', /body/],
    ];
    for (const [name, limits, message] of cases) {
      const response = await putLimits(h, 'initech', limits);
      expect([name, response.statusCode], response.body).toEqual([name, 400]);
      expect(body(response)).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(message) });
    }
    const badId = await h.admin(adminCall('PUT', LIMITS, { clientId: 'bad id!' }, CUSTOM));
    expect(badId.statusCode).toBe(400);
    expect(stub.requests).toEqual([]);
    expect({ clients: await h.items('clients'), apiGateway: stub.model.snapshot() }).toEqual(before);
  });

  it('404 for an unknown client and 409 for a revoked one, on GET and PUT, writing nothing', async () => {
    const h = await configured();
    const expectError = (response: APIGatewayProxyResult, status: number, error: string) => {
      expect(response.statusCode, response.body).toBe(status);
      expect(body(response)).toEqual({ error, error_description: expect.any(String) });
    };
    expectError(await getLimits(h, 'nobody'), 404, 'client_not_found');
    expectError(await putLimits(h, 'nobody', CUSTOM), 404, 'client_not_found');
    expect(await h.items('clients')).toEqual([]);

    await createKey(h, 'hooli');
    expect((await h.admin(adminCall('DELETE', CLIENT, { clientId: 'hooli' }))).statusCode).toBe(204);
    const revoked = await record(h, 'hooli');
    stub.clear();
    expectError(await getLimits(h, 'hooli'), 409, 'client_revoked');
    expectError(await putLimits(h, 'hooli', CUSTOM), 409, 'client_revoked');
    expect(await record(h, 'hooli')).toEqual(revoked);
    expect(stub.requests).toEqual([]);
  });

  it('with API Gateway failing, the key is still created (201) and served on the fallback; the next limits call registers it', async () => {
    const h = await configured();
    stub.fail({ when: (r) => r.method !== 'GET', answer: SERVER_ERROR, times: Infinity });
    const created = await createKey(h, 'umbrella');
    expect(created.usage).toEqual({ plan: 'default', usageKeyRegistered: false, usageError: expect.stringMatching(/^create API key: /) });
    const stored = await record(h, 'umbrella');
    expect(stored.usageKey).toMatch(USAGE_KEY_PATTERN);
    expect(stored.usagePlanId).toBeUndefined();
    // No usage key in the token: the authorizer falls back to the deployment's key (the default plan).
    expect((await tokenClaims(h, 'umbrella', created.apiKey)).uik).toBeUndefined();
    expect(logLines.some((line) => line.includes('"usage.register"') && line.includes('"failure"') && line.includes('umbrella'))).toBe(true);

    const failedPut = await putLimits(h, 'umbrella', CUSTOM);
    expect(failedPut.statusCode).toBe(200);
    expect(body(failedPut)).toEqual({ clientId: 'umbrella', limits: CUSTOM, plan: 'custom', usageKeyRegistered: false, usageError: expect.any(String) });
    expect(body(await getLimits(h, 'umbrella'))).toEqual({ clientId: 'umbrella', limits: CUSTOM, plan: 'custom', usageKeyRegistered: false });

    stub.clear();
    const recovered = await putLimits(h, 'umbrella', CUSTOM);
    expect(body(recovered)).toEqual({ clientId: 'umbrella', limits: CUSTOM, plan: 'custom', usageKeyRegistered: true });
    expect((await tokenClaims(h, 'umbrella', created.apiKey)).uik).toBe(stored.usageKey);
  });

  it('a key creation retries a failed registration', async () => {
    const h = await configured();
    stub.fail({ when: isRequest('POST', /\/keys$/), answer: SERVER_ERROR, times: Infinity });
    expect((await createKey(h, 'wonka')).usage).toMatchObject({ usageKeyRegistered: false, usageError: expect.stringMatching(/^bind key to plan: /) });
    stub.clear();
    expect((await createKey(h, 'wonka')).usage).toEqual({ plan: 'default', usageKeyRegistered: true });
    expect(plansHolding(String((await record(h, 'wonka')).usageKey))).toEqual([defaultPlanId]);
  });

  it('revoking a client removes its usage key from API Gateway and its custom plan', async () => {
    const h = await configured();
    await createKey(h, 'soylent');
    await putLimits(h, 'soylent', CUSTOM);
    const usageKey = String((await record(h, 'soylent')).usageKey);
    expect((await h.admin(adminCall('DELETE', CLIENT, { clientId: 'soylent' }))).statusCode).toBe(204);
    expect(stub.model.snapshot().apiKeys.some((key) => key.value === usageKey)).toBe(false);
    expect(stub.model.snapshot().plans.some((plan) => plan.name === 'tollgate-client-soylent')).toBe(false);
    const stored = await record(h, 'soylent');
    expect(stored).toMatchObject({ status: 'revoked', usageKey });
    expect(stored.usageKeyId).toBeUndefined();
    expect(stored.usagePlanId).toBeUndefined();
    expect(logLines.some((line) => line.includes('"usage.deregister"') && line.includes('soylent'))).toBe(true);
  });

  it('without usage-plan configuration limits are stored and the response says nothing was registered', async () => {
    const h = await harness();
    const created = await createKey(h, 'tyrell');
    expect(created.usage).toEqual({ plan: 'default', usageKeyRegistered: false, usageError: 'usage plans are not configured for this deployment' });
    expect(await record(h, 'tyrell')).toEqual({ clientId: 'tyrell', status: 'active', createdAt: h.nowSeconds() });
    const put = await putLimits(h, 'tyrell', CUSTOM);
    expect(body(put)).toEqual({
      clientId: 'tyrell',
      limits: CUSTOM,
      plan: 'custom',
      usageKeyRegistered: false,
      usageError: 'usage plans are not configured for this deployment',
    });
    expect(await record(h, 'tyrell')).toMatchObject({ limits: CUSTOM, limitsVersion: 1 });
  });

  it('a partial usage-plan configuration fails the cold start, naming what is missing', async () => {
    const h = await configured();
    const env = { ...h.tables.env, [Env.rotationFunction]: 'rotation', [Env.defaultUsagePlanName]: 'plan1', [Env.restApiId]: 'api1' };
    const deps = { env, doc: documentClient(env), lambda: lambdaClient(env), logger: new Logger({ serviceName: 'admin-test' }) };
    expect(() => createAdminHandler(deps)).toThrow(`missing ${Env.stageName}`);
  });
});
