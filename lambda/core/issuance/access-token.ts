/**
 * Access-token header and claims (RFC 9068 §2): what the issuer signs and the authorizer
 * checks. Lifetimes are bounded three ways: the configured TTL, the contract's hard
 * maximum, and the minting API key's own expiry (a token never outlives its key).
 */
import { randomBytes } from 'node:crypto';
import { tokenTtlSeconds } from '../../../common/settings';
import { ACCESS_TOKEN_TYP, type AccessTokenClaims, type AccessTokenHeader } from '../../../common/tokens';
import type { SigningKeyRef } from './jws';
import { formatScope } from './scopes';

/** 128 random bits: unguessable, and collisions are not a practical concern (RFC 7519 §4.1.7). */
const TOKEN_ID_BYTES = 16;

export function newTokenId(random: (size: number) => Uint8Array = randomBytes): string {
  return Buffer.from(random(TOKEN_ID_BYTES)).toString('base64url');
}

/** Seconds the token may live: configured TTL, capped at the hard maximum and at the key's expiry. */
export function tokenLifetime(nowSeconds: number, ttlSeconds: number, keyExpiresAt?: number): number {
  const capped = Math.min(ttlSeconds, tokenTtlSeconds.max);
  return keyExpiresAt === undefined ? capped : Math.max(0, Math.min(capped, keyExpiresAt - nowSeconds));
}

export interface ClaimsInput {
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
  /** keyId of the minting API key: the `cid` claim. */
  readonly keyId: string;
  readonly scopes: readonly string[];
  readonly jti: string;
  readonly nowSeconds: number;
  readonly lifetimeSeconds: number;
  /** The client's registered usage key: the optional `uik` claim. */
  readonly usageKey?: string;
}

export function accessTokenClaims(input: ClaimsInput): AccessTokenClaims {
  return {
    iss: input.issuer,
    aud: input.audience,
    // RFC 9068 §2.2: with no resource owner, `sub` names the client itself.
    sub: input.clientId,
    client_id: input.clientId,
    jti: input.jti,
    iat: input.nowSeconds,
    exp: input.nowSeconds + input.lifetimeSeconds,
    scope: formatScope(input.scopes),
    cid: input.keyId,
    ...(input.usageKey === undefined ? {} : { uik: input.usageKey }),
  };
}

export function accessTokenHeader(key: SigningKeyRef): AccessTokenHeader {
  return { alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP };
}
