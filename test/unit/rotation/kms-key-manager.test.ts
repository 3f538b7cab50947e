/**
 * The KMS key manager's requests as the rotation role's policy expects them
 * (`lib/key-ring.ts`): CreateKey with the lockout check explicitly on, and the clean-up of a
 * key that never reached the ring with the configured deletion window, never a shorter one.
 */
import { CreateKeyCommand, GetPublicKeyCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { KmsKeyManager } from '../../../lambda/adapters/kms-key-manager';

const ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function recordingKms(failGetPublicKey: boolean): { client: KMSClient; sent: Array<{ name: string; input: Record<string, unknown> }> } {
  const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      if (command instanceof CreateKeyCommand) return { KeyMetadata: { Arn: ARN } };
      if (command instanceof GetPublicKeyCommand && failGetPublicKey) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      if (command instanceof ScheduleKeyDeletionCommand) return {};
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as KMSClient;
  return { client, sent };
}

describe('KmsKeyManager', () => {
  it('creates keys with BypassPolicyLockoutSafetyCheck explicitly false, tagged with our tags', async () => {
    const { client, sent } = recordingKms(true);
    await expect(new KmsKeyManager(client, 'ring-table', 21).createKey({ kid: 'k1', keySpec: 'ECC_NIST_P256' })).rejects.toThrow(/throttled/);
    const create = sent.find((c) => c.name === 'CreateKeyCommand')!;
    expect(create.input).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', BypassPolicyLockoutSafetyCheck: false });
  });

  it('schedules a key whose public key could not be read for deletion with the configured window', async () => {
    const { client, sent } = recordingKms(true);
    await expect(new KmsKeyManager(client, 'ring-table', 21).createKey({ kid: 'k1', keySpec: 'ECC_NIST_P256' })).rejects.toThrow();
    expect(sent.find((c) => c.name === 'ScheduleKeyDeletionCommand')!.input).toEqual({ KeyId: ARN, PendingWindowInDays: 21 });
  });
});
