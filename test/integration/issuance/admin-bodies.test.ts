/**
 * Routes that take no parameters (the revocations, resume, rotate) read their body as every
 * route does: strict, so anything but `{}` or no body is 400 `invalid_request` and changes
 * nothing. A JSON `null` is no body of any route.
 */
import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { adminCall, apiEvent } from '../../support/api-events';
import { body, captureLogs, harness, type Harness } from './harness';

captureLogs();

const KEY = '/admin/keys/{keyId}';
const CLIENT = '/admin/clients/{clientId}';

function expectInvalid(response: APIGatewayProxyResult) {
  expect(response.statusCode, response.body).toBe(400);
  expect(body(response)).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
}

async function snapshot(h: Harness) {
  return { apiKeys: await h.items('apiKeys'), clients: await h.items('clients'), tokens: await h.items('tokens') };
}

const textBody = (method: string, resource: string, pathParameters: Record<string, string>, text: string) =>
  apiEvent({ method, resource, pathParameters, body: text, headers: { 'Content-Type': 'text/plain' } });

describe('a body sent to a route that takes none', () => {
  it('is refused 400 invalid_request, changing nothing: unknown fields, text, garbage, null', async () => {
    const h = await harness({ seedKey: false });
    const { key } = await h.createKey('acme');
    const keyId = String(key.keyId);
    const before = await snapshot(h);

    const resumeClient = await h.admin(adminCall('POST', `${CLIENT}/resume`, { clientId: 'acme' }, { until: 'never', anything: [1] }));
    expectInvalid(resumeClient);
    expect(String(body(resumeClient).error_description)).toMatch(/until/);
    expectInvalid(await h.admin(textBody('POST', `${KEY}/resume`, { keyId }, 'this is not json')));
    expectInvalid(await h.admin(adminCall('DELETE', KEY, { keyId }, { reason: 'leaked' })));
    expectInvalid(await h.admin(adminCall('DELETE', CLIENT, { clientId: 'acme' }, 'garbage')));
    expectInvalid(await h.admin(textBody('DELETE', CLIENT, { clientId: 'acme' }, 'garbage')));
    expectInvalid(await h.admin(adminCall('DELETE', '/admin/tokens/{jti}', { jti: 'a'.repeat(22) }, { all: true })));
    expectInvalid(await h.admin(adminCall('POST', `${KEY}/roll`, { keyId }, 'null')));
    expectInvalid(await h.admin(adminCall('POST', `${CLIENT}/resume`, { clientId: 'acme' }, 'null')));
    expect(await snapshot(h)).toEqual(before);
  });

  it('is accepted when it is `{}` or absent, as the CLI sends them', async () => {
    const h = await harness({ seedKey: false });
    const { key } = await h.createKey('acme');
    const { key: other } = await h.createKey('acme');
    expect((await h.admin(adminCall('POST', `${CLIENT}/resume`, { clientId: 'acme' }, {}))).statusCode).toBe(200);
    expect((await h.admin(adminCall('POST', `${KEY}/resume`, { keyId: String(key.keyId) }))).statusCode).toBe(200);
    expect((await h.admin(adminCall('DELETE', KEY, { keyId: String(key.keyId) }, {}))).statusCode).toBe(204);
    expect((await h.admin(adminCall('POST', `${KEY}/roll`, { keyId: String(other.keyId) }))).statusCode).toBe(201);
    expect((await h.admin(adminCall('DELETE', CLIENT, { clientId: 'acme' }))).statusCode).toBe(204);
  });
});
