/**
 * Verification of Tollgate access tokens (RFC 9068 JWT profile, RFC 7515 compact JWS)
 * with `node:crypto` directly (`signature-check.ts`): the general libraries (jose, fast-jwt, aws-jwt-verify)
 * spend more per token than the authorizer's budget allows. What we accept is pinned
 * down by a differential property test against `jose.jwtVerify`
 * (test/unit/authorizer/verifier-differential.test.ts).
 *
 * Deliberately stricter than a general JWT library:
 * - the ring key named by `kid` decides the algorithm (RFC 8725 §3.1); `jwk`, `jku`,
 *   `x5u`, `x5c` headers are never used; any `crit` is refused (RFC 7515 §4.1.11: we
 *   understand no extension);
 * - base64url exactly as RFC 7515 §2 defines it: URL alphabet, no padding, no whitespace,
 *   and a last character whose bits beyond the data are zero (RFC 4648 §3.5), so one token
 *   has one spelling;
 * - the signature has exactly the algorithm's length (a DER-encoded ES256 signature is
 *   refused, as RFC 7518 §3.4 requires);
 * - every claim the token format requires (docs/api.md#credentials) present and typed, `sub` equal to `client_id`,
 *   and a lifetime no longer than the contract's hard maximum.
 */
import { isUtf8 } from 'node:buffer';
import { Limits } from '../../../common/defaults';
import { ACCESS_TOKEN_TYP, USAGE_KEY_PATTERN } from '../../../common/tokens';
import { RejectReason, TokenRejected } from './authorizer-errors';
import type { KeyLookup, TrustedKey } from './key-ring-cache';

export interface VerifierOptions {
  readonly issuer: string;
  /** The audience, or the audiences of every service the deployment fronts: a token must name one of them. */
  readonly audience: string | readonly string[];
  /** Leeway for `exp`, `nbf` and `iat` (RFC 7519 §4.1.4 allows "some small leeway"). */
  readonly clockSkewSeconds: number;
  /** Longest allowed `exp - iat`. */
  readonly maxLifetimeSeconds: number;
}

/** The facts of a verified token that decisions, caching and revocation need. */
export interface VerifiedToken {
  readonly key: TrustedKey;
  readonly clientId: string;
  readonly jti: string;
  /** `cid`: the keyId of the API key that minted the token. */
  readonly apiKeyId: string;
  readonly scope: string;
  /** `aud` as the token carries it: which service(s) it was minted for. */
  readonly aud: string | readonly string[];
  readonly iat: number;
  readonly exp: number;
  /** `uik`: the client's usage key, when its registration with a usage plan was confirmed at issuance. */
  readonly usageKey: string | undefined;
}

interface ProtectedHeader {
  readonly alg: string;
  readonly kid: string;
}

/** Distinct protected headers are few (one per ring key); parsing each once saves a decode per token. */
const HEADER_CACHE_LIMIT = 64;
/** RFC 7515 §4.1.9 / RFC 9068 §2.1: `typ` compares case-insensitively, `application/` optional. */
const EXPECTED_TYP = `application/${ACCESS_TOKEN_TYP}`;

export class AccessTokenVerifier {
  private readonly headers = new Map<string, ProtectedHeader>();

  constructor(private readonly options: VerifierOptions) {}

  /** The verified token, or a `TokenRejected` naming the first reason found. */
  verify(token: string, keys: KeyLookup, nowSeconds: number): VerifiedToken {
    const firstDot = token.indexOf('.');
    const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
    if (firstDot <= 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) !== -1 || !hasBase64UrlAlphabetOnly(token)) {
      throw new TokenRejected(RejectReason.malformedToken);
    }
    const header = this.protectedHeader(token.slice(0, firstDot));
    const key = keys.lookup(header.kid, nowSeconds);
    if (key === undefined) throw new TokenRejected(RejectReason.unknownKid, { kid: header.kid });
    if (header.alg !== key.alg) throw new TokenRejected(RejectReason.algorithmMismatch, { kid: key.kid });
    const payloadBytes = decodePart(token, firstDot + 1, secondDot, PAYLOAD);
    if (payloadBytes < 0) throw new TokenRejected(RejectReason.malformedToken, { kid: key.kid });
    verifySignature(token, secondDot, key);
    const claims = parseJsonObject(PAYLOAD, payloadBytes);
    if (claims === undefined) throw new TokenRejected(RejectReason.malformedToken, { kid: key.kid });
    return this.checkClaims(claims, key, nowSeconds);
  }

  private protectedHeader(encoded: string): ProtectedHeader {
    const known = this.headers.get(encoded);
    if (known !== undefined) return known;
    const header = parseProtectedHeader(encoded);
    if (this.headers.size >= HEADER_CACHE_LIMIT) this.headers.clear();
    this.headers.set(encoded, header);
    return header;
  }

  private checkClaims(claims: Record<string, unknown>, key: TrustedKey, now: number): VerifiedToken {
    const { sub, client_id: clientId, jti, scope, cid, iat, exp, nbf, iss, aud, uik } = claims;
    if (
      !nonEmptyString(sub) ||
      !nonEmptyString(jti) ||
      !nonEmptyString(cid) ||
      typeof scope !== 'string' ||
      clientId !== sub ||
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      (nbf !== undefined && typeof nbf !== 'number') ||
      (uik !== undefined && !(typeof uik === 'string' && USAGE_KEY_PATTERN.test(uik)))
    ) {
      throw new TokenRejected(RejectReason.invalidClaims, { kid: key.kid, ...factsOf(sub, jti) });
    }
    const facts = { kid: key.kid, clientId: sub, jti };
    const { issuer, audience, clockSkewSeconds: skew, maxLifetimeSeconds } = this.options;
    if (iss !== issuer) throw new TokenRejected(RejectReason.wrongIssuer, facts);
    if (!namesAudience(aud, audience)) throw new TokenRejected(RejectReason.wrongAudience, facts);
    // RFC 7519 §4.1.4: the token MUST NOT be accepted on or after `exp` (plus leeway).
    if (exp <= now - skew) throw new TokenRejected(RejectReason.expired, facts);
    if (nbf !== undefined && nbf > now + skew) throw new TokenRejected(RejectReason.notYetValid, facts);
    if (iat > now + skew) throw new TokenRejected(RejectReason.issuedInFuture, facts);
    // Also refuses non-finite numbers (`1e999` parses to Infinity).
    if (!(exp - iat <= maxLifetimeSeconds)) throw new TokenRejected(RejectReason.lifetimeTooLong, facts);
    // One shape whether or not `uik` is present: no second object for the optional claim.
    return { key, clientId: sub, jti, apiKeyId: cid, scope, aud: aud as string | string[], iat, exp, usageKey: uik };
  }
}

/** Whether `aud` (RFC 7519 §4.1.3: a string or an array of strings) names the audience, or one of them. */
export function namesAudience(aud: unknown, audience: string | readonly string[]): boolean {
  const known = (value: unknown) => (typeof audience === 'string' ? value === audience : audience.includes(value as string));
  if (typeof aud === 'string') return known(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && known(a));
}

function factsOf(sub: unknown, jti: unknown): { clientId?: string; jti?: string } {
  return {
    ...(typeof sub === 'string' ? { clientId: sub } : {}),
    ...(typeof jti === 'string' ? { jti } : {}),
  };
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function parseProtectedHeader(encoded: string): ProtectedHeader {
  const bytes = decodePart(encoded, 0, encoded.length, HEADER);
  const header = bytes < 0 ? undefined : parseJsonObject(HEADER, bytes);
  if (header === undefined) throw new TokenRejected(RejectReason.malformedToken);
  const { alg, kid, typ, crit } = header;
  if (typeof alg !== 'string' || alg === '' || typeof kid !== 'string' || kid === '') {
    throw new TokenRejected(RejectReason.malformedHeader);
  }
  if (crit !== undefined) throw new TokenRejected(RejectReason.critUnsupported, { kid });
  if (typeof typ !== 'string' || normalizedTyp(typ) !== EXPECTED_TYP) throw new TokenRejected(RejectReason.wrongType, { kid });
  return { alg, kid };
}

function normalizedTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.includes('/') ? lower : `application/${lower}`;
}

function verifySignature(token: string, secondDot: number, key: TrustedKey): void {
  const bytes = decodePart(token, secondDot + 1, token.length, SIGNATURE);
  // The check refuses any length but its algorithm's: a DER ES256 signature (70–72 bytes) never reaches OpenSSL.
  if (bytes < 0 || !key.check(token.slice(0, secondDot), SIGNATURE.subarray(0, bytes))) {
    throw new TokenRejected(RejectReason.badSignature, { kid: key.kid });
  }
}

/**
 * Scratch space for decoded parts. Verification is synchronous and single-threaded, so
 * one buffer per part serves every call and decoding allocates nothing.
 */
const HEADER = Buffer.alloc(Limits.maxAccessTokenBytes);
const PAYLOAD = Buffer.alloc(Limits.maxAccessTokenBytes);
const SIGNATURE = Buffer.alloc(Limits.maxAccessTokenBytes);

/**
 * The whole token is ASCII and free of `+` and `/` (base64, not base64url). Together with
 * `decodePart`'s length rule this is exactly "every part is strict unpadded base64url"
 * (RFC 7515 §2), checked with two memchr-speed scans instead of a per-character loop;
 * test/unit/authorizer/base64url.test.ts pins the equivalence against the regex.
 */
function hasBase64UrlAlphabetOnly(token: string): boolean {
  return Buffer.byteLength(token, 'utf8') === token.length && token.indexOf('+') === -1 && token.indexOf('/') === -1;
}

/**
 * Decodes `text[start, end)` into `into`; the byte count, or -1 unless the part is
 * non-empty canonical unpadded base64url, given that the caller has refused `+` and `/`
 * (`hasBase64UrlAlphabetOnly`: Node's base64url decoder also reads those). Node's decoder skips characters outside the
 * alphabet and stops at `=`, so any such character leaves fewer than ⌊3·length/4⌋ bytes; a
 * length of 4k+1 characters cannot encode whole bytes (RFC 4648 §5). A part of 4k+2 or 4k+3
 * characters ends in a character carrying 4 or 2 bits beyond the data, which the decoder
 * ignores: they must be zero (RFC 4648 §3.5), or the same token would have 16 (or 4)
 * spellings, each a separate entry in every cache keyed by the token and a separate string
 * to anything that matches tokens by their text.
 */
export function decodePart(text: string, start: number, end: number, into: Buffer): number {
  const length = end - start;
  if (length === 0 || length % 4 === 1) return -1;
  const written = into.write(text.slice(start, end), 0, 'base64url');
  if (written !== (length * 3) >> 2) return -1;
  const spare = SPARE_BITS[length % 4]!;
  return spare === 0 || (BASE64URL_VALUE[text.charCodeAt(end - 1) & 0x7f]! & spare) === 0 ? written : -1;
}

/** By part length mod 4: the bits of the last character beyond the data (none for whole groups). */
const SPARE_BITS = [0, 0, 0b1111, 0b11] as const;
/** The 6-bit value of each base64url character (RFC 4648 §5), by character code; the part's characters are checked to be ASCII of this alphabet. */
const BASE64URL_VALUE = (() => {
  const values = new Uint8Array(128);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

/** Decoded bytes as a UTF-8 JSON object, or undefined for anything else. */
function parseJsonObject(buffer: Buffer, bytes: number): Record<string, unknown> | undefined {
  // RFC 7515 §5.2 / RFC 7519 §7.2: the parts are UTF-8; a lenient decoder would let two byte strings mean the same JSON.
  if (!isUtf8(buffer.subarray(0, bytes))) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(buffer.toString('utf8', 0, bytes));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
