/**
 * The local gateway routes as API Gateway REST does: on the resource and method as one pair.
 * An exact resource+method match wins; a resource that matches the path but lacks the method
 * does not stop the search, which goes on to the next most specific resource that has it (a
 * `{name}` sibling, the service's `ANY /{proxy+}`); only when no matching resource has the
 * method does the stage answer MISSING_AUTHENTICATION_TOKEN (404 `not_found` in Tollgate's
 * gateway responses). Measured on real API Gateway in ministack PR #1423 and floci PR #3399.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { API_ROUTES } from '../../../common/api-routes';
import { NO_ROUTE } from '../../../common/gateway-responses';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway, type GatewayHandlers } from '../../../local/gateway';
import { routeOf } from '../../../local/gateway-requests';
import { startHttpStub, type HttpStub } from '../../support/http-stub';

const ADMIN_TOKEN = 'tga_test-admin-token';
const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;

describe('routeOf: the resource and method as one pair', () => {
  // floci PR #3399's measured tree, in an order that puts the parameter first.
  const routes = [
    { method: 'GET', resource: '/users/{userId}' },
    { method: 'PATCH', resource: '/users/me' },
    { method: 'GET', resource: '/roles/{roleId}' },
    { method: 'POST', resource: '/roles/provision' },
  ] as const;

  it('prefers the literal resource when it has the method', () => {
    expect(routeOf(routes, 'PATCH', '/users/me')?.resource).toBe('/users/me');
    expect(routeOf(routes, 'POST', '/roles/provision')?.resource).toBe('/roles/provision');
  });

  it('falls to a {name} sibling when the literal resource lacks the method', () => {
    expect(routeOf(routes, 'GET', '/users/me')?.resource).toBe('/users/{userId}');
    expect(routeOf(routes, 'GET', '/roles/provision')?.resource).toBe('/roles/{roleId}');
  });

  it('finds nothing when no matching resource has the method', () => {
    expect(routeOf(routes, 'POST', '/users/me')).toBeUndefined();
    expect(routeOf(API_ROUTES, 'GET', '/oauth/token')).toBeUndefined();
    expect(routeOf(API_ROUTES, 'PATCH', '/admin/keys/key_1')).toBeUndefined();
    expect(routeOf(API_ROUTES, 'HEAD', '/.well-known/jwks.json')).toBeUndefined();
  });
});

/** Allows every request of `Bearer good`, refuses any other token. */
function authorizer(calls: APIGatewayRequestAuthorizerEvent[]) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    calls.push(event);
    if ((event.headers?.Authorization ?? '') !== 'Bearer good') throw new Error('Unauthorized');
    return {
      principalId: 'acme',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*` }] },
      context: { clientId: 'acme', scopes: 'orders:read', jti: 'jti-1', keyId: 'key_1', kid: 'kid-1' },
    };
  };
}

interface Harness {
  readonly url: string;
  readonly upstream: HttpStub;
  readonly logs: Record<string, unknown>[];
  readonly authorizerCalls: APIGatewayRequestAuthorizerEvent[];
  readonly invoked: string[];
  close(): Promise<void>;
}

/** A gateway in front of a recording upstream; `services` as in `GatewayOptions`, `leaks` whether the leak function is given. */
async function harness(options: { services?: boolean; leaks?: boolean } = {}): Promise<Harness> {
  const upstream = await startHttpStub(() => ({ status: 200, body: { from: 'upstream' } }));
  const logs: Record<string, unknown>[] = [];
  const authorizerCalls: APIGatewayRequestAuthorizerEvent[] = [];
  const invoked: string[] = [];
  const fn = (name: string) => async (event: APIGatewayProxyEvent) => {
    invoked.push(`${name} ${event.httpMethod} ${event.resource}`);
    return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ from: name }) };
  };
  const handlers: GatewayHandlers = {
    token: fn('token'),
    admin: fn('admin'),
    ...(options.leaks !== false && { leaks: fn('leaks') }),
    authorizer: authorizer(authorizerCalls),
  };
  const gateway = new LocalGateway({
    handlers,
    adminToken: ADMIN_TOKEN,
    upstreamUrl: upstream.url,
    ...(options.services && { services: [{ pathPrefix: '/billing', stripPrefix: true, upstreamUrl: upstream.url }] }),
    authorizerCacheTtlSeconds: 0,
    writeAccessLog: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  try {
    const url = `http://127.0.0.1:${await gateway.listen(0)}`;
    return {
      url,
      upstream,
      logs,
      authorizerCalls,
      invoked,
      close: async () => {
        await gateway.close();
        await upstream.close();
      },
    };
  } catch (error) {
    await gateway.close();
    await upstream.close();
    throw error;
  }
}

const good = { Authorization: 'Bearer good' };

describe('local gateway, single service: a method a Tollgate resource lacks goes to the upstream proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h?.close());

  it('GET /oauth/token without a token: the authorizer refuses it (401), as on /{proxy+} ANY', async () => {
    const response = await fetch(`${h.url}/oauth/token`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
    expect(h.logs.at(-1)).toMatchObject({ httpMethod: 'GET', path: '/oauth/token', resourcePath: '/{proxy+}', errorType: 'UNAUTHORIZED' });
    expect(h.invoked).toEqual([]);
  });

  it('GET /oauth/token with an allowed token reaches the upstream, with the authorizer told the /{proxy+} resource', async () => {
    const response = await fetch(`${h.url}/oauth/token`, { headers: good });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ from: 'upstream' });
    expect(h.upstream.requests.at(-1)).toMatchObject({ method: 'GET', url: '/oauth/token' });
    expect(h.authorizerCalls.at(-1)).toMatchObject({ resource: '/{proxy+}', pathParameters: { proxy: 'oauth/token' } });
    expect(h.invoked).toEqual([]);
  });

  it('POST /oauth/token, the exact resource+method pair, still goes to the token function', async () => {
    const response = await fetch(`${h.url}/oauth/token`, { method: 'POST', body: 'grant_type=client_credentials' });
    expect(await response.json()).toEqual({ from: 'token' });
    expect(h.invoked.at(-1)).toBe('token POST /oauth/token');
  });

  it('PATCH /admin/keys/{keyId} is not an admin route: the admin token is no access token there (401), the admin function never runs', async () => {
    const invoked = h.invoked.length;
    const refused = await fetch(`${h.url}/admin/keys/key_1`, { method: 'PATCH', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' });
    const allowed = await fetch(`${h.url}/admin/keys/key_1`, { method: 'PATCH', headers: good, body: '{}' });
    expect(allowed.status).toBe(200);
    expect(h.upstream.requests.at(-1)).toMatchObject({ method: 'PATCH', url: '/admin/keys/key_1' });
    expect(h.invoked.length).toBe(invoked);
  });

  it('a resource without methods (/admin, /oauth) and HEAD on a GET-only resource go to the upstream as well', async () => {
    for (const [method, path] of [
      ['GET', '/admin'],
      ['POST', '/oauth'],
      ['HEAD', '/.well-known/jwks.json'],
      ['DELETE', '/.well-known/jwks.json'],
    ] as const) {
      const response = await fetch(`${h.url}${path}`, { method, headers: good });
      expect(response.status, `${method} ${path}`).toBe(200);
      expect(h.upstream.requests.at(-1), `${method} ${path}`).toMatchObject({ method, url: path });
    }
    expect(h.invoked.filter((line) => !line.startsWith('token POST'))).toEqual([]);
  });
});

describe('local gateway, single service without the leak function', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ leaks: false });
  });
  afterAll(() => h?.close());

  it('has no leak routes: POST /leaks/revoke is routed as any other path, to the upstream', async () => {
    const response = await fetch(`${h.url}/leaks/revoke`, { method: 'POST', headers: good, body: '{}' });
    expect(response.status).toBe(200);
    expect(h.upstream.requests.at(-1)).toMatchObject({ method: 'POST', url: '/leaks/revoke' });
  });
});

describe('local gateway, services under prefixes: no resource at the root serves other methods', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ services: true });
  });
  afterAll(() => h?.close());

  it('answers GET /oauth/token with MISSING_AUTHENTICATION_TOKEN (404 not_found) before any authorizer', async () => {
    const response = await fetch(`${h.url}/oauth/token`, { headers: good });
    expect(response.status).toBe(NO_ROUTE.statusCode);
    expect(await response.json()).toEqual(NO_ROUTE.body);
    expect(h.logs.at(-1)).toMatchObject({ path: '/oauth/token', errorType: 'MISSING_AUTHENTICATION_TOKEN' });
    expect(h.authorizerCalls).toEqual([]);
  });

  it("still serves the Tollgate route's own method and the service's paths", async () => {
    expect(await (await fetch(`${h.url}/oauth/token`, { method: 'POST', body: '' })).json()).toEqual({ from: 'token' });
    const response = await fetch(`${h.url}/billing/invoices`, { method: 'PATCH', headers: good });
    expect(response.status).toBe(200);
    expect(h.upstream.requests.at(-1)).toMatchObject({ method: 'PATCH', url: '/invoices' });
  });
});
