/**
 * Issue #15: the token and admin functions with a fault proxy between them and DynamoDB
 * Local / the local KMS endpoint. Every request is answered — 503 `temporarily_unavailable`
 * with `Retry-After` while a dependency hangs, throttles, resets or refuses; the JWKS from
 * its last good set — and service resumes without a restart when the dependency recovers.
 * Bounds are generous (the machine is shared): they prove an answer came, not how fast.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { DependencyBudget } from '../../../common/defaults';
import { EndpointEnv } from '../../../common/names';
import { apiEvent, adminCall, basicAuth, formPost } from '../../support/api-events';
import { dynamoEndpoint, kmsEndpoint } from '../../support/aws';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';
import { body, captureLogs, harness, logLines, type Harness } from './harness';

captureLogs();

/** Far above the 2.5 s budget, far below "hung": the request was answered. */
const ANSWERED_WITHIN_MS = 15_000;

let dynamo: FaultProxy;
let kms: FaultProxy;

beforeAll(async () => {
  [dynamo, kms] = await Promise.all([startFaultProxy(dynamoEndpoint()), startFaultProxy(kmsEndpoint())]);
});
afterEach(async () => {
  await Promise.all([dynamo.pass(), kms.pass()]);
});
afterAll(async () => {
  await Promise.all([dynamo.close(), kms.close()]);
});

function proxied(): Promise<Harness> {
  return harness({ extraEnv: { [EndpointEnv.dynamodb]: dynamo.endpoint, [EndpointEnv.kms]: kms.endpoint } });
}

async function timed(call: () => Promise<APIGatewayProxyResult>): Promise<{ response: APIGatewayProxyResult; ms: number }> {
  const started = performance.now();
  const response = await call();
  return { response, ms: performance.now() - started };
}

function expectRefusedHonestly(response: APIGatewayProxyResult, retryAfter?: string) {
  expect(response.statusCode, response.body).toBe(503);
  expect(body(response)).toMatchObject({ error: 'temporarily_unavailable' });
  expect(response.headers?.['Retry-After']).toMatch(/^[1-9][0-9]*$/);
  if (retryAfter) expect(response.headers?.['Retry-After']).toBe(retryAfter);
}

const JWKS = apiEvent({ method: 'GET', resource: '/.well-known/jwks.json' });
const SERVER_METADATA = apiEvent({ method: 'GET', resource: '/.well-known/oauth-authorization-server' });

describe('DynamoDB hung', () => {
  it('issuance answers 503 + Retry-After instead of hanging, and issues again when DynamoDB is back', async () => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    dynamo.hang();
    const { response, ms } = await timed(() => h.exchange('acme', apiKey));
    expectRefusedHonestly(response);
    expect(ms).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(ms).toBeGreaterThanOrEqual(DependencyBudget.attemptTimeoutMs * 0.9);

    await dynamo.pass();
    h.advance(10);
    expect((await h.exchange('acme', apiKey)).statusCode).toBe(200);
  });

  it('an admin write answers 503 within the budget, and the same write retried after recovery takes effect', async () => {
    const h = await proxied();
    const { key } = await h.createKey('acme');
    const revoke = adminCall('DELETE', '/admin/keys/{keyId}', { keyId: String(key.keyId) });
    dynamo.hang({ only: ['GetItem', 'UpdateItem', 'TransactWriteItems', 'PutItem', 'Query'] });
    const { response, ms } = await timed(() => h.admin(revoke));
    expectRefusedHonestly(response);
    expect(ms).toBeLessThan(ANSWERED_WITHIN_MS);

    await dynamo.pass();
    expect((await h.admin(revoke)).statusCode).toBe(204);
    const [stored] = await h.items('apiKeys');
    expect(stored).toMatchObject({ keyId: key.keyId, status: 'revoked' });
  });

  it('the JWKS serves its last good set while the ring cannot be read, and 503 when it never had one', async () => {
    const h = await proxied();
    const fresh = await h.token(JWKS);
    expect(fresh.statusCode).toBe(200);
    dynamo.hang();
    h.advance(60);
    const { response, ms } = await timed(() => h.token(JWKS));
    expect(response.statusCode, response.body).toBe(200);
    expect(JSON.parse(response.body)).toEqual(JSON.parse(fresh.body));
    expect(response.headers?.['Cache-Control']).toBe('public, max-age=5');
    expect(ms).toBeLessThan(ANSWERED_WITHIN_MS);

    const cold = await proxied();
    const { response: coldResponse } = await timed(() => cold.token(JWKS));
    expectRefusedHonestly(coldResponse);
  });

  it('the authorization server metadata names the last good ring`s algorithms while the ring cannot be read, as the JWKS does', async () => {
    const h = await proxied();
    const fresh = await h.token(SERVER_METADATA);
    expect(fresh.statusCode, fresh.body).toBe(200);
    expect(body(fresh).access_token_signing_alg_values_supported).toEqual(['ES256']);
    dynamo.hang();
    h.advance(60);
    const response = await h.token(SERVER_METADATA);
    expect(response.statusCode, response.body).toBe(200);
    expect(JSON.parse(response.body)).toEqual(JSON.parse(fresh.body));
    expect(response.headers?.['Cache-Control']).toBe('public, max-age=5');

    const cold = await proxied();
    expectRefusedHonestly(await cold.token(SERVER_METADATA));
  });
});

describe('a write whose answer was lost, retried by the SDK', () => {
  it('issues the token: the retried conditional put finds its own record, not a conflict (no 500)', async () => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    dynamo.lose({ only: ['PutItem'], times: 1 });
    const response = await h.exchange('acme', apiKey);
    expect(response.statusCode, response.body).toBe(200);
    expect(await h.items('tokens')).toHaveLength(1);
  });

  /** The audit lines of `action` written since `from` (an index into the captured log). */
  const audited = (action: string, from: number) =>
    logLines
      .slice(from)
      .filter((line) => line.includes('"audit"'))
      .map((line) => JSON.parse(line).audit as Record<string, unknown>)
      .filter((audit) => audit.action === action);

  it("revokes and audits as this request's success: a client's /oauth/revoke, an operator's key, token and client revocation", async () => {
    const h = await proxied();
    const { apiKey, key } = await h.createKey('acme');
    const { access_token: issued } = body(await h.exchange('acme', apiKey)) as { access_token: string };
    const jti = (JSON.parse(Buffer.from(issued.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const { access_token: another } = body(await h.exchange('acme', apiKey)) as { access_token: string };
    const otherJti = (JSON.parse(Buffer.from(another.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const lost = async (action: string, call: () => Promise<APIGatewayProxyResult>, status: number) => {
      const from = logLines.length;
      const before = dynamo.seen.get('UpdateItem') ?? 0;
      dynamo.lose({ only: ['UpdateItem'], times: 1 });
      const response = await call();
      expect(response.statusCode, response.body).toBe(status);
      // The committed write and the SDK's retry of it, whose condition failed.
      expect((dynamo.seen.get('UpdateItem') ?? 0) - before, action).toBeGreaterThanOrEqual(2);
      expect(
        audited(action, from).map((audit) => audit.outcome),
        action,
      ).toEqual(['success']);
      return audited(action, from)[0]!;
    };

    expect(
      await lost('token.revoke_by_client', () => h.token(formPost('/oauth/revoke', { token: issued }, { Authorization: basicAuth('acme', apiKey) })), 200),
    ).toMatchObject({ jti });
    await lost('token.revoke', () => h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: otherJti })), 204);
    await lost('key.revoke', () => h.admin(adminCall('DELETE', '/admin/keys/{keyId}', { keyId: key.keyId as string })), 204);
    await lost('client.revoke', () => h.admin(adminCall('DELETE', '/admin/clients/{clientId}', { clientId: 'acme' })), 204);
    for (const table of ['tokens', 'apiKeys', 'clients'] as const) {
      for (const item of await h.items(table)) expect(item, table).toMatchObject({ status: 'revoked', revocationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    }
  });
});

describe('DynamoDB throttling', () => {
  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    '%s answers 503 with the Retry-After of the throttling backoff, and never a 500',
    async (errorName) => {
      const h = await proxied();
      const { apiKey } = await h.createKey('acme');
      dynamo.fail(errorName);
      expectRefusedHonestly(await h.exchange('acme', apiKey), '4');
      expectRefusedHonestly(await h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: 'tok_x' })), '4');
    },
  );

  it('tried at most maxAttempts times per call: bounded retries, not a retry storm', async () => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    dynamo.fail('ProvisionedThroughputExceededException', { only: ['GetItem'] });
    const before = dynamo.seen.get('GetItem') ?? 0;
    expectRefusedHonestly(await h.exchange('acme', apiKey));
    // Two GetItems per exchange, made concurrently (the API key and its client), each tried at most maxAttempts times.
    expect((dynamo.seen.get('GetItem') ?? 0) - before).toBeLessThanOrEqual(2 * DependencyBudget.maxAttempts);
  });
});

describe('connection reset and refused', () => {
  it('a reset connection and a refused one answer 503, and service resumes when DynamoDB listens again', async () => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    dynamo.reset();
    expectRefusedHonestly(await h.exchange('acme', apiKey));
    await dynamo.refuse();
    h.advance(10);
    expectRefusedHonestly(await h.exchange('acme', apiKey));
    await dynamo.pass();
    h.advance(10);
    expect((await h.exchange('acme', apiKey)).statusCode).toBe(200);
  });
});

describe('Lambda during a rotate', () => {
  it('a throttled rotation invoke answers 503 + Retry-After, not 502 rotation_failed', async () => {
    const lambda = await startFaultProxy('http://127.0.0.1:9');
    try {
      const h = await harness({ lambdaEndpoint: lambda.endpoint, extraEnv: { [EndpointEnv.dynamodb]: dynamo.endpoint } });
      lambda.fail('TooManyRequestsException', { status: 429 });
      expectRefusedHonestly(await h.admin(adminCall('POST', '/admin/signing-keys/rotate', {}, {})));
      // One attempt only: a retried Invoke would run the rotation again.
      expect(lambda.seen.get('')).toBe(1);
    } finally {
      await lambda.close();
    }
  });
});

describe('KMS during issuance', () => {
  it('KMS throttling answers 503 with the throttling Retry-After; issuance resumes when it stops', async () => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    kms.fail('ThrottlingException', { only: ['Sign'] });
    expectRefusedHonestly(await h.exchange('acme', apiKey), '4');
    expect(h.metrics.get('TokenIssuanceErrors')).toBe(1);
    await kms.pass();
    expect((await h.exchange('acme', apiKey)).statusCode).toBe(200);
  });

  it.each(['DisabledException', 'KMSInvalidStateException'])('a signing key KMS refuses (%s) answers 503, not 500', async (errorName) => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    kms.fail(errorName, { only: ['Sign'] });
    expectRefusedHonestly(await h.exchange('acme', apiKey));
    expect(await h.items('tokens')).toEqual([]);
  });

  it('KMS hung answers 503 within the budget', async () => {
    const h = await proxied();
    const { apiKey } = await h.createKey('acme');
    kms.hang();
    const { response, ms } = await timed(() => h.exchange('acme', apiKey));
    expectRefusedHonestly(response);
    expect(ms).toBeLessThan(ANSWERED_WITHIN_MS);
  });
});
