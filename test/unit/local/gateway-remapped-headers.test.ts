/**
 * API Gateway REST renames `WWW-Authenticate` in an integration's answer, a Lambda
 * function's and an HTTP upstream's alike, to `x-amzn-Remapped-WWW-Authenticate`; the local
 * gateway does the same (docs/api.md#what-the-upstream-receives-upstream-contract), so a client
 * tested locally sees the header name it gets in AWS. The challenges the gateway renders itself
 * keep their name (`gateway-no-store.test.ts`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway } from '../../../local/gateway';

const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;
const CHALLENGE = 'Bearer realm="upstream", error="invalid_token"';

async function allowAll(): Promise<APIGatewayAuthorizerResult> {
  return {
    principalId: 'acme',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*` }] },
    context: { clientId: 'acme' },
  };
}

describe('local gateway: headers API Gateway renames in an integration answer', () => {
  let upstream: Server;
  let gateway: LocalGateway;
  let url: string;

  beforeAll(async () => {
    upstream = createServer((_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': CHALLENGE, 'Content-Type': 'text/plain', 'X-Upstream': 'kept' });
      res.end('no');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const token = async () => ({
      statusCode: 401,
      headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="tollgate"', 'Cache-Control': 'no-store' },
      body: JSON.stringify({ error: 'invalid_client' }),
    });
    gateway = new LocalGateway({
      handlers: { token, admin: token, authorizer: allowAll },
      adminToken: 'tga_test-admin-token',
      upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      authorizerCacheTtlSeconds: 0,
      writeAccessLog: () => undefined,
    });
    url = `http://127.0.0.1:${await gateway.listen(0)}`;
  });
  afterAll(async () => {
    await gateway.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it("renames a Lambda function's WWW-Authenticate and passes its other headers", async () => {
    const response = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.headers.get('x-amzn-remapped-www-authenticate')).toBe('Basic realm="tollgate"');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it("renames an upstream's WWW-Authenticate and passes its other headers", async () => {
    const response = await fetch(`${url}/orders/1`, { headers: { Authorization: 'Bearer any' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.headers.get('x-amzn-remapped-www-authenticate')).toBe(CHALLENGE);
    expect(response.headers.get('x-upstream')).toBe('kept');
  });
});
