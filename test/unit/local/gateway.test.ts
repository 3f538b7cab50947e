import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { LocalGateway } from '../../../local/gateway';
import { matchResource } from '../../../local/gateway-requests';
import { startEcho, type EchoServer } from '../../../local/echo';
import { ACCESS_LOG_FIELDS } from '../../../common/access-log';
import { LOCAL_API } from '../../../local/events';
import { InvalidRequest } from '../../../lambda/core/shared/issuance-errors';
import { refuseCredentialsInQuery } from '../../../lambda/http/request';

const ADMIN_TOKEN = 'tga_test-admin-token';
const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;

/** A fake authorizer of our own interface: `good` may GET /orders/*, anything else is refused. */
function fakeAuthorizer(calls: APIGatewayRequestAuthorizerEvent[]) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    calls.push(event);
    const header = event.headers?.Authorization ?? event.headers?.authorization;
    if (header === 'Bearer boom') throw new TypeError('authorizer crashed');
    if (header !== 'Bearer good') throw new Error('Unauthorized');
    return {
      principalId: 'acme',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/GET/orders/*` }],
      },
      context: { clientId: 'acme', scopes: 'orders:read', jti: 'jti-1', keyId: 'key_1', kid: 'kid-1' },
    };
  };
}

describe('local gateway', () => {
  let echo: EchoServer;
  let gateway: LocalGateway;
  let url: string;
  const logs: Record<string, unknown>[] = [];
  const authorizerCalls: APIGatewayRequestAuthorizerEvent[] = [];
  const proxied: APIGatewayProxyEvent[] = [];

  beforeAll(async () => {
    echo = await startEcho();
    const record = (fn: string) => async (event: APIGatewayProxyEvent) => {
      proxied.push(event);
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ fn, resource: event.resource, params: event.pathParameters }),
      };
    };
    gateway = new LocalGateway({
      handlers: { token: record('token'), admin: record('admin'), authorizer: fakeAuthorizer(authorizerCalls) },
      adminToken: ADMIN_TOKEN,
      upstreamUrl: echo.url,
      authorizerCacheTtlSeconds: 300,
      writeAccessLog: (line) => logs.push(JSON.parse(line)),
    });
    url = `http://127.0.0.1:${await gateway.listen(0)}`;
  });
  afterAll(async () => {
    await gateway.close();
    await echo.close();
  });

  it('routes Tollgate paths to the token function with the REST proxy event API Gateway builds', async () => {
    const response = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ fn: 'token', resource: '/oauth/token', params: {} });
    const event = proxied.at(-1)!;
    expect(event.body).toBe('grant_type=client_credentials');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.stage).toBe(LOCAL_API.stage);
    expect(event.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
  });

  it('hands the token function the query string as API Gateway does, so it refuses credentials there the same way', async () => {
    const response = await fetch(`${url}/oauth/token?client_id=acme&client_secret=x`, {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(200);
    const event = proxied.at(-1)!;
    expect(event.queryStringParameters).toEqual({ client_id: 'acme', client_secret: 'x' });
    expect(() => refuseCredentialsInQuery(event)).toThrow(InvalidRequest);
  });

  it('requires the admin token on operator routes and passes path parameters', async () => {
    const denied = await fetch(`${url}/admin/keys/key_abc`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: 'unauthorized' });
    const wrong = await fetch(`${url}/admin/keys/key_abc`, { headers: { Authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);

    const allowed = await fetch(`${url}/admin/keys/key_abc`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await allowed.json()).toEqual({ fn: 'admin', resource: '/admin/keys/{keyId}', params: { keyId: 'key_abc' } });
    expect(proxied.at(-1)!.requestContext.identity.userArn).toMatch(/^arn:aws:iam::/);
    // The access log names the signed caller by account and principal id, never by its ARN.
    expect(logs.at(-1)).toMatchObject({ path: '/admin/keys/key_abc', callerAccount: '000000000000', caller: 'AIDALOCALOPERATOR0000' });
    expect(logs.at(-1)).not.toHaveProperty('userArn');
  });

  it('sends a method a Tollgate resource lacks on to the upstream resource, as API Gateway does: the authorizer decides it', async () => {
    const served = proxied.length;
    const response = await fetch(`${url}/oauth/token`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
    expect(logs.at(-1)).toMatchObject({ path: '/oauth/token', resourcePath: '/{proxy+}', errorType: 'UNAUTHORIZED' });
    expect(proxied.length).toBe(served);
  });

  it("keeps the upstream URL's base path, as the stage's integration ({upstreamUrl}/{proxy}) does", async () => {
    for (const base of ['/api/v2', '/api/v2/']) {
      const based = new LocalGateway({
        handlers: { token: async () => ({ statusCode: 500, body: '' }), admin: async () => ({ statusCode: 500, body: '' }), authorizer: fakeAuthorizer([]) },
        adminToken: ADMIN_TOKEN,
        upstreamUrl: `${echo.url}${base}`,
        authorizerCacheTtlSeconds: 0,
        writeAccessLog: () => undefined,
      });
      try {
        const port = await based.listen(0);
        const seen = (await (await fetch(`http://127.0.0.1:${port}/orders/42?x=1`, { headers: { Authorization: 'Bearer good' } })).json()) as { url: string };
        expect(seen.url).toBe('/api/v2/orders/42?x=1');
      } finally {
        await based.close();
      }
    }
  });

  it('refuses a missing or invalid token with 401 invalid_token, and a crashing authorizer with 503 + Retry-After', async () => {
    const missing = await fetch(`${url}/orders/1`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const bad = await fetch(`${url}/orders/1`, { headers: { Authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_token' });
    const crash = await fetch(`${url}/orders/1`, { headers: { Authorization: 'Bearer boom' } });
    expect(crash.status).toBe(503);
    expect(crash.headers.get('retry-after')).toBe('5');
    expect(await crash.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('proxies an allowed call without the bearer token and with the context headers', async () => {
    const response = await fetch(`${url}/orders/42?x=1`, { headers: { Authorization: 'Bearer good', 'X-Tollgate-Client-Id': 'forged' } });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/orders/42?x=1');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-tollgate-client-id']).toBe('acme');
    expect(seen.headers['x-tollgate-scopes']).toBe('orders:read');
    expect(seen.headers['x-tollgate-token-id']).toBe('jti-1');
    const event = authorizerCalls.at(-1)!;
    expect(event.methodArn).toBe(`${ARN_PREFIX}/GET/orders/42`);
    expect(event.resource).toBe('/{proxy+}');
    expect(event.pathParameters).toEqual({ proxy: 'orders/42' });
  });

  it('answers 403 insufficient_scope where the policy does not allow the request', async () => {
    const response = await fetch(`${url}/orders`, { method: 'POST', headers: { Authorization: 'Bearer good' } });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope"');
  });

  it('caches a result under the token, method and path (the stack`s identity sources) until a flush', async () => {
    await fetch(`${url}/orders/7`, { headers: { Authorization: 'Bearer good' } });
    const before = authorizerCalls.length;
    // The same three values: answered from the cache.
    expect((await fetch(`${url}/orders/7`, { headers: { Authorization: 'Bearer good' } })).status).toBe(200);
    expect(authorizerCalls.length).toBe(before);
    // Another path, or another method: the authorizer decides it.
    await fetch(`${url}/orders/8`, { headers: { Authorization: 'Bearer good' } });
    await fetch(`${url}/orders/7`, { method: 'DELETE', headers: { Authorization: 'Bearer good' } });
    expect(authorizerCalls.length).toBe(before + 2);

    gateway.flushAuthorizerCache();
    await fetch(`${url}/orders/7`, { headers: { Authorization: 'Bearer good' } });
    expect(authorizerCalls.length).toBe(before + 3);
  });

  it('hands the authorizer the path as sent: no dot-segment resolution, no backslash rewriting', async () => {
    const paths = ['/orders/%2e%2e/admin', '/orders/../admin', '/orders//7', '/orders/a%2Fb', '/orders/a\\b'];
    // fetch would resolve the dots itself: send the request line as written.
    for (const path of paths) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: new URL(url).port, path, headers: { Authorization: 'Bearer good' } }, (res) =>
          res.resume().on('end', resolve),
        );
        req.on('error', reject).end();
      });
    }
    expect(authorizerCalls.slice(-paths.length).map((e) => e.path)).toEqual(paths);
  });

  it('writes one access-log line per request with exactly the deployed fields', async () => {
    const count = logs.length;
    await fetch(`${url}/orders/9`, { headers: { Authorization: 'Bearer good', 'User-Agent': 'vitest' } });
    expect(logs.length).toBe(count + 1);
    const line = logs.at(-1)!;
    expect(Object.keys(line).sort()).toEqual(Object.keys(ACCESS_LOG_FIELDS).sort());
    expect(line).toMatchObject({
      httpMethod: 'GET',
      path: '/orders/9',
      status: 200,
      principalId: 'acme',
      clientId: 'acme',
      jti: 'jti-1',
      resourcePath: '/{proxy+}',
      authorizerError: '-',
      apiId: LOCAL_API.apiId,
    });
    expect(JSON.stringify(logs)).not.toContain('Bearer good');
  });
});

describe('matchResource', () => {
  it('matches {name} segments and nothing else', () => {
    expect(matchResource('/admin/keys/{keyId}', '/admin/keys/key_1')).toEqual({ keyId: 'key_1' });
    expect(matchResource('/admin/keys/{keyId}', '/admin/keys/')).toBeNull();
    expect(matchResource('/admin/keys/{keyId}', '/admin/keys/a/b')).toBeNull();
    expect(matchResource('/oauth/token', '/oauth/token')).toEqual({});
  });
});
