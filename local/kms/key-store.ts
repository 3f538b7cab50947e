/**
 * The local KMS endpoint's key store: key material, metadata, state transitions and
 * persistence. Keys live in memory and, with `persistPath`, in a JSON file that is
 * rewritten atomically after every change.
 */
import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { generatePrivateKey, KEY_SPECS, type LocalKeySpec } from './crypto';
import { KmsError } from './errors';
import { writePrivateFile } from '../state';

export const LOCAL_KMS_ACCOUNT_ID = '000000000000';
const SECONDS_PER_DAY = 86_400;

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface Tag {
  readonly TagKey: string;
  readonly TagValue: string;
}

export interface StoredKey {
  readonly keyId: string;
  readonly arn: string;
  readonly region: string;
  /** Epoch seconds, fractional, as KMS reports timestamps. */
  readonly creationDate: number;
  readonly description: string;
  readonly keySpec: LocalKeySpec;
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo, which is what GetPublicKey returns. */
  readonly publicKey: Buffer;
  keyState: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  readonly tags: Map<string, string>;
}

export interface NewKey {
  readonly region: string;
  readonly keySpec: LocalKeySpec;
  readonly description: string;
  readonly tags: readonly Tag[];
}

const SnapshotSchema = z.object({
  version: z.literal(1),
  keys: z.array(
    z.object({
      keyId: z.string(),
      arn: z.string(),
      region: z.string(),
      creationDate: z.number(),
      description: z.string(),
      keySpec: z.enum(['ECC_NIST_P256', 'RSA_2048']),
      keyState: z.enum(['Enabled', 'Disabled', 'PendingDeletion']),
      deletionDate: z.number().optional(),
      pendingWindowInDays: z.number().int().optional(),
      tags: z.array(z.object({ TagKey: z.string(), TagValue: z.string() })),
      privateKeyPem: z.string(),
    }),
  ),
});
type Snapshot = z.infer<typeof SnapshotSchema>;

const KEY_ARN = /^arn:[\w-]+:kms:([\w-]+):(\d{12}):key\/(.+)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class LocalKeyStore {
  private readonly keys = new Map<string, StoredKey>();

  private constructor(private readonly persistPath: string | undefined) {}

  /** Loads the keys saved at `persistPath`, if any; without a path, keys live in memory only. */
  static open(persistPath?: string): LocalKeyStore {
    const store = new LocalKeyStore(persistPath);
    if (persistPath) store.load(persistPath);
    return store;
  }

  async create(input: NewKey): Promise<StoredKey> {
    const privateKey = await generatePrivateKey(input.keySpec);
    const keyId = randomUUID();
    const key: StoredKey = {
      keyId,
      arn: keyArn(input.region, keyId),
      region: input.region,
      creationDate: Date.now() / 1000,
      description: input.description,
      keySpec: input.keySpec,
      privateKey,
      publicKey: publicKeyDer(privateKey),
      keyState: 'Enabled',
      tags: new Map(input.tags.map((tag) => [tag.TagKey, tag.TagValue])),
    };
    this.keys.set(keyId, key);
    this.persist();
    return key;
  }

  /**
   * Resolves a key id or key ARN as seen from `region`: KMS keys are regional, so a key
   * made in another region does not exist here. Aliases are not kept, so every alias is unknown.
   */
  find(keyRef: string, region: string): StoredKey {
    this.purgeExpired();
    if (keyRef.startsWith('alias/') || /^arn:[\w-]+:kms:[^:]*:[^:]*:alias\//.test(keyRef)) {
      const aliasArn = keyRef.startsWith('alias/') ? `arn:aws:kms:${region}:${LOCAL_KMS_ACCOUNT_ID}:${keyRef}` : keyRef;
      throw new KmsError('NotFoundException', `Alias ${aliasArn} is not found.`);
    }
    const arn = KEY_ARN.exec(keyRef);
    const keyId = arn ? arn[3]! : keyRef;
    if (!UUID.test(keyId)) throw new KmsError('NotFoundException', `Invalid keyId '${keyRef}'`);
    const key = this.keys.get(keyId);
    if (!key || key.region !== region || (arn && keyRef !== key.arn)) {
      throw new KmsError('NotFoundException', `Key '${arn ? keyRef : keyArn(region, keyId)}' does not exist`);
    }
    return key;
  }

  list(region: string): StoredKey[] {
    this.purgeExpired();
    return [...this.keys.values()].filter((key) => key.region === region);
  }

  /** Sign and GetPublicKey need an enabled key; the failure type depends on the state. */
  assertUsable(key: StoredKey): void {
    if (key.keyState === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.keyState === 'PendingDeletion') throw pendingDeletion(key);
  }

  scheduleDeletion(key: StoredKey, pendingWindowInDays: number, now = Date.now()): void {
    if (key.keyState === 'PendingDeletion') throw pendingDeletion(key);
    key.keyState = 'PendingDeletion';
    key.pendingWindowInDays = pendingWindowInDays;
    key.deletionDate = Math.floor(now / 1000) + pendingWindowInDays * SECONDS_PER_DAY;
    this.persist();
  }

  /** KMS leaves a key whose deletion was cancelled Disabled, not in its previous state. */
  cancelDeletion(key: StoredKey): void {
    if (key.keyState !== 'PendingDeletion') {
      throw new KmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
    }
    key.keyState = 'Disabled';
    delete key.deletionDate;
    delete key.pendingWindowInDays;
    this.persist();
  }

  setEnabled(key: StoredKey, enabled: boolean): void {
    if (key.keyState === 'PendingDeletion') throw pendingDeletion(key);
    key.keyState = enabled ? 'Enabled' : 'Disabled';
    this.persist();
  }

  tag(key: StoredKey, tags: readonly Tag[]): void {
    if (key.keyState === 'PendingDeletion') throw pendingDeletion(key);
    for (const tag of tags) key.tags.set(tag.TagKey, tag.TagValue);
    this.persist();
  }

  /** KMS deletes a key for good when its waiting period ends. */
  private purgeExpired(now = Date.now()): void {
    const expired = [...this.keys.values()].filter((key) => key.deletionDate !== undefined && key.deletionDate * 1000 <= now);
    if (expired.length === 0) return;
    for (const key of expired) this.keys.delete(key.keyId);
    this.persist();
  }

  private load(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let snapshot: Snapshot;
    try {
      snapshot = SnapshotSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new Error(`local KMS state in ${path} is not readable (${(error as Error).message}); move it away to start afresh`);
    }
    for (const saved of snapshot.keys) {
      const privateKey = createPrivateKey(saved.privateKeyPem);
      const { privateKeyPem: _pem, tags, ...metadata } = saved;
      this.keys.set(saved.keyId, {
        ...metadata,
        privateKey,
        publicKey: publicKeyDer(privateKey),
        tags: new Map(tags.map((tag) => [tag.TagKey, tag.TagValue])),
      });
    }
  }

  /** Mode 0600 through temp file + rename (`writePrivateFile`): never a truncated key file. */
  private persist(): void {
    if (!this.persistPath) return;
    const snapshot: Snapshot = {
      version: 1,
      keys: [...this.keys.values()].map((key) => ({
        keyId: key.keyId,
        arn: key.arn,
        region: key.region,
        creationDate: key.creationDate,
        description: key.description,
        keySpec: key.keySpec,
        keyState: key.keyState,
        deletionDate: key.deletionDate,
        pendingWindowInDays: key.pendingWindowInDays,
        tags: tagList(key),
        privateKeyPem: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      })),
    };
    writePrivateFile(this.persistPath, `${JSON.stringify(snapshot, null, 2)}\n`);
  }
}

function keyArn(region: string, keyId: string): string {
  return `arn:aws:kms:${region}:${LOCAL_KMS_ACCOUNT_ID}:key/${keyId}`;
}

function publicKeyDer(privateKey: KeyObject): Buffer {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
}

function pendingDeletion(key: StoredKey): KmsError {
  return new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
}

export function tagList(key: StoredKey): Tag[] {
  return [...key.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

export function keyMetadata(key: StoredKey): Record<string, unknown> {
  return {
    AWSAccountId: LOCAL_KMS_ACCOUNT_ID,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: 'SIGN_VERIFY',
    KeyState: key.keyState,
    ...(key.deletionDate !== undefined && {
      DeletionDate: key.deletionDate,
      PendingDeletionWindowInDays: key.pendingWindowInDays,
    }),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    SigningAlgorithms: [...KEY_SPECS[key.keySpec].signingAlgorithms],
    MultiRegion: false,
  };
}
