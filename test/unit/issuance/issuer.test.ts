import { beforeEach, describe, expect, it } from 'vitest';
import { importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import { CredentialStatus, TOKEN_RECORD_GRACE_SECONDS } from '../../../common/credential-items';
import { SigningKeyState } from '../../../common/signing-key-items';
import { newTokenId } from '../../../lambda/core/issuance/access-token';
import { TOKEN_ID_PATTERN } from '../../../common/tokens';
import { Issuer } from '../../../lambda/core/issuance/issuer';
import {
  InvalidClient,
  InvalidClientReason,
  InvalidRequest,
  InvalidScope,
  INVALID_CLIENT_DESCRIPTION,
  DEFAULT_RETRY_AFTER_SECONDS,
  TemporarilyUnavailable,
  UnsupportedGrantType,
} from '../../../lambda/core/shared/issuance-errors';
import { ringViolations } from '../../../lambda/core/rotation/key-ring';
import { basic, ecSigningKey, FakeApiKeys, FakeAudit, FakeClients, FakeRing, FakeTokens, form, storedKey } from './fakes';

const NOW = 1_700_000_000;
const config = { issuer: 'https://issuer.example', audience: 'tollgate', tokenTtlSeconds: 900 };

function setup() {
  const apiKeys = new FakeApiKeys();
  const clients = new FakeClients();
  const tokens = new FakeTokens();
  const audit = new FakeAudit();
  const signing = ecSigningKey();
  const ring = new FakeRing([signing.record]);
  let clock = NOW * 1000;
  let signer = signing.signer;
  const issuer = () => new Issuer({ apiKeys, clients, tokens, ring, signer, audit, now: () => clock }, { ...config, lastUsedSampleSeconds: 3600 });
  const { apiKey, key } = storedKey();
  apiKeys.keys.set(key.keyId, key);
  clients.clients.set('acme', { clientId: 'acme', status: CredentialStatus.Active, createdAt: 1_000 });
  return {
    apiKeys,
    clients,
    tokens,
    audit,
    ring,
    signing,
    apiKey,
    key,
    issuer,
    setClock: (seconds: number) => (clock = seconds * 1000),
    setSigner: (s: typeof signer) => (signer = s),
  };
}

async function expectInvalidClient(promise: Promise<unknown>, reason: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidClient);
  expect((error as InvalidClient).reason).toBe(reason);
  expect((error as InvalidClient).description).toBe(INVALID_CLIENT_DESCRIPTION);
}

describe('Issuer.exchange', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  it('issues an RFC 9068 access token that verifies with the ring key', async () => {
    const response = await t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) });
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'orders:read orders:write' });
    const publicKey = await importSPKI(t.signing.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 'ES256');
    const { payload, protectedHeader } = await jwtVerify(response.access_token, publicKey, {
      issuer: config.issuer,
      audience: 'tollgate',
      typ: 'at+jwt',
      currentDate: new Date(NOW * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'kid-1', typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'acme', client_id: 'acme', cid: t.key.keyId, iat: NOW, exp: NOW + 900, scope: 'orders:read orders:write' });
    const record = t.tokens.records.get(payload.jti!);
    expect(record).toEqual({
      jti: payload.jti,
      clientId: 'acme',
      keyId: t.key.keyId,
      kid: 'kid-1',
      scope: 'orders:read orders:write',
      iat: NOW,
      exp: NOW + 900,
      status: 'active',
      purgeAt: NOW + 900 + TOKEN_RECORD_GRACE_SECONDS,
    });
    expect(t.audit.events).toEqual([expect.objectContaining({ action: 'token.issue', outcome: 'success', jti: payload.jti, keyId: t.key.keyId })]);
  });

  it('accepts client_secret_post and a bearer API key', async () => {
    await expect(t.issuer().exchange({ form: form({ grant_type: 'client_credentials', client_id: 'acme', client_secret: t.apiKey }) })).resolves.toBeDefined();
    await expect(t.issuer().exchange({ authorization: `Bearer ${t.apiKey}`, form: form({ grant_type: 'client_credentials' }) })).resolves.toBeDefined();
  });

  it('narrows scope to the requested subset and refuses a wider one', async () => {
    const narrowed = await t
      .issuer()
      .exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials', scope: 'orders:read' }) });
    expect(narrowed.scope).toBe('orders:read');
    await expect(
      t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials', scope: 'orders:read admin' }) }),
    ).rejects.toBeInstanceOf(InvalidScope);
    await expect(
      t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials', scope: '  ' }) }),
    ).rejects.toBeInstanceOf(InvalidScope);
  });

  it('never issues a token that outlives its API key', async () => {
    t.apiKeys.keys.set(t.key.keyId, { ...t.key, expiresAt: NOW + 120 });
    const response = await t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) });
    expect(response.expires_in).toBe(120);
  });

  it('refuses a bad checksum without reading the database', async () => {
    const typo = t.apiKey.slice(0, 10) + (t.apiKey[10] === 'a' ? 'b' : 'a') + t.apiKey.slice(11);
    await expectInvalidClient(t.issuer().exchange({ authorization: basic('acme', typo), form: form({ grant_type: 'client_credentials' }) }), 'bad_checksum');
    expect(t.apiKeys.gets).toBe(0);
    expect(t.clients.gets).toBe(0);
  });

  it.each([
    ['unknown key', (s: ReturnType<typeof setup>) => s.apiKeys.keys.clear(), InvalidClientReason.unknownKey],
    [
      'hash mismatch',
      (s: ReturnType<typeof setup>) => s.apiKeys.keys.set(s.key.keyId, { ...s.key, keyHash: 'ab'.repeat(32) }),
      InvalidClientReason.hashMismatch,
    ],
    [
      'revoked key',
      (s: ReturnType<typeof setup>) => s.apiKeys.keys.set(s.key.keyId, { ...s.key, status: CredentialStatus.Revoked }),
      InvalidClientReason.keyRevoked,
    ],
    [
      'expired key not yet deleted by TTL',
      (s: ReturnType<typeof setup>) => s.apiKeys.keys.set(s.key.keyId, { ...s.key, expiresAt: NOW }),
      InvalidClientReason.keyExpired,
    ],
    [
      'revoked client',
      (s: ReturnType<typeof setup>) => s.clients.clients.set('acme', { clientId: 'acme', status: CredentialStatus.Revoked, createdAt: 1 }),
      InvalidClientReason.clientRevoked,
    ],
    ['missing client record', (s: ReturnType<typeof setup>) => s.clients.clients.clear(), InvalidClientReason.clientUnknown],
  ])('refuses a %s with the generic invalid_client', async (_name, arrange, reason) => {
    arrange(t);
    await expectInvalidClient(t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) }), reason);
    expect(t.tokens.records.size).toBe(0);
    expect(t.audit.events).toEqual([expect.objectContaining({ action: 'token.issue', outcome: 'failure', reason: `invalid_client:${reason}` })]);
  });

  it('refuses a key presented for another client', async () => {
    t.clients.clients.set('other', { clientId: 'other', status: CredentialStatus.Active, createdAt: 1 });
    await expectInvalidClient(
      t.issuer().exchange({ authorization: basic('other', t.apiKey), form: form({ grant_type: 'client_credentials' }) }),
      'client_id_mismatch',
    );
  });

  it('reads key and client in parallel when the client is named, the client after the key for a bearer key', async () => {
    await t.issuer().exchange({ authorization: `Bearer ${t.apiKey}`, form: form({ grant_type: 'client_credentials' }) });
    expect([t.apiKeys.gets, t.clients.gets]).toEqual([1, 1]);
  });

  it('validates grant_type', async () => {
    await expect(t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({}) })).rejects.toBeInstanceOf(InvalidRequest);
    await expect(t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'password' }) })).rejects.toBeInstanceOf(
      UnsupportedGrantType,
    );
  });

  it('signs only with the active key: pending, retiring or compromised keys mean temporarily_unavailable', async () => {
    const request = { authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) };
    for (const records of [
      [{ ...t.signing.record, state: SigningKeyState.Pending }],
      [{ ...t.signing.record, state: SigningKeyState.Retiring }],
      [{ ...t.signing.record, compromisedAt: NOW }],
      [],
    ]) {
      t.ring.records = records;
      await expect(t.issuer().exchange(request)).rejects.toBeInstanceOf(TemporarilyUnavailable);
    }
    const newer = ecSigningKey('kid-2');
    t.ring.records = [
      { ...t.signing.record, state: SigningKeyState.Retiring },
      { ...newer.record, state: SigningKeyState.Pending, kid: 'kid-3' },
      { ...newer.record, activatedAt: 2_000 },
    ];
    t.setSigner(newer.signer);
    const response = await t.issuer().exchange(request);
    expect(decodeProtectedHeader(response.access_token).kid).toBe('kid-2');
    expect(t.tokens.records.size).toBe(1);
  });

  it('answers temporarily_unavailable with a Retry-After while a compromise has left the ring without an active key', async () => {
    const request = { authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) };
    t.ring.records = [
      { ...t.signing.record, state: SigningKeyState.Retired, compromisedAt: NOW, retiredAt: NOW },
      { ...ecSigningKey('kid-0').record, state: SigningKeyState.Retiring, verifyUntil: NOW + 3_000 },
    ];
    expect(ringViolations(t.ring.records)).toEqual([]);
    const error = await t
      .issuer()
      .exchange(request)
      .then(
        () => expect.fail('a token was issued'),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TemporarilyUnavailable);
    expect(error).toMatchObject({ code: 'temporarily_unavailable', reason: 'no_active_signing_key', retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS });
    expect(t.tokens.records.size).toBe(0);
  });

  it('turns a KMS failure or an unreadable ring into temporarily_unavailable and stores nothing', async () => {
    const request = { authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) };
    t.setSigner({ sign: async () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })) });
    await expect(t.issuer().exchange(request)).rejects.toMatchObject({ code: 'temporarily_unavailable', reason: 'kms_sign_failed: ThrottlingException' });
    t.ring.load = async () => Promise.reject(new Error('down'));
    await expect(t.issuer().exchange(request)).rejects.toBeInstanceOf(TemporarilyUnavailable);
    expect(t.tokens.records.size).toBe(0);
  });

  it('samples lastUsedAt: written when older than the window, skipped when recent, failures swallowed', async () => {
    const request = { authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) };
    await t.issuer().exchange(request);
    expect(t.apiKeys.touches).toEqual([{ keyId: t.key.keyId, now: NOW }]);
    t.apiKeys.keys.set(t.key.keyId, { ...t.key, lastUsedAt: NOW - 10 });
    await t.issuer().exchange(request);
    expect(t.apiKeys.touches).toHaveLength(1);
    t.apiKeys.keys.set(t.key.keyId, { ...t.key, lastUsedAt: NOW - 3600 });
    t.apiKeys.touchError = new Error('boom');
    await expect(t.issuer().exchange(request)).resolves.toBeDefined();
    expect(t.audit.warnings).toEqual(['lastUsedAt update failed']);
  });

  it('never puts the API key or the JWT in an audit event', async () => {
    const response = await t.issuer().exchange({ authorization: basic('acme', t.apiKey), form: form({ grant_type: 'client_credentials' }) });
    // Another last character (a fixed 'x' would be the same key whenever the key ends in x: 1 run in 62).
    const typo = `${t.apiKey.slice(0, -1)}${t.apiKey.endsWith('x') ? 'y' : 'x'}`;
    await t
      .issuer()
      .exchange({ authorization: basic('acme', typo), form: form({ grant_type: 'client_credentials' }) })
      .catch(() => undefined);
    // Fields swapped by mistake: the API key arrives as client_id.
    await t
      .issuer()
      .exchange({ form: form({ grant_type: 'client_credentials', client_id: t.apiKey, client_secret: 'acme' }) })
      .catch(() => undefined);
    await t
      .issuer()
      .exchange({ authorization: basic(t.apiKey, t.apiKey), form: form({ grant_type: 'client_credentials' }) })
      .catch(() => undefined);
    expect(t.audit.events.filter((e) => e.outcome === 'failure')).toHaveLength(3);
    const text = JSON.stringify(t.audit.events);
    expect(text).not.toContain(t.apiKey);
    expect(text).not.toContain(t.key.keyHash);
    expect(text).not.toContain(response.access_token.split('.')[2]);
  });
});

describe('Issuer.revoke (RFC 7009)', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  it('revokes the client’s own active token and ignores unknown, foreign or non-JWT tokens', async () => {
    const auth = basic('acme', t.apiKey);
    const { access_token } = await t.issuer().exchange({ authorization: auth, form: form({ grant_type: 'client_credentials' }) });
    const [jti] = [...t.tokens.records.keys()];
    const foreign = { ...t.tokens.records.get(jti!)!, jti: 'foreign', clientId: 'other' };
    t.tokens.records.set('foreign', foreign);
    const foreignJwt = `e30.${Buffer.from(JSON.stringify({ jti: 'foreign' })).toString('base64url')}.sig`;

    await t.issuer().revoke({ authorization: auth, form: form({ token: foreignJwt }) });
    await t.issuer().revoke({ authorization: auth, form: form({ token: 'not-a-jwt' }) });
    expect(t.tokens.records.get('foreign')?.status).toBe('active');

    await t.issuer().revoke({ authorization: auth, form: form({ token: access_token, token_type_hint: 'access_token' }) });
    expect(t.tokens.records.get(jti!)).toMatchObject({ status: 'revoked', revokedAt: NOW });
    expect(t.audit.events.map((e) => e.outcome)).toEqual(['success', 'noop', 'noop', 'success']);
  });

  it('looks up only a jti that can be a token id; anything else is a no-op audited as such', async () => {
    const auth = basic('acme', t.apiKey);
    const withJti = (jti: unknown) => `e30.${Buffer.from(JSON.stringify({ jti })).toString('base64url')}.sig`;
    for (const jti of ['a'.repeat(129), 'a'.repeat(4096), 'a/b', 'a b', '€', '', 42]) {
      await t.issuer().revoke({ authorization: auth, form: form({ token: withJti(jti) }) });
    }
    await t.issuer().revoke({ authorization: auth, form: form({ token: withJti('a'.repeat(128)) }) });
    expect(t.tokens.revokeLookups).toEqual(['a'.repeat(128)]);
    expect(t.audit.events.map((e) => e.reason)).toEqual([...Array(7).fill('malformed_token_id'), 'unknown_foreign_or_inactive_token']);
    expect(t.audit.events.every((e) => e.outcome === 'noop' && e.jti === undefined)).toBe(true);
  });

  it('accepts every jti the issuer mints under the shared token-id rule', () => {
    for (let i = 0; i < 50; i += 1) expect(newTokenId()).toMatch(TOKEN_ID_PATTERN);
  });

  it('requires the token parameter and an authenticated client', async () => {
    await expect(t.issuer().revoke({ authorization: basic('acme', t.apiKey), form: form({}) })).rejects.toBeInstanceOf(InvalidRequest);
    await expectInvalidClient(t.issuer().revoke({ form: form({ token: 'x' }) }), 'no_credentials');
  });
});
