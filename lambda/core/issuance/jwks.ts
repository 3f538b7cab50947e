/**
 * The JWK Set (RFC 7517 §5) of every key that may verify a live token: the same set the
 * authorizer trusts (`verificationKeys`), so outside verifiers and ours agree.
 */
import type { JsonWebKey } from 'node:crypto';
import type { SigningKeyRecord } from '../../../common/signing-key-items';
import { verificationKeys, type SkippedKey, type VerificationKey } from '../rotation/signing-keys';

export interface PublicJwk {
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

export interface JwkSet {
  readonly keys: readonly PublicJwk[];
}

/** Every verifying key of the ring; a record whose key does not parse is left out and named in `skipped`. */
export function jwkSet(records: readonly SigningKeyRecord[], nowSeconds: number): { set: JwkSet; skipped: SkippedKey[] } {
  const { keys, skipped } = verificationKeys(records, nowSeconds);
  return { set: { keys: [...keys.values()].map(publicJwk) }, skipped };
}

function publicJwk({ kid, alg, key }: VerificationKey): PublicJwk {
  const { kty, crv, x, y, n, e } = key.export({ format: 'jwk' }) as JsonWebKey;
  const material = Object.fromEntries(Object.entries({ crv, x, y, n, e }).filter(([, value]) => value !== undefined));
  return { kid, alg, use: 'sig', kty: kty ?? '', ...material };
}
