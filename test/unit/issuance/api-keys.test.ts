import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { createHash } from 'node:crypto';
import {
  API_KEY_BODY_CHARS,
  API_KEY_PATTERN,
  BASE62_ALPHABET,
  DEFAULT_API_KEY_PREFIX,
  KEY_ID_PATTERN,
  apiKeyPrefixProblem,
  apiKeyRegexFor,
} from '../../../common/tokens';

const API_KEY_LENGTH = DEFAULT_API_KEY_PREFIX.length + API_KEY_BODY_CHARS;
import { checksumOf, generateApiKey, hashApiKey, hashesEqual, isWellFormedApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { bytesToBigInt, decodeBase62, encodeBase62 } from '../../../lambda/core/credentials/base62';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const fixedRandom = (bytes: Uint8Array) => () => bytes;

describe('base62', () => {
  it('round-trips any 256-bit value at fixed width 43', () => {
    fc.assert(
      fc.property(bytes32, (bytes) => {
        const value = bytesToBigInt(bytes);
        const text = encodeBase62(value, 43);
        expect(text).toHaveLength(43);
        expect(decodeBase62(text)).toBe(value);
      }),
    );
  });

  it('pads small values with leading zeros and refuses values wider than the width', () => {
    expect(encodeBase62(0n, 6)).toBe('000000');
    expect(encodeBase62(61n, 2)).toBe('0z');
    expect(() => encodeBase62(62n ** 6n, 6)).toThrow(RangeError);
    expect(() => encodeBase62(-1n, 6)).toThrow(RangeError);
  });

  it('reports characters outside the alphabet', () => {
    expect(decodeBase62('abc-')).toBeUndefined();
    expect(decodeBase62('zz')).toBe(62n * 61n + 61n);
  });
});

describe('API key format', () => {
  it('generate → validate round-trips for any randomness, with the published shape', () => {
    fc.assert(
      fc.property(bytes32, (bytes) => {
        const { apiKey, keyId, keyHash } = generateApiKey(fixedRandom(bytes));
        expect(apiKey).toHaveLength(API_KEY_LENGTH);
        expect(apiKey).toMatch(API_KEY_PATTERN);
        expect(isWellFormedApiKey(apiKey)).toBe(true);
        expect(keyHash).toBe(createHash('sha256').update(apiKey).digest('hex'));
        expect(keyId).toMatch(KEY_ID_PATTERN);
        expect(keyId).toBe(keyIdOf(hashApiKey(apiKey)));
      }),
    );
  });

  it('the checksum is the CRC32 of the random part, so a scanner can recompute it', () => {
    const { apiKey } = generateApiKey();
    const randomPart = apiKey.slice(3, 46);
    expect(decodeBase62(apiKey.slice(46))).toBe(BigInt(crc32(randomPart)));
    expect(checksumOf(randomPart)).toBe(apiKey.slice(46));
  });

  it('refuses any single-character change (the CRC32 catches every one)', () => {
    fc.assert(
      fc.property(bytes32, fc.nat(), fc.constantFrom(...BASE62_ALPHABET), (bytes, position, replacement) => {
        const { apiKey } = generateApiKey(fixedRandom(bytes));
        const index = 3 + (position % (API_KEY_LENGTH - 3));
        fc.pre(apiKey[index] !== replacement);
        const changed = apiKey.slice(0, index) + replacement + apiKey.slice(index + 1);
        expect(isWellFormedApiKey(changed)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses the wrong prefix, length or alphabet', () => {
    const { apiKey } = generateApiKey();
    expect(isWellFormedApiKey(`tG_${apiKey.slice(3)}`)).toBe(false);
    expect(isWellFormedApiKey(`t_${apiKey.slice(3)}`)).toBe(false);
    expect(isWellFormedApiKey(`abcdefghijk_${apiKey.slice(3)}`)).toBe(false);
    expect(isWellFormedApiKey(`tg${apiKey.slice(3)}`)).toBe(false);
    expect(isWellFormedApiKey(apiKey.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${apiKey}0`)).toBe(false);
    expect(isWellFormedApiKey(`${apiKey.slice(0, 10)}-${apiKey.slice(11)}`)).toBe(false);
    expect(isWellFormedApiKey('')).toBe(false);
  });

  it('compares hashes in constant time and only equal digests match', () => {
    const a = hashApiKey('tg_a');
    expect(hashesEqual(a, hashApiKey('tg_a'))).toBe(true);
    expect(hashesEqual(a, hashApiKey('tg_b'))).toBe(false);
    expect(hashesEqual(a, a.slice(0, 62))).toBe(false);
    expect(hashesEqual('', '')).toBe(false);
  });
});

describe('per-deployment API key prefix', () => {
  const prefixes = fc.stringMatching(/^[a-z0-9]{2,10}_$/);

  it("keys of any valid prefix validate, match the any-prefix pattern and their own prefix's regex, and no other prefix's", () => {
    fc.assert(
      fc.property(bytes32, prefixes, prefixes, (bytes, prefix, other) => {
        const { apiKey, keyHash } = generateApiKey(fixedRandom(bytes), prefix);
        expect(apiKey.startsWith(prefix)).toBe(true);
        expect(apiKey).toHaveLength(prefix.length + API_KEY_BODY_CHARS);
        expect(isWellFormedApiKey(apiKey)).toBe(true);
        expect(apiKey).toMatch(API_KEY_PATTERN);
        expect(apiKey).toMatch(new RegExp(apiKeyRegexFor(prefix)));
        if (other !== prefix && !prefix.endsWith(other)) expect(apiKey).not.toMatch(new RegExp(apiKeyRegexFor(other)));
        // The stored hash covers the prefix: the same random part under another prefix is another key.
        expect(keyHash).toBe(hashApiKey(apiKey));
        expect(hashApiKey(`${other}${apiKey.slice(prefix.length)}`) === keyHash).toBe(other === prefix);
      }),
    );
  });

  it('the checksum is over the random part, unchanged, so a key issued under tg_ still validates after a prefix change', () => {
    const { apiKey } = generateApiKey(fixedRandom(new Uint8Array(32).fill(7)));
    const acme = generateApiKey(fixedRandom(new Uint8Array(32).fill(7)), 'acme_');
    expect(acme.apiKey.slice('acme_'.length)).toBe(apiKey.slice(3));
    expect(isWellFormedApiKey(apiKey)).toBe(true);
  });

  it('refuses a bad prefix, naming the rule', () => {
    for (const bad of ['tg', 'a_', 'ACME_', 'acme-', 'abcdefghijk_', '', 'ac me_', 'tg__', 7]) {
      expect(apiKeyPrefixProblem(bad)).toMatch(/2–10 lowercase letters or digits followed by "_"/);
      expect(() => generateApiKey(undefined, bad as string)).toThrow(RangeError);
    }
    for (const good of ['tg_', 'acme_', 'a1_', '0123456789_']) expect(apiKeyPrefixProblem(good)).toBeUndefined();
  });
});
