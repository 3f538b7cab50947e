import { createHmac, randomBytes, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { SigningKeyState } from '../../../common/signing-key-items';
import { AccessTokenVerifier } from '../../../lambda/core/authorizer/access-token-verifier';
import { RejectReason, TokenRejected } from '../../../lambda/core/authorizer/authorizer-errors';
import { KeyRingCache } from '../../../lambda/core/authorizer/key-ring-cache';
import { thrown } from './support/errors';
import { FakeKeySource, NOW_MS, NOW_S } from './support/fixtures';
import { AUDIENCE, b64url, claims, generateTestKey, ISSUER, signatureOf, signToken, type TestKey } from './support/tokens';

const verifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, clockSkewSeconds: 30, maxLifetimeSeconds: 3600 });
let es: TestKey;
let rs: TestKey;
let retired: TestKey;
let retiring: TestKey;
let compromised: TestKey;
let keys: KeyRingCache;

beforeAll(async () => {
  es = generateTestKey('ES256', { kid: 'es' });
  rs = generateTestKey('RS256', { kid: 'rs' });
  retired = generateTestKey('ES256', { kid: 'retired', state: SigningKeyState.Retired });
  retiring = generateTestKey('ES256', { kid: 'retiring', state: SigningKeyState.Retiring, verifyUntil: NOW_S + 600 });
  compromised = generateTestKey('ES256', { kid: 'compromised', compromisedAt: NOW_S - 10 });
  keys = new KeyRingCache({
    source: new FakeKeySource([es, rs, retired, retiring, compromised].map((k) => k.record)),
    refreshIntervalMs: 60_000,
  });
  await keys.refresh(NOW_MS);
});

function verify(token: string, now = NOW_S) {
  return verifier.verify(token, keys, now);
}

function refusal(token: string, now = NOW_S): string {
  return thrown(() => verify(token, now), TokenRejected).reason;
}

/** Replaces one of the three parts of a compact JWS. */
function withPart(token: string, index: number, part: string): string {
  const parts = token.split('.');
  parts[index] = part;
  return parts.join('.');
}

describe('AccessTokenVerifier accepts', () => {
  it.each(['ES256', 'RS256'] as const)('a valid %s token, returning its facts and the ring key', (alg) => {
    const key = alg === 'ES256' ? es : rs;
    const c = claims(NOW_S, { scope: 'orders:read orders:write' });
    const verified = verify(signToken(key, c));
    expect(verified).toMatchObject({ clientId: 'acme', jti: c.jti, apiKeyId: c.cid, scope: 'orders:read orders:write', iat: NOW_S, exp: NOW_S + 900 });
    expect(verified.key.kid).toBe(key.kid);
  });

  it('a token signed by jose SignJWT (interoperability)', async () => {
    const token = await new SignJWT(claims(NOW_S) as Record<string, unknown>)
      .setProtectedHeader({ alg: 'ES256', kid: 'es', typ: 'at+jwt' })
      .sign(es.privateKey);
    expect(verify(token).clientId).toBe('acme');
  });

  it('typ spelled application/at+jwt or in upper case (RFC 7515 §4.1.9)', () => {
    expect(verify(signToken(es, claims(NOW_S), { typ: 'application/at+jwt' })).clientId).toBe('acme');
    expect(verify(signToken(es, claims(NOW_S), { typ: 'AT+JWT' })).clientId).toBe('acme');
  });

  it('aud as an array containing ours, and times within the clock skew', () => {
    expect(verify(signToken(es, claims(NOW_S, { aud: ['other', AUDIENCE] }))).clientId).toBe('acme');
    expect(verify(signToken(es, claims(NOW_S, { exp: NOW_S - 29, iat: NOW_S - 900 }))).clientId).toBe('acme');
    expect(verify(signToken(es, claims(NOW_S, { nbf: NOW_S + 30 }))).clientId).toBe('acme');
    expect(verify(signToken(es, claims(NOW_S, { iat: NOW_S + 30, exp: NOW_S + 930 }))).clientId).toBe('acme');
  });

  it('a retiring key until its verifyUntil, and ignores embedded jwk/jku/x5u/x5c', () => {
    expect(verify(signToken(retiring, claims(NOW_S))).key.kid).toBe('retiring');
    const attacker = generateTestKey('ES256');
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    // The headers are ignored: the token is verified with the ring key `es`, so only a token `es` signed passes.
    expect(verify(signToken(es, claims(NOW_S), { jwk, jku: 'https://evil.example/jwks', x5u: 'https://evil.example/x5u', x5c: ['AAAA'] })).key.kid).toBe('es');
  });
});

describe('AccessTokenVerifier refuses', () => {
  it.each(['ES256', 'RS256'] as const)('another spelling of a valid %s token: a last character with bits set beyond the data (RFC 4648 §3.5)', (alg) => {
    const token = signToken(alg === 'ES256' ? es : rs, claims(NOW_S));
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect(verify(token).clientId).toBe('acme');
    // 64 and 256 signature bytes: 86 and 342 characters, the last carrying 4 spare bits.
    expect(signature.length % 4).toBe(2);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1)!);
    for (let spare = 1; spare < 16; spare++) {
      const respelled = `${header}.${payload}.${signature.slice(0, -1)}${alphabet[last | spare]}`;
      if (respelled === token) continue;
      expect(Buffer.from(respelled.split('.')[2]!, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      // A signature part that is not canonical base64url is no signature of ours.
      expect(refusal(respelled)).toBe(RejectReason.badSignature);
    }
  });

  it('expired tokens, not-yet-valid tokens and tokens issued in the future', () => {
    expect(refusal(signToken(es, claims(NOW_S, { iat: NOW_S - 1000, exp: NOW_S - 30 })))).toBe(RejectReason.expired);
    expect(refusal(signToken(es, claims(NOW_S, { nbf: NOW_S + 31 })))).toBe(RejectReason.notYetValid);
    expect(refusal(signToken(es, claims(NOW_S, { iat: NOW_S + 31, exp: NOW_S + 931 })))).toBe(RejectReason.issuedInFuture);
    // The same token passes earlier: the clock decides, not the token.
    const token = signToken(es, claims(NOW_S));
    expect(refusal(token, NOW_S + 930)).toBe(RejectReason.expired);
    expect(verify(token, NOW_S + 929).clientId).toBe('acme');
  });

  it('wrong iss, aud or typ', () => {
    expect(refusal(signToken(es, claims(NOW_S, { iss: 'https://other.example' })))).toBe(RejectReason.wrongIssuer);
    expect(refusal(signToken(es, claims(NOW_S, { aud: 'other' })))).toBe(RejectReason.wrongAudience);
    expect(refusal(signToken(es, claims(NOW_S, { aud: ['a', 'b'] })))).toBe(RejectReason.wrongAudience);
    expect(refusal(signToken(es, claims(NOW_S, { aud: undefined })))).toBe(RejectReason.wrongAudience);
    expect(refusal(signToken(es, claims(NOW_S), { typ: 'JWT' }))).toBe(RejectReason.wrongType);
    expect(refusal(signToken(es, claims(NOW_S), { typ: undefined }))).toBe(RejectReason.wrongType);
    expect(refusal(signToken(es, claims(NOW_S), { typ: 'application/jwt' }))).toBe(RejectReason.wrongType);
  });

  it('alg none, with or without a signature', () => {
    const header = b64url(JSON.stringify({ alg: 'none', kid: 'es', typ: 'at+jwt' }));
    const payload = b64url(JSON.stringify(claims(NOW_S)));
    expect(refusal(`${header}.${payload}.`)).toBe(RejectReason.algorithmMismatch);
    expect(refusal(`${header}.${payload}.${signatureOf(es, `${header}.${payload}`).toString('base64url')}`)).toBe(RejectReason.algorithmMismatch);
  });

  it('HS256 with the public key as the HMAC secret (key confusion)', () => {
    for (const key of [es, rs]) {
      const header = b64url(JSON.stringify({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' }));
      const payload = b64url(JSON.stringify(claims(NOW_S)));
      const pem = key.publicKey.export({ format: 'pem', type: 'spki' });
      const mac = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
      expect(refusal(`${header}.${payload}.${mac}`)).toBe(RejectReason.algorithmMismatch);
    }
  });

  it('an algorithm the ring key does not have, even with a valid signature for it', () => {
    const rsWithEsKid = generateTestKey('RS256', { kid: 'es' });
    expect(refusal(signToken(rsWithEsKid, claims(NOW_S)))).toBe(RejectReason.algorithmMismatch);
  });

  it('a token signed by an attacker key announced in jwk or jku', () => {
    const attacker = generateTestKey('ES256', { kid: 'es' });
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    expect(refusal(signToken(attacker, claims(NOW_S), { jwk }))).toBe(RejectReason.badSignature);
    const unknown = generateTestKey('ES256', { kid: 'attacker' });
    expect(refusal(signToken(unknown, claims(NOW_S), { jku: 'https://evil.example/jwks' }))).toBe(RejectReason.unknownKid);
  });

  it('any crit header (RFC 7515 §4.1.11)', () => {
    expect(refusal(signToken(es, claims(NOW_S), { crit: ['exp'] }))).toBe(RejectReason.critUnsupported);
    expect(refusal(signToken(es, claims(NOW_S), { crit: ['b64'], b64: true }))).toBe(RejectReason.critUnsupported);
  });

  it('unknown, retired, compromised and expired-retiring kids, and a missing kid', () => {
    expect(refusal(signToken(generateTestKey('ES256', { kid: 'nobody' }), claims(NOW_S)))).toBe(RejectReason.unknownKid);
    expect(refusal(signToken(retired, claims(NOW_S)))).toBe(RejectReason.unknownKid);
    expect(refusal(signToken(compromised, claims(NOW_S)))).toBe(RejectReason.unknownKid);
    expect(refusal(signToken(retiring, claims(NOW_S + 600)), NOW_S + 600)).toBe(RejectReason.unknownKid);
    expect(refusal(signToken(es, claims(NOW_S), { kid: undefined }))).toBe(RejectReason.malformedHeader);
    expect(refusal(signToken(es, claims(NOW_S), { kid: 7 }))).toBe(RejectReason.malformedHeader);
  });

  it('a tampered payload or header', () => {
    const token = signToken(es, claims(NOW_S));
    const forged = b64url(JSON.stringify(claims(NOW_S, { scope: 'admin' })));
    expect(refusal(withPart(token, 1, forged))).toBe(RejectReason.badSignature);
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: 'es', typ: 'at+jwt', extra: 1 }));
    expect(refusal(withPart(token, 0, header))).toBe(RejectReason.badSignature);
    expect(refusal(withPart(signToken(rs, claims(NOW_S)), 1, forged))).toBe(RejectReason.badSignature);
  });

  it('the psychic signature (r = s = 0, CVE-2022-21449) and other zero signatures', () => {
    const token = signToken(es, claims(NOW_S));
    expect(refusal(withPart(token, 2, Buffer.alloc(64).toString('base64url')))).toBe(RejectReason.badSignature);
    expect(refusal(withPart(signToken(rs, claims(NOW_S)), 2, Buffer.alloc(256).toString('base64url')))).toBe(RejectReason.badSignature);
  });

  it('a DER-encoded ES256 signature, even though it is a valid ECDSA signature', () => {
    const der = signToken(es, claims(NOW_S), {}, { dsaEncoding: 'der' });
    expect(refusal(der)).toBe(RejectReason.badSignature);
  });

  it('RS256 signatures of the wrong length or not below the modulus', () => {
    const token = signToken(rs, claims(NOW_S));
    const signature = Buffer.from(token.split('.')[2]!, 'base64url');
    expect(refusal(withPart(token, 2, signature.subarray(1).toString('base64url')))).toBe(RejectReason.badSignature);
    expect(refusal(withPart(token, 2, Buffer.concat([Buffer.alloc(1), signature]).toString('base64url')))).toBe(RejectReason.badSignature);
    expect(refusal(withPart(token, 2, Buffer.alloc(256, 0xff).toString('base64url')))).toBe(RejectReason.badSignature);
  });

  it('an RS256 signature over a different PKCS#1 encoding (SHA-1 DigestInfo)', () => {
    const header = b64url(JSON.stringify({ alg: 'RS256', kid: 'rs', typ: 'at+jwt' }));
    const input = `${header}.${b64url(JSON.stringify(claims(NOW_S)))}`;
    const sha1 = sign('sha1', Buffer.from(input), rs.privateKey).toString('base64url');
    expect(refusal(`${input}.${sha1}`)).toBe(RejectReason.badSignature);
  });

  it('malformed base64url, JSON and structure', () => {
    const token = signToken(es, claims(NOW_S));
    const [h, p, s] = token.split('.') as [string, string, string];
    const cases: [string, string][] = [
      [`${h}.${p}`, RejectReason.malformedToken],
      [`${h}.${p}.${s}.${s}`, RejectReason.malformedToken],
      [`${h}..${s}`, RejectReason.malformedToken],
      [`.${p}.${s}`, RejectReason.malformedToken],
      [`${h}.${p}.`, RejectReason.badSignature],
      ['', RejectReason.malformedToken],
      ['...', RejectReason.malformedToken],
      [`${h}.${p}!.${s}`, RejectReason.malformedToken],
      [`${h}.${p}=.${s}`, RejectReason.malformedToken],
      [`${h}.${p.slice(0, -1)}+.${s}`, RejectReason.malformedToken],
      [`${h}.${p}.${s.slice(0, -2)}/A`, RejectReason.malformedToken],
      [`${h}.${p}.${s}==`, RejectReason.badSignature],
      [`${h}.${p}\u0141.${s}`, RejectReason.malformedToken],
      [`${b64url('{"alg":')}.${p}.${s}`, RejectReason.malformedToken],
      [`${b64url('[1,2]')}.${p}.${s}`, RejectReason.malformedToken],
      [`${b64url(Buffer.from([0xc3, 0x28]))}.${p}.${s}`, RejectReason.malformedToken],
    ];
    for (const [input, expected] of cases) expect([input, refusal(input)]).toEqual([input, expected]);
  });

  it('payloads that are not JSON objects, even when properly signed', () => {
    for (const payload of ['[1,2]', '"text"', 'null', '42', '{"a":', '\u00ff\u00fe']) {
      expect(refusal(signToken(es, payload))).toBe(RejectReason.malformedToken);
    }
  });

  it('missing or mistyped claims, and sub different from client_id', () => {
    for (const name of ['sub', 'client_id', 'jti', 'scope', 'cid', 'iat', 'exp']) {
      expect([name, refusal(signToken(es, claims(NOW_S, { [name]: undefined })))]).toEqual([name, RejectReason.invalidClaims]);
    }
    const mistyped: Record<string, unknown>[] = [
      { sub: 1 },
      { jti: '' },
      { cid: null },
      { scope: ['a'] },
      { iat: '1' },
      { exp: String(NOW_S + 900) },
      { nbf: 'now' },
    ];
    for (const override of mistyped) expect([override, refusal(signToken(es, claims(NOW_S, override)))]).toEqual([override, RejectReason.invalidClaims]);
    expect(refusal(signToken(es, claims(NOW_S, { client_id: 'other' })))).toBe(RejectReason.invalidClaims);
  });

  it('lifetimes over the hard maximum, including numbers JSON turns into Infinity', () => {
    expect(refusal(signToken(es, claims(NOW_S, { exp: NOW_S + 3601 })))).toBe(RejectReason.lifetimeTooLong);
    const huge = JSON.stringify(claims(NOW_S)).replace(/"exp":\d+/, '"exp":1e999');
    expect(refusal(signToken(es, huge))).toBe(RejectReason.lifetimeTooLong);
    const negative = JSON.stringify(claims(NOW_S)).replace(/"iat":\d+/, '"iat":-1e999');
    expect(refusal(signToken(es, negative))).toBe(RejectReason.lifetimeTooLong);
  });

  it('reports what it knows about a refused token, never the token', () => {
    const error = thrown(() => verify(signToken(es, claims(NOW_S, { iss: 'x', jti: 'j-1' }))), TokenRejected);
    expect(error.facts).toEqual({ kid: 'es', clientId: 'acme', jti: 'j-1' });
  });

  it('random garbage of any size without throwing anything but TokenRejected', () => {
    for (let i = 0; i < 200; i += 1) {
      const garbage = randomBytes(i * 7).toString(i % 2 ? 'base64url' : 'latin1');
      expect(() => verify(`${garbage}.${garbage}.${garbage}`)).toThrow(TokenRejected);
    }
  });
});
