/**
 * The peers of P3: widely used JWT verifiers, each set up as its documentation recommends
 * for a known key (key imported once, ahead of the timed section) and checking what our
 * authorizer checks: signature, algorithm, `iss`, `aud`, `exp`/`nbf`, and `typ` where the
 * library can (RFC 9068 §4: the `at+jwt` type must be checked).
 */
import type { KeyObject } from 'node:crypto';
import { importSPKI, jwtVerify } from 'jose';
import { JwtVerifier } from 'aws-jwt-verify';
import { createVerifier } from 'fast-jwt';
import { ACCESS_TOKEN_TYP, type JwsAlgorithm } from '../../common/tokens';
import { AUDIENCE, ISSUER } from '../../test/unit/authorizer/support/tokens';

export interface Peer {
  /** Short, stable: part of the figure id. */
  readonly id: string;
  readonly name: string;
  /** Verifies and returns the claims; throws on an invalid token. */
  verify(token: string): unknown;
}

export interface PeerKey {
  readonly kid: string;
  readonly alg: JwsAlgorithm;
  readonly publicKey: KeyObject;
}

const JWKS_URI = `${ISSUER}/.well-known/jwks.json`;

async function jose(key: PeerKey): Promise<Peer> {
  const cryptoKey = await importSPKI(key.publicKey.export({ format: 'pem', type: 'spki' }).toString(), key.alg);
  const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: [key.alg], typ: ACCESS_TOKEN_TYP };
  return { id: 'jose', name: 'jose jwtVerify', verify: (token) => jwtVerify(token, cryptoKey, options) };
}

/** Its JWKS cache is hydrated up front, so `verifySync` never fetches. */
function awsJwtVerify(key: PeerKey): Peer {
  const verifier = JwtVerifier.create({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI });
  const jwk = key.publicKey.export({ format: 'jwk' });
  verifier.cacheJwks({ keys: [{ ...jwk, kid: key.kid, alg: key.alg, use: 'sig' } as never] });
  return { id: 'aws-jwt-verify', name: 'aws-jwt-verify verifySync', verify: (token) => verifier.verifySync(token) };
}

/** `cache`: false, or the number of verified tokens fast-jwt keeps. */
function fastJwt(key: PeerKey, cache: false | number): Peer {
  const verify = createVerifier({
    key: key.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    algorithms: [key.alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    checkTyp: ACCESS_TOKEN_TYP,
    cache,
  });
  return cache === false
    ? { id: 'fast-jwt', name: 'fast-jwt', verify: (token) => verify(token) }
    : { id: 'fast-jwt-cached', name: 'fast-jwt with its cache', verify: (token) => verify(token) };
}

/** The bare verifiers, keys preloaded, no result caching. */
export async function bareVerifiers(key: PeerKey): Promise<Peer[]> {
  return [await jose(key), awsJwtVerify(key), fastJwt(key, false)];
}

/** fast-jwt's own default cache size. */
const FAST_JWT_DEFAULT_CACHE = 1000;

/** The one peer with a verified-token cache of its own: what our cached path (and cache heap) is measured against. */
export function cachingVerifier(key: PeerKey, capacity = FAST_JWT_DEFAULT_CACHE): Peer {
  return fastJwt(key, capacity);
}
