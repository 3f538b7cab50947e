/**
 * The signing-key ring's items: attribute names, the ring's partition and head item, the key
 * states and the stored record.
 *
 * Plain data only: this module imports neither aws-cdk-lib nor the AWS SDK.
 */

/** The signing-key ring: every item in one partition, so one Query loads the whole ring. */
export const SigningKeyAttr = {
  ring: 'ring',
  kid: 'kid',
  state: 'state',
  alg: 'alg',
  keySpec: 'keySpec',
  kmsKeyArn: 'kmsKeyArn',
  /** Base64 DER SubjectPublicKeyInfo from KMS GetPublicKey, fetched once by the rotation function. */
  publicKey: 'publicKey',
  createdAt: 'createdAt',
  /** pending → active no earlier than this. */
  activateAt: 'activateAt',
  activatedAt: 'activatedAt',
  retiringAt: 'retiringAt',
  /** A retiring key verifies until this moment: the last token it signed has expired (+ skew). */
  verifyUntil: 'verifyUntil',
  retiredAt: 'retiredAt',
  deletionScheduledAt: 'deletionScheduledAt',
  compromisedAt: 'compromisedAt',
  /** Optimistic-lock counter; every transition is conditional on it. */
  version: 'version',
} as const;

/** Partition-key value of every ring item. */
export const RING_PARTITION = 'signing-keys';
/** Sort key of the ring's head item (holds the active kid and the ring version). */
export const RING_HEAD_KID = '#head';

export const SigningKeyState = {
  Pending: 'pending',
  Active: 'active',
  Retiring: 'retiring',
  Retired: 'retired',
} as const;
export type SigningKeyState = (typeof SigningKeyState)[keyof typeof SigningKeyState];

/** States whose public key verifies tokens and is published in the JWKS. */
export const VERIFYING_STATES: readonly SigningKeyState[] = [SigningKeyState.Pending, SigningKeyState.Active, SigningKeyState.Retiring];

/** A signing-key ring item as stored (the head item aside). */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly state: SigningKeyState;
  readonly alg: 'ES256' | 'RS256';
  readonly keySpec: 'ECC_NIST_P256' | 'RSA_2048';
  readonly kmsKeyArn: string;
  /** Base64 DER SubjectPublicKeyInfo. */
  readonly publicKey: string;
  readonly createdAt: number;
  readonly activateAt?: number;
  readonly activatedAt?: number;
  readonly retiringAt?: number;
  readonly verifyUntil?: number;
  readonly retiredAt?: number;
  readonly deletionScheduledAt?: number;
  readonly compromisedAt?: number;
  readonly version: number;
}
