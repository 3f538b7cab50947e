/**
 * Real keys and real signed access tokens for the authorizer's tests and benchmark:
 * key pairs from `crypto.generateKeyPairSync`, compact JWS signed by hand with
 * `crypto.sign`, so a test can also produce what no library would (wrong encodings,
 * odd headers, corrupted parts).
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { SigningKeyState, type SigningKeyRecord } from '../../../../common/signing-key-items';
import { ACCESS_TOKEN_TYP, type JwsAlgorithm } from '../../../../common/tokens';

export const ISSUER = 'https://tollgate.test';
export const AUDIENCE = 'tollgate';

export interface TestKey {
  readonly kid: string;
  readonly alg: JwsAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly record: SigningKeyRecord;
}

export function generateTestKey(
  alg: JwsAlgorithm,
  options: { kid?: string; state?: SigningKeyState; verifyUntil?: number; compromisedAt?: number } = {},
): TestKey {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = options.kid ?? `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  const record: SigningKeyRecord = {
    kid,
    state: options.state ?? SigningKeyState.Active,
    alg,
    keySpec: alg === 'ES256' ? 'ECC_NIST_P256' : 'RSA_2048',
    kmsKeyArn: `arn:aws:kms:us-east-1:111122223333:key/${kid}`,
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    createdAt: 1_700_000_000,
    ...(options.verifyUntil === undefined ? {} : { verifyUntil: options.verifyUntil }),
    ...(options.compromisedAt === undefined ? {} : { compromisedAt: options.compromisedAt }),
    version: 1,
  };
  return { kid, alg, privateKey, publicKey, record };
}

/** Claims of a valid token issued at `nowSeconds`, with overrides (undefined removes a claim). */
export function claims(nowSeconds: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'acme',
    client_id: 'acme',
    jti: randomUUID(),
    iat: nowSeconds,
    exp: nowSeconds + 900,
    scope: 'orders:read',
    cid: 'key_0123456789abcdef0123',
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

export function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** Signature bytes of `signingInput` with the key: raw r‖s for ES256 (RFC 7518 §3.4), PKCS#1 v1.5 for RS256. */
export function signatureOf(key: TestKey, signingInput: string, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): Buffer {
  return key.alg === 'ES256'
    ? sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding })
    : sign('sha256', Buffer.from(signingInput), key.privateKey);
}

/**
 * A compact JWS signed with `key`. `header` overrides the default header (undefined
 * removes a parameter); `rawPayload` signs the given JSON text as is (for numbers JSON
 * cannot round-trip, such as `1e999`).
 */
export function signToken(
  key: TestKey,
  payload: Record<string, unknown> | string,
  header: Record<string, unknown> = {},
  options: { dsaEncoding?: 'ieee-p1363' | 'der' } = {},
): string {
  const fullHeader: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP };
  for (const [name, value] of Object.entries(header)) {
    if (value === undefined) delete fullHeader[name];
    else fullHeader[name] = value;
  }
  const signingInput = `${b64url(JSON.stringify(fullHeader))}.${b64url(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  return `${signingInput}.${signatureOf(key, signingInput, options.dsaEncoding).toString('base64url')}`;
}
