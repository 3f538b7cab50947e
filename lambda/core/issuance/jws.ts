/**
 * Compact JWS (RFC 7515) assembly around a signer port, and the conversion KMS needs:
 * KMS returns ECDSA signatures DER-encoded (ASN.1 `SEQUENCE { r INTEGER, s INTEGER }`),
 * while JOSE wants the fixed-width concatenation r‖s (RFC 7518 §3.4). RSA PKCS#1 v1.5
 * signatures are the same bytes in both worlds.
 */
import type { JwsAlgorithm, KmsSigningAlgorithm } from '../../../common/tokens';
import { SIGNING_ALGORITHMS } from '../../../common/tokens';

/** The signing key as the signer port needs it: which KMS key, with which algorithm. */
export interface SigningKeyRef {
  readonly kid: string;
  readonly alg: JwsAlgorithm;
  readonly kmsKeyArn: string;
}

/** Signs `message` (the JWS signing input) with a KMS key; returns KMS's signature bytes (DER for ECDSA). */
export interface Signer {
  sign(key: SigningKeyRef, kmsAlgorithm: KmsSigningAlgorithm, message: Uint8Array): Promise<Uint8Array>;
}

const ALGORITHMS = new Map(Object.values(SIGNING_ALGORITHMS).map((spec) => [spec.alg, spec]));

export function base64url(input: Uint8Array | string): string {
  return Buffer.from(input).toString('base64url');
}

export async function signCompactJws(header: object, payload: object, key: SigningKeyRef, signer: Signer): Promise<string> {
  const spec = ALGORITHMS.get(key.alg);
  if (!spec) throw new Error(`unsupported JWS algorithm ${key.alg}`);
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = await signer.sign(key, spec.kmsAlgorithm, Buffer.from(signingInput, 'ascii'));
  const jose = spec.alg === 'ES256' ? derToJose(signature, spec.signatureBytes) : signature;
  return `${signingInput}.${base64url(jose)}`;
}

/**
 * The payload of a compact JWS, decoded WITHOUT verifying anything: only for looking up
 * an id the caller then checks against our own records. `undefined` when it is not a JWS.
 */
export function unverifiedPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class SignatureFormatError extends Error {
  override readonly name = 'SignatureFormatError';
}

/** DER `ECDSA-Sig-Value` → r‖s, each left-padded to half of `joseBytes` (RFC 7518 §3.4). */
export function derToJose(der: Uint8Array, joseBytes: number): Uint8Array {
  const half = joseBytes / 2;
  const reader = new DerReader(der);
  reader.expectTag(0x30);
  const sequenceEnd = reader.readLength() + reader.offset;
  if (sequenceEnd !== der.length) throw new SignatureFormatError('DER sequence length does not match the signature');
  const r = reader.readInteger();
  const s = reader.readInteger();
  if (reader.offset !== der.length) throw new SignatureFormatError('trailing bytes after the DER signature');
  const out = new Uint8Array(joseBytes);
  out.set(fitUnsigned(r, half), 0);
  out.set(fitUnsigned(s, half), half);
  return out;
}

/** r‖s → DER `ECDSA-Sig-Value` (minimal INTEGERs, a 0x00 prefix where the high bit is set). */
export function joseToDer(jose: Uint8Array): Uint8Array {
  if (jose.length === 0 || jose.length % 2 !== 0) throw new SignatureFormatError('a JOSE ECDSA signature has an even, non-zero length');
  const half = jose.length / 2;
  const body = Buffer.concat([derInteger(jose.subarray(0, half)), derInteger(jose.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function fitUnsigned(integer: Uint8Array, width: number): Uint8Array {
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start += 1;
  const magnitude = integer.subarray(start);
  if (magnitude.length > width) throw new SignatureFormatError('DER integer is wider than the curve order');
  const out = new Uint8Array(width);
  out.set(magnitude, width - magnitude.length);
  return out;
}

function derInteger(unsigned: Uint8Array): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start += 1;
  const magnitude = unsigned.subarray(start);
  // DER INTEGERs are signed: a set high bit would read as negative without the 0x00 prefix.
  const needsPad = (magnitude[0] ?? 0) & 0x80;
  const content = needsPad ? Buffer.concat([Buffer.from([0]), magnitude]) : Buffer.from(magnitude);
  return Buffer.concat([Buffer.from([0x02]), derLength(content.length), content]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length <= 0xff) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

class DerReader {
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  expectTag(tag: number): void {
    if (this.bytes[this.offset] !== tag) throw new SignatureFormatError(`expected DER tag 0x${tag.toString(16)}`);
    this.offset += 1;
  }

  readLength(): number {
    const first = this.byte();
    if (first < 0x80) return first;
    const count = first & 0x7f;
    if (count === 0 || count > 2) throw new SignatureFormatError('unsupported DER length');
    let length = 0;
    for (let i = 0; i < count; i += 1) length = (length << 8) | this.byte();
    return length;
  }

  readInteger(): Uint8Array {
    this.expectTag(0x02);
    const length = this.readLength();
    if (length === 0 || this.offset + length > this.bytes.length) throw new SignatureFormatError('truncated DER integer');
    const value = this.bytes.subarray(this.offset, this.offset + length);
    if ((value[0] ?? 0) & 0x80) throw new SignatureFormatError('negative DER integer in a signature');
    this.offset += length;
    return value;
  }

  private byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new SignatureFormatError('truncated DER signature');
    this.offset += 1;
    return value;
  }
}
