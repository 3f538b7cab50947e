/**
 * Every answer the local gateway makes itself is an error, and every error carries
 * `Cache-Control: no-store` and `Pragma: no-cache` (docs/api.md), next to the headers its
 * refusal already has (`WWW-Authenticate`, `Retry-After`). One gateway, one request per kind
 * of refusal: a fake authorizer and usage verdicts of our own interfaces pick the refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway, type GatewayOptions } from '../../../local/gateway';
import type { UsageVerdict } from '../../../local/usage-limiter';
import { closedPortUrl } from '../../support/http-stub';
import { INSUFFICIENT_SCOPE } from '../../../common/gateway-responses';
import { SuspensionContextKey } from '../../../common/usage';

const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;

/** Bearer <name>: `boom` crashes, `deny` gets a policy without the route, any other known name is allowed with itself as usage key. */
async function authorizer(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const name = (event.headers?.Authorization ?? '').replace('Bearer ', '');
  if (name === 'boom') throw new TypeError('authorizer crashed');
  if (name === 'suspended') {
    // The authorizer's Deny of a suspended client (lambda/core/authorizer/authorizer.ts).
    return {
      principalId: name,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: `${ARN_PREFIX}/GET/orders/1` }] },
      context: { [SuspensionContextKey.refusal]: 'quota_exceeded', [SuspensionContextKey.retryAfter]: '30' },
    };
  }
  if (!['deny', 'ok', 'throttled', 'quota', 'unbound'].includes(name)) throw new Error('Unauthorized');
  const resource = name === 'deny' ? `${ARN_PREFIX}/GET/somewhere-else` : `${ARN_PREFIX}/*`;
  return {
    principalId: name,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }] },
    context: { clientId: name },
    usageIdentifierKey: name,
  };
}

const VERDICTS: Record<string, UsageVerdict> = {
  ok: { outcome: 'allow' },
  throttled: { outcome: 'throttled', retryAfterSeconds: 2 },
  quota: { outcome: 'quota_exceeded', retryAfterSeconds: 60 },
};

const bearer = (name: string): RequestInit => ({ headers: { Authorization: `Bearer ${name}` } });

interface Case {
  readonly path: string;
  readonly init: RequestInit;
  readonly status: number;
  readonly error: string;
  /** Headers the refusal has besides Content-Type and the no-store pair. */
  readonly kept?: Readonly<Record<string, string>>;
}

const CASES: ReadonlyArray<readonly [string, Case]> = [
  ['an admin route without the admin token', { path: '/admin/keys/key_1', init: {}, status: 401, error: 'unauthorized' }],
  ['no access token', { path: '/orders/1', init: {}, status: 401, error: 'invalid_token', kept: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }],
  [
    'an invalid access token',
    { path: '/orders/1', init: bearer('nope'), status: 401, error: 'invalid_token', kept: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } },
  ],
  [
    'a policy without the route',
    { path: '/orders/1', init: bearer('deny'), status: 403, error: 'insufficient_scope', kept: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' } },
  ],
  [
    // ACCESS_DENIED answers every Deny on AWS, with its static headers: the scope refusal's challenge too.
    'a suspended client',
    { path: '/orders/1', init: bearer('suspended'), status: 403, error: 'quota_exceeded', kept: { 'Retry-After': '30', ...INSUFFICIENT_SCOPE.headers } },
  ],
  ['a usage key no plan holds', { path: '/orders/1', init: bearer('unbound'), status: 403, error: 'forbidden' }],
  ['a throttled client', { path: '/orders/1', init: bearer('throttled'), status: 429, error: 'too_many_requests', kept: { 'Retry-After': '2' } }],
  ['a client over its quota', { path: '/orders/1', init: bearer('quota'), status: 429, error: 'quota_exceeded', kept: { 'Retry-After': '60' } }],
  ['a crashing authorizer', { path: '/orders/1', init: bearer('boom'), status: 503, error: 'temporarily_unavailable' }],
  ['an unreachable upstream', { path: '/orders/1', init: bearer('ok'), status: 502, error: 'server_error' }],
  [
    'a body over 10 MB',
    { path: '/orders/1', init: { ...bearer('ok'), method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1) }, status: 413, error: 'invalid_request' },
  ],
  ['headers over 16 KiB', { path: '/orders/1', init: { headers: { 'X-Big': 'x'.repeat(17 * 1024) } }, status: 431, error: 'invalid_request' }],
];

/** A gateway over the fake authorizer and verdicts, the upstream a closed port; `options` adds to it. */
async function startGateway(options: Partial<GatewayOptions> = {}): Promise<{ gateway: LocalGateway; url: string }> {
  const unused = async () => ({ statusCode: 200, body: '' });
  const gateway = new LocalGateway({
    handlers: { token: unused, admin: unused, authorizer },
    adminToken: 'tga_test',
    upstreamUrl: await closedPortUrl(),
    authorizerCacheTtlSeconds: 0,
    writeAccessLog: () => undefined,
    ...options,
  });
  return { gateway, url: `http://127.0.0.1:${await gateway.listen(0)}` };
}

/** An error the gateway made: JSON, never stored by a cache. */
async function expectNoStoreError(response: Response, error: string): Promise<void> {
  expect(await response.json()).toMatchObject({ error });
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('pragma')).toBe('no-cache');
  expect(response.headers.get('content-type')).toBe('application/json');
}

describe('local gateway: every error it answers itself is marked no-store', () => {
  let gateway: LocalGateway;
  let url: string;

  beforeAll(async () => {
    ({ gateway, url } = await startGateway({ usage: { admit: (key) => VERDICTS[key ?? ''] ?? { outcome: 'invalid_key' } } }));
  });
  afterAll(() => gateway.close());

  it.each(CASES)('%s', async (_, { path, init, status, error, kept = {} }) => {
    const response = await fetch(`${url}${path}`, init);
    expect(response.status).toBe(status);
    await expectNoStoreError(response, error);
    for (const [name, value] of Object.entries(kept)) expect(response.headers.get(name), name).toBe(value);
  });
});

describe('local gateway: MISSING_AUTHENTICATION_TOKEN is marked no-store too', () => {
  let gateway: LocalGateway;
  let url: string;

  beforeAll(async () => {
    // Services under prefixes: the root has no resource of theirs, so a request no resource serves exists.
    ({ gateway, url } = await startGateway({ services: [{ pathPrefix: '/billing', stripPrefix: true, upstreamUrl: await closedPortUrl() }] }));
  });
  afterAll(() => gateway.close());

  it.each(['/elsewhere', '/oauth/token'])('GET %s', async (path) => {
    const response = await fetch(`${url}${path}`);
    expect(response.status).toBe(404);
    await expectNoStoreError(response, 'not_found');
  });
});
