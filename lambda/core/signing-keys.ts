/**
 * Which keys of the ring verify tokens right now, as node:crypto public keys. Shared by
 * the authorizer's key cache and the JWKS endpoint so both publish the same set.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SigningKeyState, VERIFYING_STATES, type SigningKeyRecord } from '../../common/tables';
import type { JwsAlgorithm } from '../../common/tokens';

export interface VerificationKey {
  readonly kid: string;
  /** The key decides the algorithm; a token's `alg` header must equal it. */
  readonly alg: JwsAlgorithm;
  readonly key: KeyObject;
  readonly state: SigningKeyState;
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
  return { kid: record.kid, alg: record.alg, key, state: record.state };
}

/** Throws if any verifying record's key does not parse; callers that must survive one bad record go record by record. */
export function verificationKeys(records: readonly SigningKeyRecord[], nowSeconds: number): Map<string, VerificationKey> {
  const keys = new Map<string, VerificationKey>();
  for (const record of records) {
    const verifying = verificationKey(record, nowSeconds);
    if (verifying) keys.set(record.kid, verifying);
  }
  return keys;
}
