import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { Defaults, Limits } from '../../../common/defaults';
import { Metric } from '../../../common/metrics';
import { SigningKeyState } from '../../../common/signing-key-items';
import { TOKEN_RECORD_GRACE_SECONDS } from '../../../common/credential-items';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import { planRing } from '../../../lambda/core/rotation/key-ring';
import { DEFAULT_TIMING } from '../../unit/rotation/fakes';
import { apiEvent, basicAuth, formPost } from '../../support/api-events';
import { kmsClient } from '../../support/aws';
import { seedSigningKey } from '../../support/signing-keys';
import { body, captureLogs, harness, ISSUER, logLines, secrets, type Harness } from './harness';
import * as Setting from '../../../common/settings';

captureLogs();

const GRANT = { grant_type: 'client_credentials' };

async function jwks(h: Harness): Promise<JSONWebKeySet> {
  const response = await h.token(apiEvent({ method: 'GET', resource: '/.well-known/jwks.json' }));
  expect(response.statusCode).toBe(200);
  expect(response.headers?.['Cache-Control']).toBe(`public, max-age=${Defaults.jwksMaxAgeSeconds}`);
  return JSON.parse(response.body) as JSONWebKeySet;
}

function expectOAuthError(response: APIGatewayProxyResult, status: number, error: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(body(response)).toEqual({ error, error_description: expect.any(String) });
  expect(response.headers?.['Content-Type']).toBe('application/json');
}

describe('POST /oauth/token against DynamoDB Local and the local KMS endpoint', () => {
  it.each(['ECC_NIST_P256', 'RSA_2048'] as const)('issues a %s-signed JWT that jose verifies with the published JWKS', async (keySpec) => {
    const h = await harness({ keySpec });
    const { apiKey, key } = await h.createKey('acme');
    const response = await h.exchange('acme', apiKey);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const issued = body(response) as { access_token: string; token_type: string; expires_in: number; scope: string };
    expect(issued).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope: 'orders:read orders:write' });

    const set = await jwks(h);
    expect(set.keys[0]).toMatchObject({ use: 'sig', alg: keySpec === 'RSA_2048' ? 'RS256' : 'ES256', kid: expect.any(String) });
    const { payload, protectedHeader } = await jwtVerify(issued.access_token, createLocalJWKSet(set), {
      issuer: ISSUER,
      audience: Setting.audience.default,
      typ: 'at+jwt',
      currentDate: new Date(h.nowSeconds() * 1000),
    });
    expect(protectedHeader.kid).toBe(set.keys[0]!.kid);
    expect(payload).toMatchObject({ sub: 'acme', client_id: 'acme', cid: key.keyId, scope: 'orders:read orders:write', exp: h.nowSeconds() + 900 });

    const tokens = await h.items('tokens');
    expect(tokens).toEqual([
      {
        jti: payload.jti,
        clientId: 'acme',
        keyId: key.keyId,
        kid: protectedHeader.kid,
        scope: 'orders:read orders:write',
        iat: h.nowSeconds(),
        exp: h.nowSeconds() + 900,
        status: 'active',
        purgeAt: h.nowSeconds() + 900 + TOKEN_RECORD_GRACE_SECONDS,
      },
    ]);
    expect(Object.fromEntries(h.metrics)).toEqual({ [Metric.tokensIssued]: 1 });
  });

  it('authenticates with client_secret_post and with a bearer API key, and narrows scope', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const post = await h.token(formPost('/oauth/token', { ...GRANT, client_id: 'acme', client_secret: apiKey, scope: 'orders:read' }));
    expect(post.statusCode, post.body).toBe(200);
    expect(body(post).scope).toBe('orders:read');
    const bearer = await h.token(formPost('/oauth/token', GRANT, { authorization: `Bearer ${apiKey}` }));
    expect(bearer.statusCode, bearer.body).toBe(200);
    secrets.add(String(body(post).access_token)).add(String(body(bearer).access_token));
  });

  it('handles a base64-encoded body as API Gateway delivers binary media', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const response = await h.token(
      apiEvent({
        method: 'POST',
        resource: '/oauth/token',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basicAuth('acme', apiKey) },
        body: 'grant_type=client_credentials&scope=orders%3Awrite',
        base64: true,
      }),
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(body(response).scope).toBe('orders:write');
    secrets.add(String(body(response).access_token));
  });

  it('refuses an unknown (well-formed) key, a revoked key and an expired key with the same invalid_client', async () => {
    const h = await harness();
    const { apiKey: live } = await h.createKey('acme');
    const { apiKey: revoked, key: revokedKey } = await h.createKey('acme');
    const { apiKey: expiring } = await h.createKey('acme', { scopes: ['orders:read'], expiresInDays: 1 });
    const { generateApiKey } = await import('../../../lambda/core/credentials/api-keys');
    const unknown = generateApiKey().apiKey;
    secrets.add(unknown);
    const revoke = await h.admin(apiEvent({ method: 'DELETE', resource: '/admin/keys/{keyId}', pathParameters: { keyId: String(revokedKey.keyId) } }));
    expect(revoke.statusCode).toBe(204);
    h.advance(86_400);

    const descriptions = new Set<unknown>();
    for (const key of [unknown, revoked, expiring]) {
      const response = await h.exchange('acme', key);
      expectOAuthError(response, 401, 'invalid_client');
      expect(response.headers?.['WWW-Authenticate']).toBe('Basic realm="tollgate"');
      descriptions.add(body(response).error_description);
    }
    expect(descriptions.size).toBe(1);
    expect(await h.items('tokens')).toEqual([]);
    // Refused clients are the service working, not issuance errors.
    expect(Object.fromEntries(h.metrics)).toEqual({});
    expect((await h.exchange('acme', live)).statusCode).toBe(200);
  });

  it('challenges a failed header authentication in the scheme the client used (RFC 6749 §5.2); client_secret_post in Basic', async () => {
    const h = await harness();
    const { apiKey, key } = await h.createKey('acme');
    const revoke = await h.admin(apiEvent({ method: 'DELETE', resource: '/admin/keys/{keyId}', pathParameters: { keyId: String(key.keyId) } }));
    expect(revoke.statusCode).toBe(204);
    const typo = apiKey.slice(0, 8) + (apiKey[8] === 'A' ? 'B' : 'A') + apiKey.slice(9);
    const BEARER = 'Bearer realm="tollgate", error="invalid_token", Basic realm="tollgate"';
    const cases: Array<[string, Record<string, string>, Record<string, string>, string]> = [
      ['Basic, revoked key', GRANT, { Authorization: basicAuth('acme', apiKey) }, 'Basic realm="tollgate"'],
      ['Bearer, revoked key', GRANT, { Authorization: `Bearer ${apiKey}` }, BEARER],
      ['Bearer, bad checksum', GRANT, { Authorization: `Bearer ${typo}` }, BEARER],
      ['Bearer, not an API key', GRANT, { Authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' }, BEARER],
      ['client_secret_post, revoked key', { ...GRANT, client_id: 'acme', client_secret: apiKey }, {}, 'Basic realm="tollgate"'],
    ];
    for (const [name, fields, headers, challenge] of cases) {
      for (const path of ['/oauth/token', '/oauth/revoke']) {
        const response = await h.token(formPost(path, path === '/oauth/token' ? fields : { ...fields, token: 'x' }, headers));
        expectOAuthError(response, 401, 'invalid_client');
        expect([name, path, response.headers?.['WWW-Authenticate']]).toEqual([name, path, challenge]);
      }
    }
  });

  it('refuses a key of a revoked client and a key presented for another client', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    await h.createKey('other');
    expectOAuthError(await h.exchange('other', apiKey), 401, 'invalid_client');
    expect((await h.admin(apiEvent({ method: 'DELETE', resource: '/admin/clients/{clientId}', pathParameters: { clientId: 'acme' } }))).statusCode).toBe(204);
    expectOAuthError(await h.exchange('acme', apiKey), 401, 'invalid_client');
    expect(await h.items('tokens')).toEqual([]);
  });

  it('answers every error row of the contract with its status and code, changing nothing', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const before = { apiKeys: await h.items('apiKeys'), clients: await h.items('clients') };
    const typo = apiKey.slice(0, 8) + (apiKey[8] === 'A' ? 'B' : 'A') + apiKey.slice(9);
    const auth = { Authorization: basicAuth('acme', apiKey) };
    const cases: Array<[string, ReturnType<typeof formPost>, number, string]> = [
      ['bad checksum', formPost('/oauth/token', GRANT, { Authorization: basicAuth('acme', typo) }), 401, 'invalid_client'],
      ['no credentials', formPost('/oauth/token', GRANT), 401, 'invalid_client'],
      ['post with a wrong secret', formPost('/oauth/token', { ...GRANT, client_id: 'acme', client_secret: typo }), 401, 'invalid_client'],
      ['wider scope', formPost('/oauth/token', { ...GRANT, scope: 'orders:read admin' }, auth), 400, 'invalid_scope'],
      ['malformed scope', formPost('/oauth/token', { ...GRANT, scope: 'a"b' }, auth), 400, 'invalid_scope'],
      ['another grant', formPost('/oauth/token', { grant_type: 'password' }, auth), 400, 'unsupported_grant_type'],
      ['no grant_type', formPost('/oauth/token', {}, auth), 400, 'invalid_request'],
      ['two methods', formPost('/oauth/token', { ...GRANT, client_id: 'acme', client_secret: apiKey }, auth), 400, 'invalid_request'],
      [
        'repeated parameter',
        { ...formPost('/oauth/token', GRANT, auth), body: 'grant_type=client_credentials&grant_type=client_credentials' },
        400,
        'invalid_request',
      ],
      [
        'JSON body',
        { ...formPost('/oauth/token', GRANT, auth), headers: { ...auth, 'Content-Type': 'application/json' }, body: '{"grant_type":"client_credentials"}' },
        400,
        'invalid_request',
      ],
      [
        'oversized body',
        { ...formPost('/oauth/token', GRANT, auth), body: `grant_type=client_credentials&pad=${'x'.repeat(Limits.maxRequestBodyBytes)}` },
        400,
        'invalid_request',
      ],
    ];
    for (const [name, event, status, error] of cases) {
      const response = await h.token(event);
      expect([name, response.statusCode, body(response).error]).toEqual([name, status, error]);
      expect(response.headers?.['Cache-Control']).toBe('no-store');
    }
    const postChallenge = await h.token(formPost('/oauth/token', { ...GRANT, client_id: 'acme', client_secret: typo }));
    expect(postChallenge.headers?.['WWW-Authenticate']).toBe('Basic realm="tollgate"');
    expect(await h.items('tokens')).toEqual([]);
    expect({ apiKeys: await h.items('apiKeys'), clients: await h.items('clients') }).toEqual(before);
  });

  it('answers 404/405 JSON for other paths and methods when invoked directly (through the gateway a wrong method is 404 before the function runs)', async () => {
    const h = await harness({ seedKey: false });
    expectOAuthError(await h.token(apiEvent({ method: 'GET', resource: '/oauth/token' })), 405, 'method_not_allowed');
    expectOAuthError(await h.token(apiEvent({ method: 'GET', resource: '/oauth/other' })), 404, 'not_found');
  });

  it('returns 503 temporarily_unavailable with Retry-After when no key is active or KMS cannot sign', async () => {
    const h = await harness({ seedKey: false });
    const { apiKey } = await h.createKey('acme');
    await seedSigningKey(h.tables, kmsClient(), { state: SigningKeyState.Pending, nowSeconds: h.nowSeconds() });
    const pendingOnly = await h.exchange('acme', apiKey);
    expectOAuthError(pendingOnly, 503, 'temporarily_unavailable');
    expect(pendingOnly.headers?.['Retry-After']).toBe('5');

    const store = new DynamoSigningKeyStore(h.tables.doc, h.tables.names.signingKeys);
    const [pending] = await store.load();
    await store.put({
      ...pending!,
      kid: 'gone',
      state: SigningKeyState.Active,
      kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000',
    });
    h.advance(10);
    expectOAuthError(await h.exchange('acme', apiKey), 503, 'temporarily_unavailable');
    expect(await h.items('tokens')).toEqual([]);
    expect(Object.fromEntries(h.metrics)).toEqual({ [Metric.issuanceErrors]: 2 });
  });

  it('answers 503 temporarily_unavailable with Retry-After while a compromise has left the ring without an active key', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    expect((await h.exchange('acme', apiKey)).statusCode).toBe(200);
    const store = new DynamoSigningKeyStore(h.tables.doc, h.tables.names.signingKeys);
    const [active] = await store.load();
    await store.put({ ...active!, kid: 'retiring', state: SigningKeyState.Retiring, retiringAt: h.nowSeconds(), verifyUntil: h.nowSeconds() + 3_600 });
    // The compromise as the rotation function writes it when no new key can be made: planned, checked and committed alone.
    const plan = planRing(await store.snapshot(), { kind: 'compromised', kid: active!.kid }, h.nowSeconds(), DEFAULT_TIMING);
    expect(plan.transition.activeKid).toBeUndefined();
    await store.commit(plan.transition);

    h.advance(10);
    const refused = await h.exchange('acme', apiKey);
    expectOAuthError(refused, 503, 'temporarily_unavailable');
    expect(refused.headers?.['Retry-After']).toBe('5');
    expect((await jwks(h)).keys.map((key) => key.kid)).toEqual(['retiring']);
    expect(await h.items('tokens')).toHaveLength(1);
  });

  it('publishes the JWKS without a ring record whose key material does not parse, and logs its kid', async () => {
    const h = await harness();
    const store = new DynamoSigningKeyStore(h.tables.doc, h.tables.names.signingKeys);
    const [good] = await store.load();
    await store.put({ ...good!, kid: 'broken-der', state: SigningKeyState.Pending, publicKey: Buffer.from('not a key').toString('base64') });
    await store.put({ ...good!, kid: 'broken-empty', state: SigningKeyState.Retiring, verifyUntil: h.nowSeconds() + 3600, publicKey: '' });
    const linesBefore = logLines.length;
    const set = await jwks(h);
    expect(set.keys.map((key) => key.kid)).toEqual([good!.kid]);
    const warnings = logLines.slice(linesBefore).filter((line) => line.includes('"WARN"'));
    expect(warnings.map((line) => (JSON.parse(line) as { details: { kid: string } }).details.kid).sort()).toEqual(['broken-der', 'broken-empty']);
    // Tokens still verify with what is published.
    const { apiKey } = await h.createKey('acme');
    const issued = String(body(await h.exchange('acme', apiKey)).access_token);
    await expect(jwtVerify(issued, createLocalJWKSet(set), { issuer: ISSUER, currentDate: new Date(h.nowSeconds() * 1000) })).resolves.toBeDefined();
  });

  it('samples lastUsedAt: once per window per key', async () => {
    const h = await harness();
    const { apiKey, key } = await h.createKey('acme');
    const lastUsed = async () => (await h.items('apiKeys')).find((item) => item.keyId === key.keyId)?.lastUsedAt;
    expect(await lastUsed()).toBe(key.createdAt);
    await h.exchange('acme', apiKey);
    expect(await lastUsed()).toBe(key.createdAt);
    h.advance(Defaults.lastUsedSampleSeconds);
    await h.exchange('acme', apiKey);
    expect(await lastUsed()).toBe(h.nowSeconds());
    h.advance(60);
    await h.exchange('acme', apiKey);
    expect(await lastUsed()).toBe(h.nowSeconds() - 60);
  });
});

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('revokes the client’s own token; foreign, unknown and non-JWT tokens get 200 and change nothing', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const { apiKey: otherKey } = await h.createKey('other');
    const mine = String(body(await h.exchange('acme', apiKey)).access_token);
    const theirs = String(body(await h.exchange('other', otherKey)).access_token);
    const revoke = (token: string, key = apiKey, client = 'acme') => h.token(formPost('/oauth/revoke', { token }, { Authorization: basicAuth(client, key) }));

    for (const token of [theirs, 'not-a-jwt', `x.${Buffer.from('{"jti":"nope"}').toString('base64url')}.y`]) {
      expect((await revoke(token)).statusCode).toBe(200);
    }
    const statuses = async () => Object.fromEntries((await h.items('tokens')).map((item) => [item.clientId, item.status]));
    expect(await statuses()).toEqual({ acme: 'active', other: 'active' });

    expect((await revoke(mine)).statusCode).toBe(200);
    expect(await statuses()).toEqual({ acme: 'revoked', other: 'active' });
    const record = (await h.items('tokens')).find((item) => item.jti === decodeJwt(mine).jti);
    expect(record).toMatchObject({ status: 'revoked', revokedAt: h.nowSeconds(), exp: h.nowSeconds() + 900 });
    expect((await revoke(mine)).statusCode).toBe(200);
  });

  it('answers 200 and changes nothing for a jti that cannot be a token id (DynamoDB refuses keys of 2048 bytes or more)', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    secrets.add(String(body(await h.exchange('acme', apiKey)).access_token));
    const before = await h.items('tokens');
    const withJti = (jti: string) => `e30.${Buffer.from(JSON.stringify({ jti })).toString('base64url')}.sig`;
    const auditsBefore = logLines.length;
    for (const jti of ['a'.repeat(2048), 'a'.repeat(4000), 'x/y', '€']) {
      const response = await h.token(formPost('/oauth/revoke', { token: withJti(jti) }, { Authorization: basicAuth('acme', apiKey) }));
      expect([jti.slice(0, 8), response.statusCode, response.body]).toEqual([jti.slice(0, 8), 200, '']);
    }
    expect(await h.items('tokens')).toEqual(before);
    const audits = logLines
      .slice(auditsBefore)
      .filter((line) => line.includes('"audit"'))
      .map((line) => (JSON.parse(line) as { audit: Record<string, unknown> }).audit);
    expect(audits).toEqual(
      Array(4).fill(expect.objectContaining({ action: 'token.revoke_by_client', outcome: 'noop', reason: 'malformed_token_id', clientId: 'acme' })),
    );
    expect(audits.some((audit) => 'jti' in audit)).toBe(false);
  });

  it('requires client authentication and the token parameter', async () => {
    const h = await harness();
    const { apiKey } = await h.createKey('acme');
    const token = String(body(await h.exchange('acme', apiKey)).access_token);
    expectOAuthError(await h.token(formPost('/oauth/revoke', { token })), 401, 'invalid_client');
    expectOAuthError(
      await h.token(formPost('/oauth/revoke', { token }, { Authorization: basicAuth('acme', `${apiKey.slice(0, -1)}${apiKey.endsWith('0') ? '1' : '0'}`) })),
      401,
      'invalid_client',
    );
    expectOAuthError(await h.token(formPost('/oauth/revoke', {}, { Authorization: basicAuth('acme', apiKey) })), 400, 'invalid_request');
    expect((await h.items('tokens')).map((item) => item.status)).toEqual(['active']);
  });
});
