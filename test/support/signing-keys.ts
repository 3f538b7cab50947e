/**
 * Seeds the signing-key ring with a real key in the local KMS endpoint, through the same
 * store the rotation function uses, for tests that need a signer before rotation runs.
 */
import { CreateKeyCommand, GetPublicKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DynamoSigningKeyStore } from '../../lambda/adapters/signing-key-store';
import { SigningKeyState, type SigningKeyRecord } from '../../common/signing-key-items';
import { SIGNING_ALGORITHMS, type KeySpec } from '../../common/tokens';
import type { TestTables } from './aws';

export async function seedSigningKey(
  tables: TestTables,
  kms: KMSClient,
  options: { keySpec?: KeySpec; state?: SigningKeyState; kid?: string; nowSeconds?: number } = {},
): Promise<SigningKeyRecord> {
  const keySpec = options.keySpec ?? 'ECC_NIST_P256';
  const created = await kms.send(new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' }));
  const arn = created.KeyMetadata!.Arn!;
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: arn }));
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const record: SigningKeyRecord = {
    kid: options.kid ?? `k${now.toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    state: options.state ?? SigningKeyState.Active,
    alg: SIGNING_ALGORITHMS[keySpec].alg,
    keySpec,
    kmsKeyArn: arn,
    publicKey: Buffer.from(PublicKey!).toString('base64'),
    createdAt: now,
    activatedAt: now,
    version: 1,
  };
  await new DynamoSigningKeyStore(tables.doc, tables.names.signingKeys).put(record);
  return record;
}
