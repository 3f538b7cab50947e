/**
 * The signature checks on their own, against `crypto.verify` as the reference: RS256 is
 * checked by the RSA public operation and a comparison of the whole encoded message, so
 * every way an encoded message can be wrong (RFC 8017 §9.2) must be refused exactly as
 * OpenSSL's own PKCS#1 v1.5 verification refuses it, for moduli of any size, and a check
 * must answer false (never throw) for lengths and values OpenSSL will not take.
 */
import { constants, createHash, generateKeyPairSync, type KeyObject, privateEncrypt, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ES256_SIGNATURE_BYTES, es256Check, rs256Check } from '../../../lambda/core/authorizer/signature-check';

const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
/** The same DigestInfo without the NULL parameters: a different encoding of the same digest. */
const SHA256_DIGEST_INFO_NO_NULL = Buffer.from('302f300b0609608648016503040201' + '0420', 'hex');
const INPUT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lIn0';

interface RsaKey {
  readonly bits: number;
  readonly bytes: number;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly modulus: bigint;
}

function rsaKey(requestedBits: number): RsaKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: requestedBits });
  const bits = publicKey.asymmetricKeyDetails!.modulusLength!;
  const n = Buffer.from((publicKey.export({ format: 'jwk' }) as { n: string }).n, 'base64url');
  return { bits, bytes: Math.ceil(bits / 8), publicKey, privateKey, modulus: BigInt(`0x${n.toString('hex')}`) };
}

/** EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of `digest` for a `k`-byte modulus, with `digestInfo` and `padding` bytes of `fill`. */
function encoded(k: number, digest: Buffer, options: { digestInfo?: Buffer; blockType?: number; fill?: number; trailing?: Buffer } = {}): Buffer {
  const { digestInfo = SHA256_DIGEST_INFO, blockType = 1, fill = 0xff, trailing = Buffer.alloc(0) } = options;
  const padding = k - 3 - digestInfo.length - digest.length - trailing.length;
  return Buffer.concat([Buffer.from([0, blockType]), Buffer.alloc(padding, fill), Buffer.from([0]), digestInfo, digest, trailing]);
}

/** The signature whose RSA public operation gives exactly `message` (raw private operation). */
function rawSignature(key: RsaKey, message: Buffer): Buffer {
  return privateEncrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, message);
}

function fixedWidth(value: bigint, bytes: number): Buffer {
  return Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
}

const reference = (key: KeyObject, input: string, signature: Buffer) => verify('sha256', Buffer.from(input, 'latin1'), key, signature);

// 2048 and 4096 are KMS's RSA key sizes (3072 too); 2056 and 2052 are not multiples of 16 bits, 2052 not of 8.
describe.each([2048, 2052, 2056, 4096])('rs256Check, %i-bit modulus', (requested) => {
  const key = rsaKey(requested);
  const check = rs256Check(key.publicKey, key.bytes);
  const digest = createHash('sha256').update(INPUT).digest();

  it('accepts what crypto.verify accepts, and refuses a signature of another input, again and again', () => {
    for (let i = 0; i < 20; i += 1) {
      const input = `${INPUT}${i}`;
      const signature = sign('sha256', Buffer.from(input), key.privateKey);
      expect(check(input, signature)).toBe(true);
      expect(check(`${input}x`, signature)).toBe(false);
      // The per-key scratch holds the last digest: a refusal must not leave it behind.
      expect(check(input, signature)).toBe(true);
    }
    expect(check(INPUT, rawSignature(key, encoded(key.bytes, digest)))).toBe(true);
  });

  it.each<[string, (k: number) => Buffer]>([
    ['block type 02', (k) => encoded(k, digest, { blockType: 2 })],
    ['a padding byte other than FF', (k) => encoded(k, digest, { fill: 0xfe })],
    ['DigestInfo without its NULL parameters', (k) => encoded(k, digest, { digestInfo: SHA256_DIGEST_INFO_NO_NULL })],
    ['bytes after the digest (shorter padding)', (k) => encoded(k, digest, { trailing: Buffer.alloc(4, 7) })],
    ['one bit of the digest flipped', (k) => encoded(k, Buffer.from(digest.map((b, i) => (i === 31 ? b ^ 1 : b))))],
    ['the digest of another input', (k) => encoded(k, createHash('sha256').update(`${INPUT}.`).digest())],
  ])('refuses an encoded message with %s, as crypto.verify does', (_, forge) => {
    const signature = rawSignature(key, forge(key.bytes));
    expect(reference(key.publicKey, INPUT, signature)).toBe(false);
    expect(check(INPUT, signature)).toBe(false);
  });

  it('answers false, without throwing, for values not below the modulus and for wrong lengths', () => {
    const valid = sign('sha256', Buffer.from(INPUT), key.privateKey);
    const values = [0n, 1n, key.modulus - 1n, key.modulus, (1n << BigInt(8 * key.bytes)) - 1n];
    for (const value of values) expect(check(INPUT, fixedWidth(value, key.bytes))).toBe(false);
    expect(check(INPUT, valid.subarray(0, key.bytes - 1))).toBe(false);
    expect(check(INPUT, Buffer.concat([Buffer.alloc(1), valid]))).toBe(false);
    expect(check(INPUT, Buffer.alloc(0))).toBe(false);
  });
});

describe('rs256Check, a valid signature whose first byte is zero', () => {
  it('refuses it with that byte dropped: the same integer, but not k bytes (RFC 8017 §8.2.2 step 1)', () => {
    const key = rsaKey(2048);
    const check = rs256Check(key.publicKey, key.bytes);
    // One signature in 256 starts with a zero byte; look for one among distinct inputs.
    let input = '';
    let signature = Buffer.alloc(0);
    for (let i = 0; signature[0] !== 0; i += 1) {
      input = `${INPUT}${i}`;
      signature = sign('sha256', Buffer.from(input), key.privateKey);
    }
    expect(check(input, signature)).toBe(true);
    expect(check(input, signature.subarray(1))).toBe(false);
  });
});

describe('rs256Check with two keys of different sizes in use at once', () => {
  it('keeps each key’s expected message to itself', () => {
    const keys = [rsaKey(2048), rsaKey(3072)];
    const checks = keys.map((key) => rs256Check(key.publicKey, key.bytes));
    for (let i = 0; i < 10; i += 1) {
      const input = `${INPUT}${i}`;
      const signatures = keys.map((key) => sign('sha256', Buffer.from(input), key.privateKey));
      expect(checks[0]!(input, signatures[0]!)).toBe(true);
      expect(checks[1]!(`${input}x`, signatures[1]!)).toBe(false);
      expect(checks[1]!(input, signatures[1]!)).toBe(true);
      expect(checks[0]!(input, signatures[1]!)).toBe(false);
    }
  });
});

describe('es256Check', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const check = es256Check(publicKey);
  const signature = sign('sha256', Buffer.from(INPUT), { key: privateKey, dsaEncoding: 'ieee-p1363' });

  it('accepts the raw r‖s signature and refuses it for another input', () => {
    expect(signature.length).toBe(ES256_SIGNATURE_BYTES);
    expect(check(INPUT, signature)).toBe(true);
    expect(check(`${INPUT}x`, signature)).toBe(false);
  });

  it('answers false, without throwing, for a DER signature, wrong lengths, zero and all-ones r‖s', () => {
    const der = sign('sha256', Buffer.from(INPUT), privateKey);
    expect(reference(publicKey, INPUT, der)).toBe(true);
    expect(check(INPUT, der)).toBe(false);
    expect(check(INPUT, signature.subarray(1))).toBe(false);
    expect(check(INPUT, Buffer.concat([signature, Buffer.alloc(1)]))).toBe(false);
    expect(check(INPUT, Buffer.alloc(ES256_SIGNATURE_BYTES))).toBe(false);
    expect(check(INPUT, Buffer.alloc(ES256_SIGNATURE_BYTES, 0xff))).toBe(false);
  });

  it('refuses a non-ASCII signing input rather than verify other bytes than the token holds', () => {
    expect(check(`${INPUT}é`, signature)).toBe(false);
  });
});
