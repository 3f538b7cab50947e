/**
 * Verification of Tollgate access tokens (RFC 9068 JWT profile, RFC 7515 compact JWS)
 * with `node:crypto` directly: the general libraries (jose, fast-jwt, aws-jwt-verify)
 * spend more per token than the authorizer's budget allows. What we accept is pinned
 * down by a differential property test against `jose.jwtVerify`
 * (test/unit/authorizer/verifier-differential.test.ts).
 *
 * Deliberately stricter than a general JWT library:
 * - the ring key named by `kid` decides the algorithm (RFC 8725 §3.1); `jwk`, `jku`,
 *   `x5u`, `x5c` headers are never used; any `crit` is refused (RFC 7515 §4.1.11: we
 *   understand no extension);
 * - base64url exactly as RFC 7515 §2 defines it: URL alphabet, no padding, no whitespace;
 * - the signature has exactly the algorithm's length (a DER-encoded ES256 signature is
 *   refused, as RFC 7518 §3.4 requires);
 * - every claim of the contract (§1.2) present and typed, `sub` equal to `client_id`,
 *   and a lifetime no longer than the contract's hard maximum.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { ACCESS_TOKEN_TYP } from '../../common/tokens';
import { RejectReason, TokenRejected } from './authorizer-errors';
import type { KeyLookup, TrustedKey } from './key-ring-cache';

export interface VerifierOptions {
  readonly issuer: string;
  readonly audience: string;
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
  readonly iat: number;
  readonly exp: number;
}

interface ProtectedHeader {
  readonly alg: string;
  readonly kid: string;
}

/** Distinct protected headers are few (one per ring key); parsing each once saves a decode per token. */
const HEADER_CACHE_LIMIT = 64;
/** RFC 7515 §4.1.9 / RFC 9068 §2.1: `typ` compares case-insensitively, `application/` optional. */
const EXPECTED_TYP = `application/${ACCESS_TOKEN_TYP}`;

/** base64url alphabet (RFC 4648 §5) as a lookup table over char codes. */
const BASE64URL = (() => {
  const table = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') table[c.charCodeAt(0)] = 1;
  return table;
})();

export class AccessTokenVerifier {
  private readonly headers = new Map<string, ProtectedHeader>();

  constructor(private readonly options: VerifierOptions) {}

  /** The verified token, or a `TokenRejected` naming the first reason found. */
  verify(token: string, keys: KeyLookup, nowSeconds: number): VerifiedToken {
    const firstDot = token.indexOf('.');
    const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
    if (firstDot <= 0 || secondDot <= firstDot + 1 || secondDot === token.length - 1 || token.indexOf('.', secondDot + 1) !== -1) {
      throw new TokenRejected(RejectReason.malformedToken);
    }
    const header = this.protectedHeader(token.slice(0, firstDot));
    const key = keys.lookup(header.kid, nowSeconds);
    if (key === undefined) throw new TokenRejected(RejectReason.unknownKid, { kid: header.kid });
    if (header.alg !== key.alg) throw new TokenRejected(RejectReason.algorithmMismatch, { kid: key.kid });
    if (!isBase64Url(token, firstDot + 1, secondDot)) throw new TokenRejected(RejectReason.malformedToken, { kid: key.kid });
    verifySignature(token, secondDot, key);
    const claims = decodeJsonObject(token.slice(firstDot + 1, secondDot));
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
    const { sub, client_id: clientId, jti, scope, cid, iat, exp, nbf, iss, aud } = claims;
    if (
      !nonEmptyString(sub) ||
      !nonEmptyString(jti) ||
      !nonEmptyString(cid) ||
      typeof scope !== 'string' ||
      clientId !== sub ||
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      (nbf !== undefined && typeof nbf !== 'number')
    ) {
      throw new TokenRejected(RejectReason.invalidClaims, { kid: key.kid, ...factsOf(sub, jti) });
    }
    const facts = { kid: key.kid, clientId: sub, jti };
    const { issuer, audience, clockSkewSeconds: skew, maxLifetimeSeconds } = this.options;
    if (iss !== issuer) throw new TokenRejected(RejectReason.wrongIssuer, facts);
    if (aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) throw new TokenRejected(RejectReason.wrongAudience, facts);
    // RFC 7519 §4.1.4: the token MUST NOT be accepted on or after `exp` (plus leeway).
    if (exp <= now - skew) throw new TokenRejected(RejectReason.expired, facts);
    if (nbf !== undefined && nbf > now + skew) throw new TokenRejected(RejectReason.notYetValid, facts);
    if (iat > now + skew) throw new TokenRejected(RejectReason.issuedInFuture, facts);
    // Also refuses non-finite numbers (`1e999` parses to Infinity).
    if (!(exp - iat <= maxLifetimeSeconds)) throw new TokenRejected(RejectReason.lifetimeTooLong, facts);
    return { key, clientId: sub, jti, apiKeyId: cid, scope, iat, exp };
  }
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
  const header = isBase64Url(encoded, 0, encoded.length) ? decodeJsonObject(encoded) : undefined;
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
  const start = secondDot + 1;
  // Unpadded base64url of n bytes is exactly ceil(4n/3) characters (RFC 7515 §2).
  if (token.length - start !== Math.ceil((key.signatureBytes * 4) / 3) || !isBase64Url(token, start, token.length)) {
    throw new TokenRejected(RejectReason.badSignature, { kid: key.kid });
  }
  const signature = Buffer.from(token.slice(start), 'base64url');
  let valid = false;
  try {
    // The signing input is ASCII (checked above), so latin1 gives its exact bytes (RFC 7515 §5.2).
    valid = signature.length === key.signatureBytes && cryptoVerify('sha256', Buffer.from(token.slice(0, secondDot), 'latin1'), key.verifyKey, signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new TokenRejected(RejectReason.badSignature, { kid: key.kid });
}

/** A part already checked to be base64url, decoded as a UTF-8 JSON object; undefined for anything else. */
function decodeJsonObject(encoded: string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(encoded, 'base64url');
  // RFC 7515 §5.2 step 3/8: the parts are UTF-8; a lenient decoder would let two byte strings mean the same JSON.
  if (!isUtf8(bytes)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Whether `text[start, end)` is non-empty unpadded base64url of a whole number of bytes. */
function isBase64Url(text: string, start: number, end: number): boolean {
  // A length of 4k+1 characters cannot encode whole bytes (RFC 4648 §5).
  if (end <= start || (end - start) % 4 === 1) return false;
  for (let i = start; i < end; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 128 || BASE64URL[code] === 0) return false;
  }
  return true;
}

