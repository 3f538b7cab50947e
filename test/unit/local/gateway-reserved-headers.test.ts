/**
 * Issue #14 finding 6, local mode: no client-supplied `X-Tollgate-*` header reaches the
 * upstream — any case, repeated header lines, comma-separated values — and every name of
 * the upstream header set carries Tollgate's value. Seen from the echo upstream, with an
 * authorizer that allows everything (so what is tested is the gateway's own stripping,
 * which is what protects a request answered from the authorizer cache).
 */
import fc from 'fast-check';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { RESERVED_HEADER_PREFIX, UpstreamHeader } from '../../../common/gateway-contract';
import { startEcho, type EchoServer } from '../../../local/echo';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway } from '../../../local/gateway';

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
function send(port: number, rawHeaders: string[]): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/orders/42', method: 'GET', headers: ['Host', `127.0.0.1:${port}`, 'Authorization', 'Bearer any', ...rawHeaders] },
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
const forgedName = fc.oneof(
  fc.constantFrom(...Object.values(UpstreamHeader)).chain(anyCase),
  fc.tuple(anyCase(RESERVED_HEADER_PREFIX), fc.stringMatching(/^[A-Za-z0-9-]{1,16}$/)).map(([p, s]) => p + s),
);
/** Values as a client would forge them, including lists ("a, b") that HTTP treats as several values. */
const forgedValue = fc.stringMatching(/^[a-z0-9:_ ,]{0,24}$/).map((v) => v.trim());

describe('local gateway: client X-Tollgate-* headers never reach the upstream', () => {
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

  it("for any set of forged X-Tollgate-* lines (property): the upstream sees exactly Tollgate's set", async () => {
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

  it('drops the underscore spellings of the set and of the overrides, which CGI-style upstreams read as the same headers', async () => {
    const seen = await send(port, [
      'X_Tollgate_Client_Id',
      'victim',
      'X_HTTP_Method_Override',
      'DELETE',
      'x_original_url',
      '/admin/users',
      'X_Rewrite-URL',
      '/admin',
    ]);
    expect(seen.status).toBe(200);
    expect(Object.keys(seen.headers).filter((name) => name.includes('_'))).toEqual([]);
    expect(seen.headers['x-http-method-override']).toBe('GET');
    expect(seen.headers['x-original-url']).toBe('');
    expect(seen.headers[UpstreamHeader.clientId.toLowerCase()]).toBe('acme');
  });
});
