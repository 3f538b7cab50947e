/**
 * A local endpoint speaking the AWS KMS JSON 1.1 protocol for the signing-key operations
 * Tollgate uses (CreateKey, DescribeKey, GetPublicKey, Sign, ListKeys, tags and the key
 * lifecycle), so the real `@aws-sdk/client-kms` works against it unchanged. Keys live in
 * memory and, with `persistPath`, in a JSON file that is rewritten atomically after every
 * change. No KMS emulator ships in npm or Debian, hence this one.
 *
 *   npx tsx local/kms.ts --port 4599 [--persist .local/kms.json] [--host 127.0.0.1] [--region us-east-1]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  constants,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateEncrypt,
  randomBytes,
  randomUUID,
  sign as signWithOpenSsl,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { onStopSignal } from './signals';

export const LOCAL_KMS_ACCOUNT_ID = '000000000000';
const DEFAULT_REGION = 'us-east-1';
const MAX_BODY_BYTES = 1024 * 1024;
/** KMS's own limit on `Message` for Sign, RAW or DIGEST alike. */
const MAX_MESSAGE_BYTES = 4096;
const SECONDS_PER_DAY = 86_400;

// ---------------------------------------------------------------------------------------
// Errors, shaped like KMS's: `__type` + `message`, mostly HTTP 400.
// ---------------------------------------------------------------------------------------

export class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

function validation(message: string): KmsError {
  return new KmsError('ValidationException', message);
}

function unsupported(message: string): KmsError {
  return new KmsError('UnsupportedOperationException', message);
}

// ---------------------------------------------------------------------------------------
// Key specs and signing algorithms.
// ---------------------------------------------------------------------------------------

type HashName = 'sha256' | 'sha384' | 'sha512';
type SignatureScheme = 'ecdsa' | 'pkcs1' | 'pss';

interface SigningAlgorithm {
  readonly scheme: SignatureScheme;
  readonly hash: HashName;
  readonly digestBytes: number;
}

const SIGNING_ALGORITHMS = {
  ECDSA_SHA_256: { scheme: 'ecdsa', hash: 'sha256', digestBytes: 32 },
  RSASSA_PKCS1_V1_5_SHA_256: { scheme: 'pkcs1', hash: 'sha256', digestBytes: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { scheme: 'pkcs1', hash: 'sha384', digestBytes: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { scheme: 'pkcs1', hash: 'sha512', digestBytes: 64 },
  RSASSA_PSS_SHA_256: { scheme: 'pss', hash: 'sha256', digestBytes: 32 },
  RSASSA_PSS_SHA_384: { scheme: 'pss', hash: 'sha384', digestBytes: 48 },
  RSASSA_PSS_SHA_512: { scheme: 'pss', hash: 'sha512', digestBytes: 64 },
} as const satisfies Record<string, SigningAlgorithm>;
type SigningAlgorithmName = keyof typeof SIGNING_ALGORITHMS;

/**
 * Every value of KMS's SigningAlgorithmSpec enum: a value outside it is a
 * ValidationException, a value inside it that the key cannot use is InvalidKeyUsageException.
 */
const KMS_SIGNING_ALGORITHMS = [
  ...Object.keys(SIGNING_ALGORITHMS),
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
] as const;

interface KeySpecDefinition {
  /** Every usage KMS accepts for the spec; only SIGN_VERIFY is served here. */
  readonly validUsages: readonly string[];
  readonly signingAlgorithms: readonly SigningAlgorithmName[];
}

const KEY_SPECS = {
  ECC_NIST_P256: { validUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], signingAlgorithms: ['ECDSA_SHA_256'] },
  RSA_2048: {
    validUsages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
    signingAlgorithms: [
      'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384',
      'RSASSA_PKCS1_V1_5_SHA_512',
      'RSASSA_PSS_SHA_256',
      'RSASSA_PSS_SHA_384',
      'RSASSA_PSS_SHA_512',
    ],
  },
} as const satisfies Record<string, KeySpecDefinition>;
export type LocalKeySpec = keyof typeof KEY_SPECS;

const KMS_KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87',
] as const;
const KMS_KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
const KMS_ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;

function isLocalKeySpec(value: string): value is LocalKeySpec {
  return Object.hasOwn(KEY_SPECS, value);
}

function generatePrivateKey(spec: LocalKeySpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject) =>
      error ? reject(error) : resolve(privateKey);
    if (spec === 'ECC_NIST_P256') generateKeyPair('ec', { namedCurve: 'P-256' }, done);
    else generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 65537 }, done);
  });
}

// ---------------------------------------------------------------------------------------
// Signing. RAW goes straight to OpenSSL. DIGEST needs the signature primitive without the
// hashing step, which node:crypto does not expose (crypto.sign(null, ...) still hashes
// with the key type's default digest), so the encodings are built here.
// ---------------------------------------------------------------------------------------

export type MessageType = 'RAW' | 'DIGEST';

function signMessage(privateKey: KeyObject, algorithm: SigningAlgorithm, message: Buffer, messageType: MessageType): Buffer {
  return messageType === 'RAW' ? signRaw(privateKey, algorithm, message) : signDigest(privateKey, algorithm, message);
}

function signRaw(key: KeyObject, algorithm: SigningAlgorithm, message: Buffer): Buffer {
  switch (algorithm.scheme) {
    case 'ecdsa':
      // KMS returns ECDSA signatures DER-encoded (RFC 3279), not as JOSE's r‖s.
      return signWithOpenSsl(algorithm.hash, message, { key, dsaEncoding: 'der' });
    case 'pkcs1':
      return signWithOpenSsl(algorithm.hash, message, { key, padding: constants.RSA_PKCS1_PADDING });
    case 'pss':
      // KMS's RSASSA-PSS uses MGF1 with the message hash and a salt as long as the digest.
      return signWithOpenSsl(algorithm.hash, message, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: algorithm.digestBytes,
      });
  }
}

function signDigest(key: KeyObject, algorithm: SigningAlgorithm, digest: Buffer): Buffer {
  switch (algorithm.scheme) {
    case 'ecdsa':
      return ecdsaSignDigest(key, digest);
    case 'pkcs1':
      return privateEncrypt(
        { key, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([DIGEST_INFO_PREFIX[algorithm.hash], digest]),
      );
    case 'pss':
      return rsaPrimitive(key, emsaPssEncode(digest, algorithm.hash, modulusBits(key)));
  }
}

/** DER DigestInfo headers of RFC 8017 §9.2 note 1, which PKCS#1 v1.5 signs ahead of the digest. */
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const P256 = {
  ecdhCurve: 'prime256v1',
  order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  orderBits: 256,
  coordinateBytes: 32,
} as const;

/**
 * ECDSA (FIPS 186-5 §6.4.1) over a caller-supplied digest. The nonce point k·G comes from
 * OpenSSL through a throwaway ECDH key pair; only the mod-n arithmetic is done here.
 */
function ecdsaSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const { order: n, orderBits, coordinateBytes, ecdhCurve } = P256;
  const scalar = privateKey.export({ format: 'jwk' }).d;
  if (!scalar) throw new Error('not an EC private key');
  const d = toBigInt(Buffer.from(scalar, 'base64url'));
  const e = toBigInt(digest) >> BigInt(Math.max(0, digest.length * 8 - orderBits));
  for (;;) {
    const nonce = createECDH(ecdhCurve);
    nonce.generateKeys();
    const k = toBigInt(nonce.getPrivateKey());
    const r = toBigInt(nonce.getPublicKey().subarray(1, 1 + coordinateBytes)) % n;
    const s = (modPow(k, n - 2n, n) * ((e + r * d) % n)) % n;
    if (r !== 0n && s !== 0n) return derSequence([derInteger(r), derInteger(s)]);
  }
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let x = exponent; x > 0n; x >>= 1n) {
    if (x & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes = Buffer.from(length.toString(16).padStart(length > 0xff ? 4 : 2, '0'), 'hex');
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

function derInteger(value: bigint): Buffer {
  const hex = value.toString(16);
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

function derSequence(items: Buffer[]): Buffer {
  const content = Buffer.concat(items);
  return Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new Error('not an RSA key');
  return bits;
}

/** EMSA-PSS-ENCODE of RFC 8017 §9.1.1, starting from the message hash. */
function emsaPssEncode(messageHash: Buffer, hash: HashName, bits: number): Buffer {
  const hashBytes = messageHash.length;
  const saltBytes = hashBytes;
  const emBits = bits - 1;
  const emLength = Math.ceil(emBits / 8);
  const salt = randomBytes(saltBytes);
  const h = createHash(hash).update(Buffer.alloc(8)).update(messageHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLength - saltBytes - hashBytes - 2), Buffer.from([0x01]), salt]);
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i += 1) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & (0xff >> (8 * emLength - emBits));
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

function mgf1(seed: Buffer, length: number, hash: HashName): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0, produced = 0; produced < length; counter += 1) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RSASP1: the bare private-key operation, on an encoding left-padded to the modulus size. */
function rsaPrimitive(key: KeyObject, encoded: Buffer): Buffer {
  const modulusBytes = Math.ceil(modulusBits(key) / 8);
  const input = Buffer.concat([Buffer.alloc(modulusBytes - encoded.length), encoded]);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, input);
}

// ---------------------------------------------------------------------------------------
// The key store: key material, metadata, state transitions and persistence.
// ---------------------------------------------------------------------------------------

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface Tag {
  readonly TagKey: string;
  readonly TagValue: string;
}

interface StoredKey {
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

  /** Temp file + rename, so a crash mid-write never leaves a truncated key file behind. */
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
    mkdirSync(dirname(this.persistPath), { recursive: true });
    const temp = `${this.persistPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify(snapshot, null, 2)}\n`, { mode: 0o600 });
      renameSync(temp, this.persistPath);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
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

function tagList(key: StoredKey): Tag[] {
  return [...key.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

function keyMetadata(key: StoredKey): Record<string, unknown> {
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

// ---------------------------------------------------------------------------------------
// Request members: type errors are SerializationException, constraint violations are
// ValidationException with the wording KMS uses ("1 validation error detected: ...").
// ---------------------------------------------------------------------------------------

class Members {
  constructor(private readonly body: Record<string, unknown>) {}

  string(name: string, limits: { min?: number; max: number }): string | undefined {
    const value = this.typed(name, 'string');
    if (value === undefined) return undefined;
    if (value.length < (limits.min ?? 1)) throw constraint(name, value, `Member must have length greater than or equal to ${limits.min ?? 1}`);
    if (value.length > limits.max) throw constraint(name, value, `Member must have length less than or equal to ${limits.max}`);
    return value;
  }

  requiredString(name: string, limits: { min?: number; max: number }): string {
    return this.string(name, limits) ?? missing(name);
  }

  enumValue<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.typed(name, 'string');
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw constraint(name, value, `Member must satisfy enum value set: [${values.join(', ')}]`);
    }
    return value as T;
  }

  requiredEnum<T extends string>(name: string, values: readonly T[]): T {
    return this.enumValue(name, values) ?? missing(name);
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.typed(name, 'number');
    if (value === undefined) return undefined;
    if (!Number.isInteger(value)) throw serialization(`'${name}' must be an integer`);
    if (value < min) throw constraint(name, value, `Member must have value greater than or equal to ${min}`);
    if (value > max) throw constraint(name, value, `Member must have value less than or equal to ${max}`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    return this.typed(name, 'boolean');
  }

  /** Blobs travel as base64 strings; the value itself is left out of messages, as KMS does. */
  requiredBlob(name: string, min: number, max: number): Buffer {
    const encoded = this.typed(name, 'string') ?? missing(name);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      throw serialization(`'${name}' is not valid base64`);
    }
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length < min) throw constraint(name, undefined, `Member must have length greater than or equal to ${min}`);
    if (bytes.length > max) throw constraint(name, undefined, `Member must have length less than or equal to ${max}`);
    return bytes;
  }

  tags(name: string): Tag[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw serialization(`'${name}' must be a list`);
    return value.map((entry: unknown, index) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw serialization(`'${name}[${index}]' must be a structure`);
      }
      const tag = new Members(entry as Record<string, unknown>);
      const tagKey = tag.requiredString('TagKey', { max: 128 });
      const tagValue = tag.requiredString('TagValue', { min: 0, max: 256 });
      // KMS reserves the aws: prefix for AWS-generated tags and rejects it as an invalid tag.
      if (tagKey.toLowerCase().startsWith('aws:')) throw new KmsError('TagException', `Tag key '${tagKey}' uses the reserved prefix aws:`);
      return { TagKey: tagKey, TagValue: tagValue };
    });
  }

  private typed(name: string, type: 'string'): string | undefined;
  private typed(name: string, type: 'number'): number | undefined;
  private typed(name: string, type: 'boolean'): boolean | undefined;
  private typed(name: string, type: 'string' | 'number' | 'boolean'): string | number | boolean | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== type) throw serialization(`'${name}' must be a ${type}`);
    return value as string | number | boolean;
  }
}

function memberPath(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function constraint(name: string, value: unknown, rule: string): KmsError {
  const shown = value === undefined ? '' : ` '${String(value)}'`;
  return validation(`1 validation error detected: Value${shown} at '${memberPath(name)}' failed to satisfy constraint: ${rule}`);
}

function missing(name: string): never {
  throw validation(`1 validation error detected: Value null at '${memberPath(name)}' failed to satisfy constraint: Member must not be null`);
}

function serialization(message: string): KmsError {
  return new KmsError('SerializationException', message);
}

// ---------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------

interface OperationContext {
  readonly store: LocalKeyStore;
  readonly region: string;
  readonly members: Members;
}

type Operation = (context: OperationContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

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

const OPERATIONS = new Map<string, Operation>([
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

// ---------------------------------------------------------------------------------------
// HTTP.
// ---------------------------------------------------------------------------------------

const TARGET_PREFIX = 'TrentService.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** `Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request` in a SigV4 Authorization header. */
const CREDENTIAL_SCOPE = /Credential=[^/\s,]+\/\d{8}\/([a-z0-9-]+)\/[^/\s,]+\/aws4_request/;

async function dispatch(store: LocalKeyStore, defaultRegion: string, req: IncomingMessage): Promise<Record<string, unknown>> {
  if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://kms').pathname !== '/') {
    throw new KmsError('UnsupportedOperationException', `The local KMS endpoint serves only POST /, not ${req.method} ${req.url}`, 405);
  }
  // Real KMS refuses unsigned requests before looking at them; signatures are not checked here.
  const authorization = req.headers.authorization;
  if (!authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const target = header(req, 'x-amz-target') ?? '';
  const operation = target.startsWith(TARGET_PREFIX) ? OPERATIONS.get(target.slice(TARGET_PREFIX.length)) : undefined;
  if (!operation) throw unsupported(`Operation '${target}' is not supported by the local KMS endpoint`);
  const body = parseBody(await readBody(req));
  const region = CREDENTIAL_SCOPE.exec(authorization)?.[1] ?? defaultRegion;
  return operation({ store, region, members: new Members(body) });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function tooLarge(): KmsError {
  return new KmsError('ValidationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw serialization('The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw serialization('The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>, requestId: string, errorType?: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': requestId,
    ...(errorType && { 'x-amzn-ErrorType': errorType }),
    ...(status === 413 && { Connection: 'close' }),
  });
  res.end(payload);
}

async function serve(store: LocalKeyStore, defaultRegion: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  try {
    send(res, 200, await dispatch(store, defaultRegion, req), requestId);
  } catch (caught) {
    const error = caught instanceof KmsError ? caught : internalError(caught);
    send(res, error.status, { __type: error.type, message: error.message }, requestId, error.type);
  }
}

/** Only the stack goes to stderr: nothing here carries key material. */
function internalError(caught: unknown): KmsError {
  console.error('local KMS: internal error', caught instanceof Error ? caught.stack : String(caught));
  return new KmsError('KMSInternalException', 'The request was rejected because an internal exception occurred.', 500);
}

export interface LocalKmsOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Interface to listen on; 127.0.0.1 unless told otherwise. */
  readonly host?: string;
  /** JSON file holding keys (private keys as PKCS#8 PEM) across restarts; absent: memory only. */
  readonly persistPath?: string;
  /** Region for requests whose Authorization header has no SigV4 credential scope. */
  readonly region?: string;
}

export interface LocalKms {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startLocalKms(options: LocalKmsOptions = {}): Promise<LocalKms> {
  const store = LocalKeyStore.open(options.persistPath);
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? DEFAULT_REGION;
  const server = createServer((req, res) => void serve(store, region, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

// ---------------------------------------------------------------------------------------
// CLI.
// ---------------------------------------------------------------------------------------

const USAGE = 'usage: tsx local/kms.ts [--port 4599] [--host 127.0.0.1] [--persist FILE] [--region us-east-1]';

function cliOptions(args: string[]): LocalKmsOptions {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      persist: { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  return { port, host: values.host, persistPath: values.persist, region: values.region };
}

async function main(args: string[]): Promise<void> {
  let options: LocalKmsOptions;
  try {
    options = cliOptions(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const kms = await startLocalKms(options);
  console.log(`kms ready on ${kms.endpoint}`);
  onStopSignal(() => void kms.close());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`local KMS failed to start: ${error.message}`);
    process.exitCode = 1;
  });
}
