/**
 * API keys (docs/api.md#credentials): the deployment's prefix (`tg_` unless `apiKeyPrefix` says
 * otherwise) + 256 random bits in 43 base62 digits + the CRC32 of those
 * digits in 6 base62 digits. The checksum lets a secret scanner — and the token endpoint,
 * before any database read — reject typos and random strings offline. Only the SHA-256 of
 * the whole key (prefix included) is stored; `keyId` is a prefix of that hash, so a lookup
 * is one GetItem.
 *
 * Keys issued under an earlier prefix keep working after `apiKeyPrefix` changes: the
 * offline check accepts ANY well-formed prefix, and the hash lookup decides. That costs
 * nothing in security (a key is only ever as good as its stored hash, which covers the
 * prefix it was issued with) and needs no list of old prefixes to maintain.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  API_KEY_CHECKSUM_CHARS,
  API_KEY_RANDOM_BYTES,
  API_KEY_RANDOM_CHARS,
  KEY_ID_HASH_HEX_CHARS,
  API_KEY_SHAPE,
  DEFAULT_API_KEY_PREFIX,
  KEY_ID_PREFIX,
  apiKeyPrefixProblem,
} from '../../../common/tokens';
import { bytesToBigInt, encodeBase62, isBase62 } from './base62';

export interface GeneratedApiKey {
  /** The secret: shown once, never stored or logged. */
  readonly apiKey: string;
  /** Public id, safe to log. */
  readonly keyId: string;
  /** Hex SHA-256 of {@link apiKey}: what the table stores. */
  readonly keyHash: string;
}

export type RandomBytes = (size: number) => Uint8Array;

export function generateApiKey(random: RandomBytes = randomBytes, prefix: string = DEFAULT_API_KEY_PREFIX): GeneratedApiKey {
  const problem = apiKeyPrefixProblem(prefix);
  if (problem) throw new RangeError(`API key prefix ${problem}`);
  const randomPart = encodeBase62(bytesToBigInt(random(API_KEY_RANDOM_BYTES)), API_KEY_RANDOM_CHARS);
  const apiKey = `${prefix}${randomPart}${checksumOf(randomPart)}`;
  const keyHash = hashApiKey(apiKey);
  return { apiKey, keyId: keyIdOf(keyHash), keyHash };
}

/** CRC32 of the base62 random part, as fixed-width base62 (what a scanner recomputes). */
export function checksumOf(randomPart: string): string {
  return encodeBase62(BigInt(crc32(randomPart)), API_KEY_CHECKSUM_CHARS);
}

/**
 * Whether `candidate` has the API-key shape (any valid prefix) and a matching checksum.
 * Purely offline: a key that fails here never costs a database read.
 */
export function isWellFormedApiKey(candidate: string): boolean {
  if (typeof candidate !== 'string' || !API_KEY_SHAPE.test(candidate)) return false;
  const body = candidate.slice(candidate.length - API_KEY_RANDOM_CHARS - API_KEY_CHECKSUM_CHARS);
  if (!isBase62(body)) return false;
  const randomPart = body.slice(0, API_KEY_RANDOM_CHARS);
  return checksumOf(randomPart) === body.slice(API_KEY_RANDOM_CHARS);
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

export function keyIdOf(keyHash: string): string {
  return `${KEY_ID_PREFIX}${keyHash.slice(0, KEY_ID_HASH_HEX_CHARS)}`;
}

/** Constant-time comparison of two hex SHA-256 digests (docs/api.md#credentials). */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
