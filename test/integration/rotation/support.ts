/**
 * Shared set-up of the rotation integration tests: the function's environment pointed at
 * DynamoDB Local, the local KMS endpoint and (when given) an EventBridge stub, an injected
 * clock, and ways to look at the KMS keys a test made.
 */
import { DescribeKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { EndpointEnv } from '../../../common/names';
import { ACCESS_TOKEN_TYP } from '../../../common/tokens';
import type { SigningKeyRecord } from '../../../common/signing-key-items';
import { signCompactJws, type Signer } from '../../../lambda/core/issuance/jws';
import { createRotationApp, type RotationAppOptions } from '../../../lambda/rotation/app';
import { dynamoEndpoint, kmsEndpoint, type TestTables } from '../../support/aws';

// The functions' structured logs and metrics would bury the test output; one test turns metrics back on.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

export function rotationEnv(tables: TestTables, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...tables.env,
    [EndpointEnv.dynamodb]: dynamoEndpoint(),
    [EndpointEnv.kms]: kmsEndpoint(),
    ...extra,
  };
}

/** A controllable clock in epoch milliseconds, starting at the real time (KMS stamps real creation times). */
export class TestClock {
  private ms = Math.floor(Date.now() / 1000) * 1000;
  readonly now = (): number => this.ms;

  seconds(): number {
    return this.ms / 1000;
  }

  set(seconds: number): void {
    this.ms = seconds * 1000;
  }

  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export function rotationApp(tables: TestTables, clock: TestClock, options: Omit<RotationAppOptions, 'now'> & { env?: Record<string, string> } = {}) {
  return createRotationApp(rotationEnv(tables, options.env), { ...options, now: clock.now });
}

export async function kmsKeyState(kms: KMSClient, arn: string): Promise<string | undefined> {
  const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
  return KeyMetadata?.KeyState;
}

/** Signs through KMS `Sign` with the whole signing input (`RAW`: KMS hashes it), never with key material here. */
function kmsSigner(kms: KMSClient): Signer {
  return {
    async sign(key, kmsAlgorithm, message) {
      const { Signature } = await kms.send(new SignCommand({ KeyId: key.kmsKeyArn, Message: message, MessageType: 'RAW', SigningAlgorithm: kmsAlgorithm }));
      return Signature!;
    },
  };
}

/** An RFC 9068 access token signed by a ring key through KMS, as the issuer signs it. */
export async function signAccessToken(kms: KMSClient, key: SigningKeyRecord, iat: number, ttlSeconds: number): Promise<string> {
  const claims = {
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: 'orders-app',
    client_id: 'orders-app',
    jti: `jti-${iat}`,
    iat,
    exp: iat + ttlSeconds,
    scope: 'orders:read',
    cid: 'key_0123456789abcdef0123',
  };
  return signCompactJws({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP }, claims, key, kmsSigner(kms));
}

export const TOKEN_ISSUER = 'https://tollgate.test';
export const TOKEN_AUDIENCE = 'tollgate';
