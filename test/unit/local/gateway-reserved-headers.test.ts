/**
 * Local mode's gateway sets headers toward the upstream as the stage's integration does
 * (`lib/gateway/routes.ts`): every name it maps (the upstream header set and the method and
 * path overrides) carries Tollgate's value, whatever the client sent under it — any case,
 * repeated lines, comma-separated values — and every other name passes through as sent,
 * as API Gateway passes it. Seen from the echo upstream, with an authorizer that allows
 * everything: what is tested is the gateway alone, which is all that stands between a
 * request answered from the authorizer cache and the upstream.
 */
import fc from 'fast-check';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { RESERVED_HEADER_PREFIX, UpstreamHeader } from '../../../common/gateway-contract';
import { startEcho, type EchoServer } from '../../../local/echo';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway } from '../../../local/gateway';
import { createHandler } from '../../../lambda/authorizer/authorize';
import { AuthorizerTelemetry } from '../../../lambda/authorizer/telemetry';
import { Clock, harness } from '../authorizer/support/fixtures';
import { claims, generateTestKey, signToken } from '../authorizer/support/tokens';

const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };

const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;
const CONTEXT = { clientId: 'acme', scopes: 'orders:read', jti: 'jti-1', keyId: 'key_1', kid: 'kid-1' };
/** What the upstream must see under each name of the set (Service: from the context, which this fake authorizer leaves out). */
const EXPECTED: Record<string, string> = {
  [UpstreamHeader.clientId.toLowerCase()]: 'acme',
  [UpstreamHeader.scopes.toLowerCase()]: 'orders:read',
  [UpstreamHeader.tokenId.toLowerCase()]: 'jti-1',
  [UpstreamHeader.keyId.toLowerCase()]: 'key_1',
  [UpstreamHeader.service.toLowerCase()]: '',
};

const allowAll = async (): Promise<APIGatewayAuthorizerResult> => ({
  principalId: 'acme',
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*/*` }] },
  context: CONTEXT,
});

/** Sends raw header lines in order (a flat [name, value, ...] list, repeats kept; Node adds no Host to such a list), returns what the echo saw. */
function send(port: number, rawHeaders: string[], authorization = 'Bearer any'): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/orders/42', method: 'GET', headers: ['Host', `127.0.0.1:${port}`, 'Authorization', authorization, ...rawHeaders] },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, string> }).headers : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const anyCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const forgedName = fc.constantFrom(...Object.values(UpstreamHeader)).chain(anyCase);
/** Values as a client would forge them, including lists ("a, b") that HTTP treats as several values. */
const forgedValue = fc.stringMatching(/^[a-z0-9:_ ,]{0,24}$/).map((v) => v.trim());

describe("local gateway: the mapped names carry Tollgate's values, as the stage's integration sets them", () => {
  let echo: EchoServer;
  let gateway: LocalGateway;
  let port: number;

  beforeAll(async () => {
    echo = await startEcho();
    const unused = async () => ({ statusCode: 500, body: '' });
    gateway = new LocalGateway({
      handlers: { token: unused, admin: unused, authorizer: allowAll },
      adminToken: 'tga_unused',
      upstreamUrl: echo.url,
      authorizerCacheTtlSeconds: 0,
      writeAccessLog: () => undefined,
    });
    port = await gateway.listen(0);
  });
  afterAll(async () => {
    await gateway.close();
    await echo.close();
  });

  it('sets every name of the upstream header set, and only those, on a request without forged headers', async () => {
    const seen = await send(port, []);
    expect(seen.status).toBe(200);
    const tollgate = Object.fromEntries(Object.entries(seen.headers).filter(([name]) => name.startsWith(RESERVED_HEADER_PREFIX)));
    expect(tollgate).toEqual(EXPECTED);
  });

  it('drops repeated lines, other spellings and comma-separated values of the defined names', async () => {
    const seen = await send(port, [
      'X-Tollgate-Client-Id',
      'forged-1',
      'x-tollgate-client-id',
      'forged-2',
      'X-TOLLGATE-SCOPES',
      'orders:write, admin:all',
      'X-Tollgate-Key-Id',
      'key_other',
      'x-tollgate-service',
      'billing',
      'X-Tollgate-Token-Id',
      'a',
      'X-Tollgate-Token-Id',
      'b',
    ]);
    const tollgate = Object.fromEntries(Object.entries(seen.headers).filter(([name]) => name.startsWith(RESERVED_HEADER_PREFIX)));
    expect(tollgate).toEqual(EXPECTED);
  });

  it("for any set of forged lines of the upstream header set, in any case (property): the upstream sees exactly Tollgate's set", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(forgedName, forgedValue), { minLength: 1, maxLength: 8 }), async (forged) => {
        const seen = await send(port, forged.flat());
        expect(seen.status).toBe(200);
        const tollgate = Object.fromEntries(Object.entries(seen.headers).filter(([name]) => name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)));
        expect(tollgate).toEqual(EXPECTED);
      }),
      { numRuns: 60 },
    );
  });

  it('sets method overrides to the method the authorizer decided on, and empties path overrides', async () => {
    const seen = await send(port, [
      'X-HTTP-Method-Override',
      'DELETE',
      'x-http-method',
      'PUT',
      'X-Method-Override',
      'PATCH',
      'X-Original-URL',
      '/admin/users',
      'x-rewrite-url',
      '/admin',
    ]);
    expect(seen.status).toBe(200);
    expect(seen.headers['x-http-method-override']).toBe('GET');
    expect(seen.headers['x-http-method']).toBe('GET');
    expect(seen.headers['x-method-override']).toBe('GET');
    expect(seen.headers['x-original-url']).toBe('');
    expect(seen.headers['x-rewrite-url']).toBe('');
  });

  it('passes every name it does not map as sent, as API Gateway does: other X-Tollgate-* names and the underscore spellings', async () => {
    // The authorizer refuses these when it decides (reserved-headers.ts); on a request answered
    // from the authorizer cache nothing else stands in their way, in AWS or here (docs/api.md).
    const seen = await send(port, [
      'X-Tollgate-Tenant',
      'other',
      'X_Tollgate_Client_Id',
      'victim',
      'X_HTTP_Method_Override',
      'DELETE',
      'x_original_url',
      '/admin/users',
    ]);
    expect(seen.status).toBe(200);
    expect(seen.headers).toMatchObject({
      'x-tollgate-tenant': 'other',
      x_tollgate_client_id: 'victim',
      x_http_method_override: 'DELETE',
      x_original_url: '/admin/users',
    });
    expect(seen.headers['x-http-method-override']).toBe('GET');
    expect(seen.headers['x-original-url']).toBe('');
    expect(seen.headers[UpstreamHeader.clientId.toLowerCase()]).toBe('acme');
  });
});

describe('local gateway with the real authorizer and its cache on: the cache-hit residual, as in AWS', () => {
  let echo: EchoServer;
  let gateway: LocalGateway;
  let port: number;
  let decisions = 0;
  let bearer = '';

  beforeAll(async () => {
    echo = await startEcho();
    const key = generateTestKey('ES256');
    const clock = new Clock(Date.now());
    const h = await harness([key.record], { clock });
    const authorize = createHandler(h.authorizer, new AuthorizerTelemetry({ log: SILENT, metrics: { publish: () => undefined }, allowLogSampleRate: 0 }));
    const unused = async () => ({ statusCode: 500, body: '' });
    gateway = new LocalGateway({
      handlers: {
        token: unused,
        admin: unused,
        authorizer: (event) => {
          decisions += 1;
          clock.ms = Date.now();
          return authorize(event);
        },
      },
      adminToken: 'tga_unused',
      upstreamUrl: echo.url,
      authorizerCacheTtlSeconds: 60,
      writeAccessLog: () => undefined,
    });
    port = await gateway.listen(0);
    bearer = `Bearer ${signToken(key, claims(Math.floor(clock.ms / 1000)))}`;
  });
  afterAll(async () => {
    await gateway.close();
    await echo.close();
  });

  it('refuses an underscore override when the authorizer decides, and passes it on a cached answer', async () => {
    expect((await send(port, ['X_HTTP_Method_Override', 'DELETE'], bearer)).status).toBe(401);
    expect((await send(port, [], bearer)).status).toBe(200);
    const cached = await send(port, ['X_HTTP_Method_Override', 'DELETE', 'X_Tollgate_Client_Id', 'victim'], bearer);
    expect(decisions).toBe(2);
    expect(cached.status).toBe(200);
    expect(cached.headers).toMatchObject({ x_http_method_override: 'DELETE', x_tollgate_client_id: 'victim', 'x-http-method-override': 'GET' });
  });
});
