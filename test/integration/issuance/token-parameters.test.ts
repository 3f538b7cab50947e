/**
 * The token endpoint's request parameters end to end, against DynamoDB Local and the local
 * KMS endpoint: what an empty parameter means (RFC 6749 §3.1) and where credentials may be.
 */
import { describe, expect, it } from 'vitest';
import { apiEvent, basicAuth, formPost } from '../../support/api-events';
import { body, captureLogs, harness, logLines, secrets } from './harness';

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

describe('POST /oauth/token and /oauth/revoke: credentials in the query string (RFC 6749 §2.3.1)', () => {
  it('refuses client_secret or an API key anywhere in the query with invalid_request, never repeating the key, and issues nothing', async () => {
    const h = await harness();
    const { apiKey, key } = await h.createKey('acme');
    const post = (resource: string, query: Record<string, string>, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      apiEvent({
        method: 'POST',
        resource,
        query,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
      });
    const auth = { Authorization: basicAuth('acme', apiKey) };
    // The audit line names the exposed key by its id, when the secret was a well-formed key.
    const cases: Array<[string, Record<string, string>, Record<string, string>, string | undefined]> = [
      ['client_id and client_secret', { client_id: 'acme', client_secret: apiKey }, {}, String(key.keyId)],
      ['client_secret alone, not a key', { client_secret: 'hunter2' }, auth, undefined],
      ['a key under another name', { key: apiKey }, auth, String(key.keyId)],
      ['a key as a name', { [apiKey]: '' }, auth, String(key.keyId)],
    ];
    const actions = { '/oauth/token': 'token.issue', '/oauth/revoke': 'token.revoke_by_client' } as const;
    for (const [name, query, headers, keyId] of cases) {
      for (const resource of ['/oauth/token', '/oauth/revoke'] as const) {
        const before = logLines.length;
        const response = await h.token(post(resource, query, resource === '/oauth/token' ? GRANT : { token: 'x' }, headers));
        expect([name, resource, response.statusCode, body(response).error]).toEqual([name, resource, 400, 'invalid_request']);
        expect(body(response).error_description).toMatch(/never go in the URL.*roll or revoke that key/);
        expect(response.body).not.toContain(apiKey);
        const audits = logLines
          .slice(before)
          .filter((line) => line.includes('"audit"'))
          .map((line) => (JSON.parse(line) as { audit: Record<string, unknown> }).audit);
        expect([name, resource, audits]).toEqual([
          name,
          resource,
          [{ action: actions[resource], outcome: 'failure', reason: 'invalid_request:credentials_in_url', ...(keyId === undefined ? {} : { keyId }) }],
        ]);
      }
    }
    expect(await h.items('tokens')).toEqual([]);
    // Other query parameters are still ignored.
    const ignored = await h.token(post('/oauth/token', { client_id: 'acme', trace: '1' }, GRANT, auth));
    expect(ignored.statusCode, ignored.body).toBe(200);
    secrets.add(String(body(ignored).access_token));
  });
});
