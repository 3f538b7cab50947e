/**
 * The ring's KMS keys: creation (tagged as Tollgate's, this ring's and the kid's, so a key
 * whose ring write never happened can be found again), the one GetPublicKey per key,
 * deletion, and the bounded tag-based listing that reconciliation reads.
 */
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
  type KMSClient,
  type ListKeysCommandOutput,
  type Tag,
} from '@aws-sdk/client-kms';
import { KMS_TAG_APPLICATION_VALUE, KmsTag, type KeySpec } from '../../common/tokens';
import type { CreatedKmsKey, DeletionOutcome, KeyManager, RingKmsKey } from '../core/rotation/rotation-ports';
import { awsErrorName } from './dependency-errors';

/** ListKeys returns at most 1000 per page; smaller pages keep a pass's budget exact. */
const LIST_PAGE_SIZE = 100;

export class KmsKeyManager implements KeyManager {
  /**
   * @param ringId the ring's identity in the `tollgate:ring` tag: the signing-keys table name.
   * @param deletionWindowDays the configured `keyDeletionWindowDays`: the rotation role may
   *   not schedule a deletion with a shorter window (`lib/key-ring.ts`).
   */
  constructor(
    private readonly kms: KMSClient,
    private readonly ringId: string,
    private readonly deletionWindowDays: number,
  ) {}

  async createKey(request: { readonly kid: string; readonly keySpec: KeySpec }): Promise<CreatedKmsKey> {
    const created = await this.kms.send(
      new CreateKeyCommand({
        KeySpec: request.keySpec,
        KeyUsage: 'SIGN_VERIFY',
        Description: `Tollgate access-token signing key ${request.kid} (ring ${this.ringId})`,
        Tags: this.tagsFor(request.kid),
        // Explicit, so the role's condition on it (and its Deny of tagging existing keys) sees it.
        BypassPolicyLockoutSafetyCheck: false,
      }),
    );
    const arn = created.KeyMetadata?.Arn;
    if (!arn) throw new Error('KMS CreateKey returned no key ARN');
    try {
      return { kmsKeyArn: arn, publicKey: await this.publicKey(arn, request.keySpec) };
    } catch (error) {
      // The key never reached the ring and never signed; should this fail too, reconciliation finds it by its tags.
      await this.scheduleDeletion(arn, this.deletionWindowDays).catch(() => undefined);
      throw error;
    }
  }

  async scheduleDeletion(kmsKeyArn: string, pendingWindowInDays: number): Promise<DeletionOutcome> {
    try {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: kmsKeyArn, PendingWindowInDays: pendingWindowInDays }));
      return 'scheduled';
    } catch (error) {
      // Read through the clients' wrapper, which reports an invalid state as the key being unusable.
      const name = awsErrorName(error);
      if (name === 'NotFoundException') return 'not-found';
      // KMS refuses to schedule a key already pending deletion with an invalid-state error.
      if (name === 'KMSInvalidStateException' && isPendingDeletion(await this.describe(kmsKeyArn))) return 'already-scheduled';
      throw error;
    }
  }

  async listRingKeys(request: { readonly cursor?: string; readonly maxKeys: number }): Promise<{ keys: RingKmsKey[]; cursor?: string }> {
    const keys: RingKmsKey[] = [];
    let marker = request.cursor;
    let inspected = 0;
    do {
      const page = await this.listPage(marker, Math.min(LIST_PAGE_SIZE, request.maxKeys - inspected));
      for (const entry of page.Keys ?? []) {
        inspected += 1;
        const key = entry.KeyArn ? await this.ringKey(entry.KeyArn) : undefined;
        if (key) keys.push(key);
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker && inspected < request.maxKeys);
    return marker ? { keys, cursor: marker } : { keys };
  }

  private tagsFor(kid: string): Tag[] {
    return [
      { TagKey: KmsTag.application, TagValue: KMS_TAG_APPLICATION_VALUE },
      { TagKey: KmsTag.ring, TagValue: this.ringId },
      { TagKey: KmsTag.kid, TagValue: kid },
    ];
  }

  private async publicKey(arn: string, keySpec: KeySpec): Promise<string> {
    const answer = await this.kms.send(new GetPublicKeyCommand({ KeyId: arn }));
    if (!answer.PublicKey || answer.KeySpec !== keySpec || answer.KeyUsage !== 'SIGN_VERIFY') {
      throw new Error(`KMS GetPublicKey for ${arn} returned ${answer.KeySpec}/${answer.KeyUsage}, expected ${keySpec}/SIGN_VERIFY`);
    }
    return Buffer.from(answer.PublicKey).toString('base64');
  }

  /** A stored cursor KMS no longer accepts starts the pass over from the first key. */
  private async listPage(marker: string | undefined, limit: number): Promise<ListKeysCommandOutput> {
    try {
      return await this.kms.send(new ListKeysCommand({ Limit: limit, Marker: marker }));
    } catch (error) {
      if (marker === undefined || awsErrorName(error) !== 'InvalidMarkerException') throw error;
      return this.kms.send(new ListKeysCommand({ Limit: limit }));
    }
  }

  /** The key if its tags name Tollgate and this ring; keys we may not read the tags of are not ours. */
  private async ringKey(arn: string): Promise<RingKmsKey | undefined> {
    const tags = await this.tagsOf(arn);
    if (tags.get(KmsTag.application) !== KMS_TAG_APPLICATION_VALUE || tags.get(KmsTag.ring) !== this.ringId) return undefined;
    const metadata = await this.describe(arn);
    const kid = tags.get(KmsTag.kid);
    return {
      kmsKeyArn: arn,
      ...(kid && { kid }),
      createdAt: Math.floor((metadata?.CreationDate?.getTime() ?? 0) / 1000),
      pendingDeletion: isPendingDeletion(metadata),
    };
  }

  private async tagsOf(arn: string): Promise<Map<string, string>> {
    try {
      // A key holds at most 50 tags, which is one page at the default limit.
      const { Tags } = await this.kms.send(new ListResourceTagsCommand({ KeyId: arn }));
      return new Map((Tags ?? []).map((tag) => [tag.TagKey ?? '', tag.TagValue ?? '']));
    } catch (error) {
      const name = awsErrorName(error);
      // The rotation role may read tags only of Tollgate-tagged keys; AWS-managed keys refuse too.
      if (name === 'AccessDeniedException' || name === 'NotFoundException') return new Map();
      throw error;
    }
  }

  private async describe(arn: string): Promise<KeyMetadata | undefined> {
    return (await this.kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata;
  }
}

function isPendingDeletion(metadata: KeyMetadata | undefined): boolean {
  return metadata?.KeyState === 'PendingDeletion' || metadata?.KeyState === 'PendingReplicaDeletion';
}
