/**
 * The token endpoint's request parameters end to end, against DynamoDB Local and the local
 * KMS endpoint: what an empty parameter means (RFC 6749 §3.1) and where credentials may be.
 */
import { describe, expect, it } from 'vitest';
import { basicAuth, formPost } from '../../support/api-events';
import { body, captureLogs, harness, secrets } from './harness';

captureLogs();

const GRANT = { grant_type: 'client_credentials' };

describe('POST /oauth/token: parameters sent without a value are omitted (RFC 6749 §3.1)', () => {
  it('issues for scope=, client_id= and client_secret= beside Basic, and resource=; refuses grant_type= as missing', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const auth = { Authorization: basicAuth('acme', apiKey) };
    const empties: Record<string, string>[] = [
      { scope: '' },
      { client_id: '' },
      { client_secret: '' },
      { resource: '' },
      { scope: '', client_id: '', client_secret: '', resource: '' },
    ];
    for (const fields of empties) {
      const response = await h.exchange('acme', apiKey, { ...GRANT, ...fields });
      expect([JSON.stringify(fields), response.statusCode, response.body]).toEqual([JSON.stringify(fields), 200, expect.any(String)]);
      expect(body(response).scope).toBe('orders:read orders:write');
    }
    const missing = await h.token(formPost('/oauth/token', { grant_type: '' }, auth));
    expect([missing.statusCode, body(missing)]).toEqual([400, { error: 'invalid_request', error_description: 'The grant_type parameter is required.' }]);
    const repeated = await h.token({ ...formPost('/oauth/token', GRANT, auth), body: 'grant_type=client_credentials&scope=&scope=orders:read' });
    expect([repeated.statusCode, body(repeated).error]).toEqual([400, 'invalid_request']);
  });
});

describe('POST /oauth/token and /oauth/revoke: every 401 challenges (RFC 9110 §15.5.2)', () => {
  it('challenges in Basic after form credentials, none or another scheme, and in Bearer (invalid_token) then Basic after a bearer key', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const typo = apiKey.slice(0, 8) + (apiKey[8] === 'A' ? 'B' : 'A') + apiKey.slice(9);
    const BASIC = 'Basic realm="tollgate"';
    const BEARER = `Bearer realm="tollgate", error="invalid_token", ${BASIC}`;
    const cases: Array<[string, Record<string, string>, Record<string, string>, string]> = [
      ['client_secret_post, wrong key', { client_id: 'acme', client_secret: typo }, {}, BASIC],
      ['no credentials', {}, {}, BASIC],
      ['another scheme', {}, { Authorization: 'Digest username="acme"' }, BASIC],
      ['Basic without a value', {}, { Authorization: 'Basic' }, BASIC],
      ['Bearer without a value', {}, { Authorization: 'Bearer' }, BEARER],
      ['Bearer, wrong key', {}, { Authorization: `Bearer ${typo}` }, BEARER],
    ];
    for (const [name, fields, headers, challenge] of cases) {
      for (const path of ['/oauth/token', '/oauth/revoke']) {
        const response = await h.token(formPost(path, { ...(path === '/oauth/token' ? GRANT : { token: 'x' }), ...fields }, headers));
        expect([name, path, response.statusCode, body(response).error, response.headers?.['WWW-Authenticate']]).toEqual([
          name,
          path,
          401,
          'invalid_client',
          challenge,
        ]);
      }
    }
    expect(await h.items('tokens')).toEqual([]);
  });
});

describe('POST /oauth/token: a client_id field beside a bearer API key', () => {
  it('issues when it names the key`s own client, and refuses another client with invalid_request', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    await h.createKey('other');
    const bearer = { Authorization: `Bearer ${apiKey}` };
    const own = await h.token(formPost('/oauth/token', { ...GRANT, client_id: 'acme' }, bearer));
    expect(own.statusCode, own.body).toBe(200);
    secrets.add(String(body(own).access_token));
    const other = await h.token(formPost('/oauth/token', { ...GRANT, client_id: 'other' }, bearer));
    expect([other.statusCode, body(other)]).toEqual([
      400,
      { error: 'invalid_request', error_description: 'client_id in the body does not match the authenticated client.' },
    ]);
    expect(await h.items('tokens')).toHaveLength(1);
  });
});
