/**
 * Credential and token formats (docs/api.md#credentials): the API key's shape, the access token's
 * header and claim names, and the signing algorithms per KMS key spec.
 */

/**
 * API keys start with a per-deployment prefix (setting `apiKeyPrefix`), so a secret
 * scanner — GitHub's partner program above all — can tell this issuer's keys from
 * everyone else's. `tg_` is the default, shared by every deployment that keeps it.
 */
export const DEFAULT_API_KEY_PREFIX = 'tg_';
/** What a prefix may be: 2–10 lowercase letters or digits, then `_`. */
export const API_KEY_PREFIX_PATTERN = /^[a-z0-9]{2,10}_$/;
/** Random bytes in an API key: 256 bits (the contract asks for at least 192). */
export const API_KEY_RANDOM_BYTES = 32;
/** Base62 characters that always hold {@link API_KEY_RANDOM_BYTES} (62^43 > 2^256). */
export const API_KEY_RANDOM_CHARS = 43;
/** Base62 characters that always hold a CRC32 (62^6 > 2^32). */
export const API_KEY_CHECKSUM_CHARS = 6;
/** Everything after the prefix: the random part, then its checksum. */
export const API_KEY_BODY_CHARS = API_KEY_RANDOM_CHARS + API_KEY_CHECKSUM_CHARS;
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/**
 * A key of ANY Tollgate prefix, as a scanner finds it in text (the checksum then rejects
 * look-alikes offline). `\b` rather than lookarounds: RE2 (gitleaks, GitHub) has no
 * lookbehind, and `_` being a word character means `foo_tg_…` is no match.
 */
export const API_KEY_PATTERN = /\b[a-z0-9]{2,10}_[0-9A-Za-z]{49}\b/;
/**
 * A key of any prefix as `tollgate scan` finds it: the same shape, with only a lowercase letter
 * or digit before the prefix refused (that would make the prefix longer), so a key glued after
 * an uppercase letter or `_` (`%3Dtg_…`, URL-encoded `=`; `TOLLGATE_KEY_tg_…`) is found, where
 * `\b` misses it; and with its `_` written as the JSON escape `\u005f` (`"tg\u005f…"`). The
 * checksum, not the anchor, rules out look-alikes. JavaScript only (a
 * lookbehind): the generated gitleaks/trufflehog/GitHub rules keep `\b` ({@link apiKeyRegexFor}).
 */
export const API_KEY_IN_TEXT_PATTERN = /(?<![a-z0-9])[a-z0-9]{2,10}(?:_|\\u005[fF])[0-9A-Za-z]{49}\b/;
/** The same shape, anchored: the whole value is one key. */
export const API_KEY_SHAPE = /^[a-z0-9]{2,10}_[0-9A-Za-z]{49}$/;

/** Why `prefix` cannot be an API-key prefix, or undefined. */
export function apiKeyPrefixProblem(prefix: unknown): string | undefined {
  if (typeof prefix === 'string' && API_KEY_PREFIX_PATTERN.test(prefix)) return undefined;
  return `must be 2–10 lowercase letters or digits followed by "_" (e.g. "acme_"), got ${JSON.stringify(prefix)}`;
}

/** The regular expression (source text) that matches this deployment's keys, and only those. */
export function apiKeyRegexFor(prefix: string): string {
  const problem = apiKeyPrefixProblem(prefix);
  if (problem) throw new RangeError(`API key prefix ${problem}`);
  // The prefix holds only [a-z0-9_], none of which is special in a regular expression.
  return `\\b${prefix}[0-9A-Za-z]{${API_KEY_BODY_CHARS}}\\b`;
}

/** Public, loggable API key id: a prefix of the key's SHA-256 (80 bits), never the key. */
export const KEY_ID_PREFIX = 'key_';
export const KEY_ID_HASH_HEX_CHARS = 20;
export const KEY_ID_PATTERN = /^key_[0-9a-f]{20}$/;

/**
 * A client's usage key: the VALUE of its API Gateway API key (20–128 alphanumeric
 * characters per API Gateway), random and non-secret, never the client's own API key.
 * Only letters and digits (no `_`), since API Gateway documents key values as alphanumeric.
 */
export const USAGE_KEY_PREFIX = 'tgu';
/** 184 random bits: unique across every key in an account by a wide margin. */
export const USAGE_KEY_RANDOM_CHARS = 32;
export const USAGE_KEY_PATTERN = /^tgu[0-9A-Za-z]{32}$/;
/**
 * What a token id (`jti`) can look like: ours are 22 base64url characters. Anything else
 * names no record, and looking it up could fail (DynamoDB refuses a partition key of 2048
 * bytes or more), so the admin API and the revocation endpoint check it first.
 */
export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Any value API Gateway accepts for an API key (20–128 letters and digits): what a usage plan can hold. */
export const USAGE_KEY_VALUE_PATTERN = /^[A-Za-z0-9]{20,128}$/;

/** RFC 9068 §2.1: the media type of a JWT access token. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

export const Claim = {
  issuer: 'iss',
  audience: 'aud',
  subject: 'sub',
  clientId: 'client_id',
  tokenId: 'jti',
  issuedAt: 'iat',
  expiresAt: 'exp',
  notBefore: 'nbf',
  scope: 'scope',
  /** The keyId of the API key that minted the token (docs/api.md#credentials). */
  apiKeyId: 'cid',
  /**
   * OPTIONAL: the client's usage key, which the authorizer returns as `usageIdentifierKey`
   * so API Gateway applies the client's usage plan. Not a secret: with the API's
   * `apiKeySource: AUTHORIZER`, API Gateway takes the key only from the authorizer and
   * ignores any `x-api-key` a caller sends, so knowing it lets nobody spend a client's limits.
   */
  usageKey: 'uik',
} as const;

export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly client_id: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  /** Space-separated (RFC 9068 §2.2.3, RFC 6749 §3.3). */
  readonly scope: string;
  readonly cid: string;
  /** {@link Claim.usageKey}: present once the client's usage key is registered with a usage plan. */
  readonly uik?: string;
}

export interface AccessTokenHeader {
  readonly alg: JwsAlgorithm;
  readonly kid: string;
  readonly typ: typeof ACCESS_TOKEN_TYP;
}

export type KeySpec = 'ECC_NIST_P256' | 'RSA_2048';
export type JwsAlgorithm = 'ES256' | 'RS256';
export type KmsSigningAlgorithm = 'ECDSA_SHA_256' | 'RSASSA_PKCS1_V1_5_SHA_256';

export interface SigningAlgorithm {
  readonly keySpec: KeySpec;
  readonly alg: JwsAlgorithm;
  readonly kmsAlgorithm: KmsSigningAlgorithm;
  /** Bytes of the JOSE signature: r‖s for ES256 (RFC 7518 §3.4), the modulus size for RS256. */
  readonly signatureBytes: number;
}

export const SIGNING_ALGORITHMS: { readonly [K in KeySpec]: SigningAlgorithm } = {
  ECC_NIST_P256: { keySpec: 'ECC_NIST_P256', alg: 'ES256', kmsAlgorithm: 'ECDSA_SHA_256', signatureBytes: 64 },
  RSA_2048: { keySpec: 'RSA_2048', alg: 'RS256', kmsAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256', signatureBytes: 256 },
};

export const KEY_SPECS = Object.keys(SIGNING_ALGORITHMS) as KeySpec[];

/** Tags that mark a KMS key as Tollgate's, so a crash before the ring write can be reconciled. */
export const KmsTag = {
  application: 'tollgate:application',
  kid: 'tollgate:kid',
  ring: 'tollgate:ring',
} as const;
export const KMS_TAG_APPLICATION_VALUE = 'tollgate';
