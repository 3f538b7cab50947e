/**
 * The local KMS endpoint's cryptography: the key specs and signing algorithms it serves
 * (and the names KMS knows but this endpoint refuses), key generation, and signing.
 */
import { constants, createECDH, createHash, generateKeyPair, privateEncrypt, randomBytes, sign as signWithOpenSsl, type KeyObject } from 'node:crypto';

type HashName = 'sha256' | 'sha384' | 'sha512';
type SignatureScheme = 'ecdsa' | 'pkcs1' | 'pss';

export interface SigningAlgorithm {
  readonly scheme: SignatureScheme;
  readonly hash: HashName;
  readonly digestBytes: number;
}

export const SIGNING_ALGORITHMS = {
  ECDSA_SHA_256: { scheme: 'ecdsa', hash: 'sha256', digestBytes: 32 },
  RSASSA_PKCS1_V1_5_SHA_256: { scheme: 'pkcs1', hash: 'sha256', digestBytes: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { scheme: 'pkcs1', hash: 'sha384', digestBytes: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { scheme: 'pkcs1', hash: 'sha512', digestBytes: 64 },
  RSASSA_PSS_SHA_256: { scheme: 'pss', hash: 'sha256', digestBytes: 32 },
  RSASSA_PSS_SHA_384: { scheme: 'pss', hash: 'sha384', digestBytes: 48 },
  RSASSA_PSS_SHA_512: { scheme: 'pss', hash: 'sha512', digestBytes: 64 },
} as const satisfies Record<string, SigningAlgorithm>;
export type SigningAlgorithmName = keyof typeof SIGNING_ALGORITHMS;

/**
 * Every value of KMS's SigningAlgorithmSpec enum: a value outside it is a
 * ValidationException, a value inside it that the key cannot use is InvalidKeyUsageException.
 */
export const KMS_SIGNING_ALGORITHMS = [...Object.keys(SIGNING_ALGORITHMS), 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'SM2DSA', 'ML_DSA_SHAKE_256'] as const;

interface KeySpecDefinition {
  /** Every usage KMS accepts for the spec; only SIGN_VERIFY is served here. */
  readonly validUsages: readonly string[];
  readonly signingAlgorithms: readonly SigningAlgorithmName[];
}

export const KEY_SPECS = {
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

export const KMS_KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
] as const;
export const KMS_KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export const KMS_ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;

export function isLocalKeySpec(value: string): value is LocalKeySpec {
  return Object.hasOwn(KEY_SPECS, value);
}

export function generatePrivateKey(spec: LocalKeySpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject) => (error ? reject(error) : resolve(privateKey));
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

export function signMessage(privateKey: KeyObject, algorithm: SigningAlgorithm, message: Buffer, messageType: MessageType): Buffer {
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
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO_PREFIX[algorithm.hash], digest]));
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
