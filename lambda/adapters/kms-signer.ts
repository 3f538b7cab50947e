/**
 * The signer port on AWS KMS `Sign`: the private key never leaves KMS. We send the SHA-256
 * digest (`MessageType: DIGEST`) rather than the message, so the token's claims never go
 * to KMS and the 4 KB RAW message limit never applies. KMS returns ECDSA signatures in
 * DER; the JWS core converts them.
 */
import { createHash } from 'node:crypto';
import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { KmsSigningAlgorithm } from '../../common/tokens';
import type { Signer, SigningKeyRef } from '../core/issuance/jws';

export class KmsSigner implements Signer {
  constructor(private readonly kms: KMSClient) {}

  async sign(key: SigningKeyRef, kmsAlgorithm: KmsSigningAlgorithm, message: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(message).digest();
    const { Signature } = await this.kms.send(
      new SignCommand({ KeyId: key.kmsKeyArn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: kmsAlgorithm }),
    );
    if (!Signature || Signature.length === 0) throw new Error(`KMS returned no signature for ${key.kid}`);
    return Signature;
  }
}
