/**
 * The local gateway with usage plans in force: a fake authorizer (our own interface) names
 * usage keys, the local API Gateway model holds the plans, the real limiter decides, and
 * the answers are the gateway responses of `common/gateway-responses.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { INVALID_USAGE_KEY, QUOTA_EXCEEDED, THROTTLED } from '../../../common/gateway-responses';
import { startEcho, type EchoServer } from '../../../local/echo';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway } from '../../../local/gateway';
import { UsageLimiter } from '../../../local/usage-limiter';
import { LocalUsagePlans } from '../../../local/usage-plans';

const STAGE = { apiId: LOCAL_API.apiId, stage: LOCAL_API.stage };
const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;

describe("local gateway: usage plans keyed by the authorizer's usageIdentifierKey", () => {
  let echo: EchoServer;
  let gateway: LocalGateway;
  let url: string;
  let nowMs = Date.UTC(2026, 5, 1, 10);
  const logs: Record<string, unknown>[] = [];
  const plans = new LocalUsagePlans();
  let slowKey: string;
  let quotaKey: string;
  let otherKey: string;
  const unboundKey = 'tguNotInAnyPlan000000000000000000';

  /** Bearer <name> → an Allow whose usageIdentifierKey is that client's key (`none`: no key at all). */
  const authorizer = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const name = (event.headers?.Authorization ?? '').replace('Bearer ', '');
    const keys: Record<string, string | undefined> = { slow: slowKey, quota: quotaKey, other: otherKey, unbound: unboundKey, none: undefined };
    return {
      principalId: name,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*` }] },
      context: { clientId: name, scopes: 'orders:read', jti: `jti-${name}`, keyId: 'key_1', kid: 'kid-1' },
      ...(keys[name] === undefined ? {} : { usageIdentifierKey: keys[name] }),
    };
  };

  beforeAll(async () => {
    const slowPlan = plans.ensurePlan('slow', STAGE, { rateLimit: 1, burstLimit: 2 });
    slowKey = plans.ensureKeyInPlan('slow-client', slowPlan.id).value;
    otherKey = plans.ensureKeyInPlan('other-client', slowPlan.id).value;
    const quotaPlan = plans.createPlan({
      name: 'quota',
      apiStages: [STAGE],
      throttle: { rateLimit: 100, burstLimit: 100 },
      quota: { limit: 3, period: 'DAY' },
    });
    quotaKey = plans.ensureKeyInPlan('quota-client', quotaPlan.id).value;
    echo = await startEcho();
    gateway = new LocalGateway({
      handlers: {
        token: async () => ({ statusCode: 200, body: '' }),
        admin: async () => ({ statusCode: 200, body: '' }),
        authorizer,
      },
      adminToken: 'tga_admin',
      upstreamUrl: echo.url,
      authorizerCacheTtlSeconds: 0,
      writeAccessLog: (line) => logs.push(JSON.parse(line)),
      usage: new UsageLimiter({ limitsFor: (key) => plans.limitsFor(key, STAGE) }, () => nowMs),
      now: () => nowMs,
    });
    url = `http://127.0.0.1:${await gateway.listen(0)}`;
  });
  afterAll(async () => {
    await gateway.close();
    await echo.close();
  });

  const call = (client: string) => fetch(`${url}/orders/1`, { headers: { Authorization: `Bearer ${client}` } });

  it('throttles a client beyond its burst with 429 THROTTLED, JSON body and Retry-After; another client of the same plan is unaffected', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call('slow')).status);
    expect(statuses).toEqual([200, 200, 429]);
    const throttled = await call('slow');
    expect(throttled.status).toBe(THROTTLED.statusCode);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(throttled.headers.get('content-type')).toBe('application/json');
    expect(await throttled.json()).toEqual(THROTTLED.body);
    expect(logs.at(-1)).toMatchObject({ status: 429, errorType: 'THROTTLED', clientId: 'slow', integrationStatus: '-' });

    expect((await call('other')).status).toBe(200);
    nowMs += 1000;
    expect((await call('slow')).status).toBe(200);
  });

  it('stops a client at its quota with 429 QUOTA_EXCEEDED until the UTC day ends', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call('quota')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const over = await call('quota');
    expect(await over.json()).toEqual(QUOTA_EXCEEDED.body);
    expect(Number(over.headers.get('retry-after'))).toBe(Math.ceil((Date.UTC(2026, 5, 2) - nowMs) / 1000));
    expect(logs.at(-1)).toMatchObject({ status: 429, errorType: 'QUOTA_EXCEEDED', clientId: 'quota' });
  });

  it('refuses an allowed request whose usage key no plan holds, or that names none, with 403 like API Gateway', async () => {
    for (const client of ['unbound', 'none']) {
      const response = await call(client);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual(INVALID_USAGE_KEY.body);
      expect(logs.at(-1)).toMatchObject({ status: 403, errorType: 'INVALID_API_KEY', clientId: client });
    }
  });
});
