/**
 * The KMS operations the local endpoint serves (CreateKey, DescribeKey, GetPublicKey, Sign,
 * ListKeys, tags and the key lifecycle), each from its request members to its answer.
 */
import {
  isLocalKeySpec,
  KEY_SPECS,
  KMS_KEY_SPECS,
  KMS_KEY_USAGES,
  KMS_ORIGINS,
  KMS_SIGNING_ALGORITHMS,
  SIGNING_ALGORITHMS,
  signMessage,
  type LocalKeySpec,
  type MessageType,
  type SigningAlgorithm,
  type SigningAlgorithmName,
} from './crypto';
import { KmsError, unsupported, validation } from './errors';
import { keyMetadata, tagList, type LocalKeyStore, type StoredKey } from './key-store';
import { missing, type Members } from './protocol';

/** KMS's own limit on `Message` for Sign, RAW or DIGEST alike. */
const MAX_MESSAGE_BYTES = 4096;

export interface OperationContext {
  readonly store: LocalKeyStore;
  readonly region: string;
  readonly members: Members;
}

export type Operation = (context: OperationContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** KeyId members accept a key id, key ARN, alias name or alias ARN of up to 2048 characters. */
function targetKey({ store, region, members }: OperationContext) {
  return store.find(members.requiredString('KeyId', { max: 2048 }), region);
}

async function createKey({ store, region, members }: OperationContext): Promise<Record<string, unknown>> {
  const keySpec = requestedKeySpec(members);
  const keyUsage = members.enumValue('KeyUsage', KMS_KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  const origin = members.enumValue('Origin', KMS_ORIGINS) ?? 'AWS_KMS';
  const description = members.string('Description', { min: 0, max: 8192 }) ?? '';
  const tags = members.tags('Tags') ?? [];
  // Type-checked, then ignored: key policies are not evaluated locally.
  members.string('Policy', { max: 131072 });
  members.boolean('BypassPolicyLockoutSafetyCheck');
  const spec = localKeySpec(keySpec, keyUsage);
  if (origin !== 'AWS_KMS') throw unsupported(`Origin ${origin} is not supported by the local KMS endpoint`);
  if (members.boolean('MultiRegion')) throw unsupported('Multi-Region keys are not supported by the local KMS endpoint');
  if (members.string('CustomKeyStoreId', { max: 64 }) !== undefined) throw unsupported('Custom key stores are not supported by the local KMS endpoint');
  const key = await store.create({ region, keySpec: spec, description, tags });
  return { KeyMetadata: keyMetadata(key) };
}

/** CustomerMasterKeySpec is KeySpec's deprecated twin; KMS rejects a request naming both. */
function requestedKeySpec(members: Members): string {
  const keySpec = members.enumValue('KeySpec', KMS_KEY_SPECS);
  const legacy = members.enumValue('CustomerMasterKeySpec', KMS_KEY_SPECS);
  if (keySpec && legacy) throw validation('You cannot specify KeySpec and CustomerMasterKeySpec in the same request.');
  return keySpec ?? legacy ?? 'SYMMETRIC_DEFAULT';
}

function localKeySpec(keySpec: string, keyUsage: string): LocalKeySpec {
  if (!isLocalKeySpec(keySpec)) {
    throw unsupported(`KeySpec ${keySpec} is not supported by the local KMS endpoint; use ${Object.keys(KEY_SPECS).join(' or ')}`);
  }
  if (!(KEY_SPECS[keySpec].validUsages as readonly string[]).includes(keyUsage)) {
    throw validation(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
  }
  if (keyUsage !== 'SIGN_VERIFY') throw unsupported(`KeyUsage ${keyUsage} is not supported by the local KMS endpoint; use SIGN_VERIFY`);
  return keySpec;
}

function describeKey(context: OperationContext): Record<string, unknown> {
  return { KeyMetadata: keyMetadata(targetKey(context)) };
}

function getPublicKey(context: OperationContext): Record<string, unknown> {
  const key = targetKey(context);
  context.store.assertUsable(key);
  return {
    KeyId: key.arn,
    PublicKey: key.publicKey.toString('base64'),
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: [...KEY_SPECS[key.keySpec].signingAlgorithms],
  };
}

function sign(context: OperationContext): Record<string, unknown> {
  const { members, store } = context;
  const message = members.requiredBlob('Message', 1, MAX_MESSAGE_BYTES);
  const messageType = members.enumValue<MessageType>('MessageType', ['RAW', 'DIGEST']) ?? 'RAW';
  const algorithmName = members.requiredEnum('SigningAlgorithm', KMS_SIGNING_ALGORITHMS);
  const dryRun = members.boolean('DryRun') ?? false;
  const key = targetKey(context);
  store.assertUsable(key);
  const algorithm = signingAlgorithmFor(key, algorithmName);
  if (messageType === 'DIGEST' && message.length !== algorithm.digestBytes) {
    throw validation(`Digest is invalid length for algorithm ${algorithmName}.`);
  }
  if (dryRun) throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  return {
    KeyId: key.arn,
    Signature: signMessage(key.privateKey, algorithm, message, messageType).toString('base64'),
    SigningAlgorithm: algorithmName,
  };
}

function signingAlgorithmFor(key: StoredKey, name: string): SigningAlgorithm {
  const allowed: readonly string[] = KEY_SPECS[key.keySpec].signingAlgorithms;
  if (!allowed.includes(name)) {
    throw new KmsError(
      'InvalidKeyUsageException',
      `You cannot use the signing algorithm ${name} with ${key.arn}. Its KeySpec ${key.keySpec} supports ${allowed.join(', ')}.`,
    );
  }
  return SIGNING_ALGORITHMS[name as SigningAlgorithmName];
}

function scheduleKeyDeletion(context: OperationContext): Record<string, unknown> {
  const days = context.members.integer('PendingWindowInDays', 7, 30) ?? 30;
  const key = targetKey(context);
  context.store.scheduleDeletion(key, days);
  return { KeyId: key.arn, DeletionDate: key.deletionDate, KeyState: key.keyState, PendingWindowInDays: days };
}

function cancelKeyDeletion(context: OperationContext): Record<string, unknown> {
  const key = targetKey(context);
  context.store.cancelDeletion(key);
  return { KeyId: key.arn };
}

function enableKey(context: OperationContext): Record<string, unknown> {
  context.store.setEnabled(targetKey(context), true);
  return {};
}

function disableKey(context: OperationContext): Record<string, unknown> {
  context.store.setEnabled(targetKey(context), false);
  return {};
}

/** The marker is opaque to callers: the base64url of the last key id on the previous page. */
function listKeys({ store, region, members }: OperationContext): Record<string, unknown> {
  const limit = members.integer('Limit', 1, 1000) ?? 100;
  const marker = members.string('Marker', { max: 1024 });
  const keys = store.list(region);
  let start = 0;
  if (marker !== undefined) {
    const after = keys.findIndex((key) => key.keyId === Buffer.from(marker, 'base64url').toString());
    if (after < 0) throw new KmsError('InvalidMarkerException', 'The marker is not valid for this request.');
    start = after + 1;
  }
  const page = keys.slice(start, start + limit);
  const truncated = start + limit < keys.length;
  return {
    Keys: page.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })),
    Truncated: truncated,
    ...(truncated && { NextMarker: Buffer.from(page[page.length - 1]!.keyId).toString('base64url') }),
  };
}

function tagResource(context: OperationContext): Record<string, unknown> {
  const tags = context.members.tags('Tags') ?? missing('Tags');
  context.store.tag(targetKey(context), tags);
  return {};
}

/** A key holds at most 50 tags, so one page always covers them. */
function listResourceTags(context: OperationContext): Record<string, unknown> {
  context.members.integer('Limit', 1, 50);
  return { Tags: tagList(targetKey(context)), Truncated: false };
}

export const OPERATIONS = new Map<string, Operation>([
  ['CreateKey', createKey],
  ['DescribeKey', describeKey],
  ['GetPublicKey', getPublicKey],
  ['Sign', sign],
  ['ScheduleKeyDeletion', scheduleKeyDeletion],
  ['CancelKeyDeletion', cancelKeyDeletion],
  ['EnableKey', enableKey],
  ['DisableKey', disableKey],
  ['ListKeys', listKeys],
  ['TagResource', tagResource],
  ['ListResourceTags', listResourceTags],
]);
