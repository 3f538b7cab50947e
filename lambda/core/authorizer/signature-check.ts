/**
 * JWS signature checks per algorithm, prepared once per ring key.
 *
 * Each check is total: it answers false, never throws, for a signature of the wrong length
 * (RFC 8017 §8.2.2 step 1; RFC 7518 §3.4) and for any input OpenSSL refuses outright.
 *
 * ES256 (RFC 7518 §3.4): `crypto.verify` with `dsaEncoding: 'ieee-p1363'`, i.e. the raw
 * 64-byte r‖s the JWS carries; any other length is refused first, so a DER-encoded
 * signature never reaches OpenSSL's DER parser.
 *
 * RS256 (RFC 7518 §3.3, RSASSA-PKCS1-v1_5 with SHA-256): the RSA public operation
 * (`publicDecrypt` without padding, s^e mod n; OpenSSL refuses s ≥ n) followed by a
 * comparison of the WHOLE encoded message with the one we expect,
 * 0x00 0x01 FF…FF 0x00 ‖ DigestInfo(SHA-256) ‖ H(signing input) — the verification
 * RFC 8017 §8.2.2 step 3–4 describes (encode, then compare), which leaves no parsing for
 * a forged signature to exploit (Bleichenbacher 2006). It costs the same modular
 * exponentiation as `crypto.verify` without OpenSSL 3's per-call EVP context setup,
 * which on Node 20 is a measurable share of an RS256 verification (bench/authorizer.ts).
 */
import { constants, hash, publicDecrypt, verify, type KeyObject } from 'node:crypto';
import { Limits } from '../../../common/defaults';

/** True when `signature` is a valid signature of the ASCII `signingInput` with this key; never throws. */
export type SignatureCheck = (signingInput: string, signature: Buffer) => boolean;

/** The r‖s of a P-256 signature in a JWS (RFC 7518 §3.4). */
export const ES256_SIGNATURE_BYTES = 64;

/** RFC 8017 §9.2 note 1: DER of DigestInfo for SHA-256, without the digest. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const SHA256_BYTES = 32;
/** RFC 8017 §9.2 step 3: at least 8 bytes of 0xFF padding. */
const MIN_PADDING = 8;

/** Scratch for the signing input's bytes: checks are synchronous, so one buffer serves all. */
const SIGNING_INPUT = Buffer.alloc(Limits.maxAccessTokenBytes);

export function es256Check(key: KeyObject): SignatureCheck {
  const options = { key, dsaEncoding: 'ieee-p1363' as const };
  return (signingInput, signature) => {
    if (signature.length !== ES256_SIGNATURE_BYTES) return false;
    // The signing input is ASCII (the verifier checks its alphabet), so latin1 gives its exact bytes (RFC 7515 §5.2).
    const length = SIGNING_INPUT.write(signingInput, 0, 'latin1');
    if (length !== signingInput.length) return false;
    try {
      return verify('sha256', SIGNING_INPUT.subarray(0, length), options, signature);
    } catch {
      return false; // OpenSSL refused the input outright: not a valid signature.
    }
  };
}

export function rs256Check(key: KeyObject, modulusBytes: number): SignatureCheck {
  const options = { key, padding: constants.RSA_NO_PADDING };
  // The encoded message this key's signatures must decrypt to; its last 32 bytes are
  // rewritten with each token's digest (checks are synchronous, so one buffer per key serves all).
  const expected = Buffer.alloc(modulusBytes);
  const digestStart = encodedMessagePrefix(modulusBytes).copy(expected);
  return (signingInput, signature) => {
    // RFC 8017 §8.2.2 step 1: exactly k bytes. OpenSSL would also take a shorter one as the same integer.
    if (signature.length !== modulusBytes) return false;
    expected.set(hash('sha256', signingInput, 'buffer'), digestStart);
    try {
      return publicDecrypt(options, signature).equals(expected);
    } catch {
      return false; // OpenSSL refuses a signature not below the modulus instead of answering.
    }
  };
}

/** EMSA-PKCS1-v1_5 (RFC 8017 §9.2) for SHA-256 and a `length`-byte modulus, up to the digest. */
function encodedMessagePrefix(length: number): Buffer {
  const padding = length - 3 - SHA256_DIGEST_INFO.length - SHA256_BYTES;
  if (padding < MIN_PADDING) throw new Error('modulus too short for RSASSA-PKCS1-v1_5 with SHA-256');
  return Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(padding, 0xff), Buffer.from([0x00]), SHA256_DIGEST_INFO]);
}
