/** Events and ring records shared by the rotation unit and integration tests. */
import type { SigningKeyState, SigningKeyRecord } from '../../../common/signing-key-items';

/** What an EventBridge rule delivers to Lambda for a schedule. */
export const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2025-11-22T08:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/tollgate-rotation'],
  detail: {},
} as const;

export const RING_T0 = 1_750_000_000;

/** A ring record with a made-up KMS key, for planner and store tests. */
export function ringKey(kid: string, state: SigningKeyState, extra: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return {
    kid,
    state,
    alg: 'ES256',
    keySpec: 'ECC_NIST_P256',
    kmsKeyArn: `arn:aws:kms:us-east-1:000000000000:key/${kid}`,
    publicKey: 'c3BraQ==',
    createdAt: RING_T0,
    version: 1,
    ...extra,
  };
}
