/**
 * The local gateway's own failures answer as the deployed stage's generic gateway responses
 * (DEFAULT_4XX / DEFAULT_5XX bodies, API Gateway's status), never with internal details, and
 * are logged as API Gateway logs them: with the authorizer's principal and context when it
 * allowed the request, the response type in `errorType`, and the cause in a `gateway_failure`
 * line that the request id joins to the access-log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { ACCESS_LOG_FIELDS } from '../../../common/access-log';
import { GATEWAY_FAILURE, GATEWAY_REJECTED } from '../../../common/gateway-responses';
import { LocalGateway, type GatewayHandlers } from '../../../local/gateway';
import { LOCAL_API } from '../../../local/events';
import { closedPortUrl, startHttpStub, type HttpStub } from '../../support/http-stub';

const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;
const CONTEXT = { clientId: 'acme', scopes: 'orders:read', jti: 'jti-1', keyId: 'key_1', kid: 'kid-1' };

const handlers: GatewayHandlers = {
  token: async () => {
    throw new Error('token function crashed');
  },
  admin: async () => ({ statusCode: 500, body: '' }),
  authorizer: async (): Promise<APIGatewayAuthorizerResult> => ({
    principalId: 'acme',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*` }] },
    context: CONTEXT,
  }),
};

type Line = Record<string, unknown>;

/** The request's access-log line and the `gateway_failure` line of the same request. */
function linesOf(logs: string[], path: string): { access: Line; failure: Line | undefined } {
  const parsed = logs.map((line) => JSON.parse(line) as Line);
  const access = parsed.filter((line) => line.event === undefined && line.path === path).at(-1)!;
  return { access, failure: parsed.find((line) => line.event === 'gateway_failure' && line.requestId === access.requestId) };
}

function expectNoStore(response: Response): void {
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('pragma')).toBe('no-cache');
  expect(response.headers.get('content-type')).toBe('application/json');
}

describe('local gateway failures', () => {
  let gateway: LocalGateway;
  let url: string;
  const logs: string[] = [];

  beforeAll(async () => {
    gateway = new LocalGateway({
      handlers,
      adminToken: 'tga_test',
      upstreamUrl: await closedPortUrl(),
      authorizerCacheTtlSeconds: 0,
      writeAccessLog: (line) => logs.push(line),
    });
    url = `http://127.0.0.1:${await gateway.listen(0)}`;
  });
  afterAll(() => gateway.close());

  it('answers 502 with the generic server_error body when the upstream cannot be reached, and logs the cause locally', async () => {
    const response = await fetch(`${url}/orders/1`, { headers: { Authorization: 'Bearer any' } });
    expect(response.status).toBe(502);
    expectNoStore(response);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual(GATEWAY_FAILURE.body);
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(logs.some((line) => line.includes('"gateway_failure"') && line.includes('ECONNREFUSED'))).toBe(true);
  });

  it('attributes an upstream failure to the principal the authorizer allowed, as INTEGRATION_FAILURE, joined to its cause by request id', async () => {
    await fetch(`${url}/orders/2`, { headers: { Authorization: 'Bearer any' } });
    const { access, failure } = linesOf(logs, '/orders/2');
    expect(access).toMatchObject({
      status: 502,
      errorType: 'INTEGRATION_FAILURE',
      resourcePath: '/{proxy+}',
      principalId: 'acme',
      ...CONTEXT,
      authorizerError: '-',
      integrationStatus: '-',
    });
    expect(access.authorizerLatency).not.toBe('-');
    expect(access.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(failure).toMatchObject({ event: 'gateway_failure', requestId: access.requestId });
    expect(failure!.error).toMatch(/ECONNREFUSED/);
  });

  it('answers a failing Tollgate function with 502 server_error, logged as INTEGRATION_FAILURE on its route', async () => {
    const response = await fetch(`${url}/oauth/token`, { method: 'POST', body: 'grant_type=client_credentials' });
    expect(response.status).toBe(502);
    expectNoStore(response);
    expect(await response.json()).toEqual(GATEWAY_FAILURE.body);
    const { access, failure } = linesOf(logs, '/oauth/token');
    expect(access).toMatchObject({ status: 502, errorType: 'INTEGRATION_FAILURE', resourcePath: '/oauth/token', principalId: '-' });
    expect(failure).toMatchObject({ requestId: access.requestId, error: 'token function crashed' });
  });

  it("answers 413 with the generic invalid_request body for a body over API Gateway's 10 MB, and logs it as REQUEST_TOO_LARGE", async () => {
    const response = await fetch(`${url}/orders`, { method: 'POST', headers: { Authorization: 'Bearer any' }, body: Buffer.alloc(10 * 1024 * 1024 + 1) });
    expect(response.status).toBe(413);
    expectNoStore(response);
    expect(await response.json()).toEqual(GATEWAY_REJECTED.body);
    const { access } = linesOf(logs, '/orders');
    expect(access).toMatchObject({ status: 413, httpMethod: 'POST', errorType: 'REQUEST_TOO_LARGE', principalId: '-' });
  });

  it('answers headers over 16 KiB with 431 and the generic invalid_request body, and logs the refusal without anything that was sent', async () => {
    const count = logs.length;
    const response = await fetch(`${url}/orders/3?q=secret-query`, { headers: { Authorization: 'Bearer any', 'X-Big': 'secret-header-value'.repeat(1000) } });
    expect(response.status).toBe(431);
    expectNoStore(response);
    expect(await response.json()).toEqual(GATEWAY_REJECTED.body);
    expect(logs.length).toBe(count + 1);
    const line = JSON.parse(logs.at(-1)!) as Line;
    expect(Object.keys(line).sort()).toEqual(Object.keys(ACCESS_LOG_FIELDS).sort());
    expect(line).toMatchObject({
      status: 431,
      errorType: 'DEFAULT_4XX',
      apiId: LOCAL_API.apiId,
      requestId: '-',
      httpMethod: '-',
      path: '-',
      principalId: '-',
      clientId: '-',
      sourceIp: '127.0.0.1',
    });
    expect(logs.at(-1)).not.toMatch(/secret|Bearer/);
  });

  it('keeps serving after refusing unparsable headers', async () => {
    // A method the JWKS resource lacks goes on to the upstream, unreachable here.
    const response = await fetch(`${url}/.well-known/jwks.json`, { method: 'DELETE', headers: { Authorization: 'Bearer any' } });
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual(GATEWAY_FAILURE.body);
  });
});

describe('local gateway: an upstream slower than the integration timeout', () => {
  let upstream: HttpStub;
  let gateway: LocalGateway;
  let url: string;
  const logs: string[] = [];

  beforeAll(async () => {
    // Never answers: the gateway's integration timeout has to end the request.
    upstream = await startHttpStub(() => new Promise(() => undefined));
    gateway = new LocalGateway({
      handlers,
      adminToken: 'tga_test',
      upstreamUrl: upstream.url,
      upstreamTimeoutMs: 50,
      authorizerCacheTtlSeconds: 0,
      writeAccessLog: (line) => logs.push(line),
    });
    url = `http://127.0.0.1:${await gateway.listen(0)}`;
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  it("answers 504 with the generic server_error body, logged as INTEGRATION_TIMEOUT with the authorizer's principal", async () => {
    const response = await fetch(`${url}/orders/slow`, { headers: { Authorization: 'Bearer any' } });
    expect(response.status).toBe(504);
    expectNoStore(response);
    expect(await response.json()).toEqual(GATEWAY_FAILURE.body);
    const { access, failure } = linesOf(logs, '/orders/slow');
    expect(access).toMatchObject({ status: 504, errorType: 'INTEGRATION_TIMEOUT', principalId: 'acme', clientId: 'acme', jti: 'jti-1' });
    expect(failure!.error).toMatch(/did not complete its answer within 50 ms/);
    expect(upstream.requests).toHaveLength(1);
  });
});
