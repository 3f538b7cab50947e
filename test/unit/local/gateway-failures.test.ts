/**
 * The local gateway's own failures answer as the deployed stage's generic gateway responses
 * (DEFAULT_4XX / DEFAULT_5XX bodies, API Gateway's status), never with internal details.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { GATEWAY_FAILURE, GATEWAY_REJECTED } from '../../../common/gateway-responses';
import { LocalGateway } from '../../../local/gateway';
import { LOCAL_API } from '../../../local/events';
import { closedPortUrl } from '../../support/http-stub';

const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;

describe('local gateway failures', () => {
  let gateway: LocalGateway;
  let url: string;
  const logs: string[] = [];

  beforeAll(async () => {
    const allow = async (): Promise<APIGatewayAuthorizerResult> => ({
      principalId: 'acme',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*` }] },
      context: { clientId: 'acme', scopes: 'orders:read', jti: 'jti-1', keyId: 'key_1', kid: 'kid-1' },
    });
    const unused = async () => ({ statusCode: 500, body: '' });
    gateway = new LocalGateway({
      handlers: { token: unused, admin: unused, authorizer: allow },
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
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual(GATEWAY_FAILURE.body);
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(logs.some((line) => line.includes('"gateway_failure"') && line.includes('ECONNREFUSED'))).toBe(true);
  });

  it('answers 413 with the generic invalid_request body for a body over API Gateway\'s 10 MB', async () => {
    const response = await fetch(`${url}/orders`, { method: 'POST', headers: { Authorization: 'Bearer any' }, body: Buffer.alloc(10 * 1024 * 1024 + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(GATEWAY_REJECTED.body);
  });
});
