/**
 * `tollgate scan`'s matcher: the byte scanner finds exactly what `API_KEY_IN_TEXT_PATTERN` finds
 * (differential, on adversarial text: keys glued after `%3D`, `_` or any letter, and with the `_`
 * as a JSON `\u005f`, included), windows of any size find what one whole read finds (base64-encoded
 * keys included),
 * every generated key is found with its line and column, and look-alikes never are.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_KEY_BODY_CHARS, API_KEY_IN_TEXT_PATTERN, BASE62_ALPHABET } from '../../../common/tokens';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { allKeyMatches, findKeys, findKeysChunked, findKeysInName } from '../../../cli/scan';
import { redactKeys } from '../../../cli/scan-redact';
import { readInWindows } from '../../support/scan-windows';

const GLOBAL = new RegExp(API_KEY_IN_TEXT_PATTERN.source, 'g');

/** Text built from pieces that make near-matches likely: prefixes, underscores, base62 runs, keys and their mutations. */
const piece = fc.oneof(
  fc.constantFrom(
    '_',
    '-',
    ' ',
    '\n',
    'x',
    'X',
    '0',
    'tg',
    'tg_',
    'acme_',
    'abcdefghijk_',
    'Tg_',
    'é',
    '\u00ff',
    '%3D',
    'KEY_',
    '%3d',
    '\\u005f',
    '\\u005F',
    '\\u005',
  ),
  fc.stringMatching(/^[0-9A-Za-z]{1,60}$/),
  fc.constant(null).map(() => generateApiKey().apiKey),
  fc.constant(null).map(() => generateApiKey(undefined, 'acme_').apiKey),
  fc.constant(null).map(() => generateApiKey().apiKey.replace('_', '\\u005f')),
  // Base64-encoded, in either alphabet, with bytes around the key (a Basic header's `client:`, a newline, a glued letter).
  fc
    .tuple(fc.constantFrom('', 'u:', 'ab', '\n'), fc.constantFrom('', '\n', 'Z'), fc.constantFrom('base64' as const, 'base64url' as const))
    .map(([before, after, alphabet]) => Buffer.from(before + generateApiKey().apiKey + after).toString(alphabet)),
  fc.tuple(fc.nat(58), fc.constantFrom(...BASE62_ALPHABET)).map(([at, char]) => {
    const key = generateApiKey().apiKey;
    return key.slice(0, 3 + (at % 49)) + char + key.slice(4 + (at % 49));
  }),
);
const text = fc.array(piece, { maxLength: 40 }).map((pieces) => pieces.join(''));

describe('scan matcher', () => {
  it('matches exactly where the published regular expression matches (differential)', () => {
    fc.assert(
      fc.property(text, (input) => {
        const bytes = Buffer.from(input, 'latin1');
        const ours = allKeyMatches(bytes).map((match) => [match.start, match.end]);
        const regex = [...bytes.toString('latin1').matchAll(GLOBAL)].map((match) => [match.index, match.index + match[0].length]);
        expect(ours).toEqual(regex);
      }),
      { numRuns: 3000 },
    );
  });

  it('windows of any size find what one whole read finds, at the same lines and columns', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 200 }), (input, chunk) => {
        const bytes = Buffer.from(input, 'latin1');
        const whole = findKeys(bytes);
        const chunked = readInWindows(bytes, chunk);
        expect(chunked).toEqual(whole);
      }),
      { numRuns: 1500 },
    );
  });

  it('says when a backslash or a % precedes a match (an escape whose tail may be glued to the key), in whole and windowed reads', () => {
    const { apiKey } = generateApiKey();
    const text = Buffer.from(`{"a":"x\\n${apiKey}", "b": ${apiKey}, "c": "k%3d${apiKey}"}`);
    const whole = findKeys(text).map(({ prefix, escaped }) => ({ prefix, escaped }));
    expect(whole).toEqual([
      { prefix: 'ntg_', escaped: '\\' },
      { prefix: 'tg_', escaped: undefined },
      { prefix: '3dtg_', escaped: '%' },
    ]);
    const windowed = findKeysChunked((buffer, position) => text.copy(buffer, 0, position, position + Math.min(buffer.length, 7)), 7);
    expect(windowed.map(({ prefix, escaped }) => ({ prefix, escaped }))).toEqual(whole);
  });

  it('finds every key of a generated corpus, of any prefix, at its line and column, and no look-alike', () => {
    const lines: string[] = [];
    const expected: { line: number; column: number; keyId: string; prefix: string }[] = [];
    for (let i = 0; i < 2000; i += 1) {
      const filler = randomBytes(24).toString('base64');
      const kind = i % 5;
      if (kind === 0) {
        const prefix = ['tg_', 'acme_', 'a1_', '0123456789_'][i % 4]!;
        const { apiKey } = generateApiKey(undefined, prefix);
        const line = `const key${i} = "${apiKey}"; // ${filler}`;
        expected.push({ line: lines.length + 1, column: line.indexOf(apiKey) + 1, keyId: keyIdOf(hashApiKey(apiKey)), prefix });
        lines.push(line);
      } else if (kind === 1) {
        // A typo in a key: the checksum rejects it.
        const { apiKey } = generateApiKey();
        const at = 3 + (i % 49);
        const swapped = apiKey.slice(0, at) + (apiKey[at] === 'a' ? 'b' : 'a') + apiKey.slice(at + 1);
        lines.push(`token: ${swapped}`);
      } else if (kind === 2) {
        // Right shape, random body: a CRC32 matches by chance once in 4 billion.
        lines.push(`tg_${Array.from(randomBytes(49), (byte) => BASE62_ALPHABET[byte % 62]).join('')}`);
      } else if (kind === 3 && i % 2 === 0) {
        // A real key glued to a word character after it, or to a run of lowercase letters and digits longer than a
        // prefix, is no match (a lowercase letter or digit before it makes a longer prefix, which the checksum does
        // not cover: see docs/leaks.md).
        const { apiKey } = generateApiKey();
        lines.push(`${apiKey}9 UPPER${apiKey.slice(3)} abcdefghijk${apiKey.slice(2)}`);
      } else if (kind === 3) {
        // Glued after an uppercase letter or `_` (a URL-encoded `=`, a variable name): found, under its own prefix.
        const { apiKey } = generateApiKey();
        const before = ['?api_key%3D', 'TOLLGATE_KEY_', 'Q'][i % 3]!;
        const line = `${before}${apiKey}`;
        expected.push({ line: lines.length + 1, column: before.length + 1, keyId: keyIdOf(hashApiKey(apiKey)), prefix: 'tg_' });
        lines.push(line);
      } else {
        lines.push(filler);
      }
    }
    // No key of this corpus follows a backslash (an escape whose letter could be glued to it).
    expect(findKeys(Buffer.from(lines.join('\n'))).map(({ key: _key, ...finding }) => finding)).toEqual(
      expected.map((finding) => ({ ...finding, escaped: undefined })),
    );
  });

  it('redacts every key body in a printed name, glued or overlapping, and finds in a name what it finds in a file', () => {
    const pathPiece = fc.oneof(piece, fc.constantFrom('/', '.', '-', 'dir', 'ÄÖ', '\u{1f511}'));
    fc.assert(
      fc.property(fc.array(pathPiece, { maxLength: 30 }), (pieces) => {
        const name = pieces.join('');
        const redacted = redactKeys(name);
        for (const { key } of findKeys(Buffer.from(name))) expect(redacted).not.toContain(key.slice(-API_KEY_BODY_CHARS));
        // No run a key's body could be, after a `_`, is left.
        expect(redacted).not.toMatch(new RegExp(`_[0-9A-Za-z]{${API_KEY_BODY_CHARS}}`));
        expect(findKeysInName(name).map(({ end: _end, ...found }) => found)).toEqual(findKeys(Buffer.from(name)));
      }),
      { numRuns: 2000 },
    );
    // Overlapping: the 49 characters after the first `_` end with `tg`, so a key-shaped match there would leave the key after it whole.
    const { apiKey } = generateApiKey();
    const overlap = `ab_${'Q'.repeat(47)}${apiKey}`;
    expect(redactKeys(overlap)).toBe('ab_<redacted>_<redacted>');
  });
});
