/**
 * The JWK Set (RFC 7517 §5) of every key that may verify a live token: the same set the
 * authorizer trusts (`verificationKey`, record by record as in `trustedKeys`), so outside
 * verifiers and ours agree.
 */
import type { JsonWebKey } from 'node:crypto';
import type { SigningKeyRecord } from '../../common/tables';
import { verificationKey, type VerificationKey } from './signing-keys';

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

/** A ring record left out of the set, for the caller to log. */
export interface SkippedKey {
  readonly kid: string;
  readonly problem: string;
}

/**
 * Converted one record at a time: a record whose key material does not parse costs that key
 * (as in the authorizer), not the whole document every verifier needs.
 */
export function jwkSet(records: readonly SigningKeyRecord[], nowSeconds: number): { set: JwkSet; skipped: SkippedKey[] } {
  const keys: PublicJwk[] = [];
  const skipped: SkippedKey[] = [];
  for (const record of records) {
    try {
      const verifying = verificationKey(record, nowSeconds);
      if (verifying) keys.push(publicJwk(verifying));
    } catch (error) {
      skipped.push({ kid: String(record.kid), problem: (error as Error).message });
    }
  }
  return { set: { keys }, skipped };
}

function publicJwk({ kid, alg, key }: VerificationKey): PublicJwk {
  const { kty, crv, x, y, n, e } = key.export({ format: 'jwk' }) as JsonWebKey;
  const material = Object.fromEntries(Object.entries({ crv, x, y, n, e }).filter(([, value]) => value !== undefined));
  return { kid, alg, use: 'sig', kty: kty ?? '', ...material };
}
