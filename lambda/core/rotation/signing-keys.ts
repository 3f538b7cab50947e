/**
 * Which keys of the ring verify tokens right now, as node:crypto public keys. Shared by
 * the authorizer's key cache and the JWKS endpoint so both publish the same set.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SigningKeyState, VERIFYING_STATES, type SigningKeyRecord } from '../../../common/signing-key-items';
import type { JwsAlgorithm } from '../../../common/tokens';

export interface VerificationKey {
  readonly kid: string;
  /** The key decides the algorithm; a token's `alg` header must equal it. */
  readonly alg: JwsAlgorithm;
  readonly key: KeyObject;
  readonly state: SigningKeyState;
  /** Epoch seconds from which it no longer verifies: a retiring key's `verifyUntil`, else never (Infinity). */
  readonly verifyUntil: number;
}

/** A ring record left out of a key set, named for the caller's log. */
export interface SkippedKey {
  readonly kid: string;
  readonly problem: string;
}

/** A key verifies while pending, active or retiring, and a retiring one only until `verifyUntil`. */
export function isVerifying(record: SigningKeyRecord, nowSeconds: number): boolean {
  if (record.compromisedAt !== undefined) return false;
  if (!VERIFYING_STATES.includes(record.state)) return false;
  return !(record.state === SigningKeyState.Retiring && record.verifyUntil !== undefined && nowSeconds >= record.verifyUntil);
}

/** One record's key if it verifies now; throws when its stored public key does not parse. */
export function verificationKey(record: SigningKeyRecord, nowSeconds: number): VerificationKey | undefined {
  if (!isVerifying(record, nowSeconds)) return undefined;
  const key = createPublicKey({ key: Buffer.from(record.publicKey, 'base64'), format: 'der', type: 'spki' });
  const verifyUntil = record.state === SigningKeyState.Retiring && record.verifyUntil !== undefined ? record.verifyUntil : Number.POSITIVE_INFINITY;
  return { kid: record.kid, alg: record.alg, key, state: record.state, verifyUntil };
}

/**
 * The ring's verifying keys, converted one record at a time: a record whose stored public key
 * does not parse costs that key (named in `skipped`), not the whole set every verifier needs.
 */
export function verificationKeys(records: readonly SigningKeyRecord[], nowSeconds: number): { keys: Map<string, VerificationKey>; skipped: SkippedKey[] } {
  const keys = new Map<string, VerificationKey>();
  const skipped: SkippedKey[] = [];
  for (const record of records) {
    try {
      const verifying = verificationKey(record, nowSeconds);
      if (verifying) keys.set(record.kid, verifying);
    } catch (error) {
      skipped.push({ kid: String(record.kid), problem: (error as Error).message });
    }
  }
  return { keys, skipped };
}
