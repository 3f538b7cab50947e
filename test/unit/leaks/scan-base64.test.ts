/**
 * `tollgate scan` of base64-encoded keys (a Kubernetes Secret's `data`, a Basic header of
 * `client:key`): every key encoded in either alphabet, at any of the three byte offsets an
 * encoding can put it at, with any bytes around it and letters glued before the encoding, is
 * found once under its key id, at the character where its encoding starts; random base64 and
 * encoded look-alikes are not; the run finder agrees with a regular expression; windows of any
 * size, and a run longer than a window, agree with one read; redaction hides an encoded key.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET } from '../../../common/tokens';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { allKeyMatches, findKeys, findKeysInFile } from '../../../cli/scan';
import { redactKeys } from '../../../cli/scan-redact';
import { BASE64_MIN_RUN, base64Runs, decodings } from '../../../cli/scan-base64';
import { reading } from '../../../cli/scan-command';
import { emptyDir } from '../cli/harness';
import { readInWindows } from '../../support/scan-windows';

const alphabet = fc.constantFrom('base64' as const, 'base64url' as const);
/** Bytes before a key that do not make its prefix longer (no lowercase letter or digit last) or open an escape (`\\`, `%`). */
const before = fc.uint8Array({ maxLength: 20 }).map((bytes) => {
  const last = bytes.at(-1);
  if (last !== undefined && /[a-z0-9%\\]/.test(String.fromCharCode(last))) bytes[bytes.length - 1] = 0x3a;
  return Buffer.from(bytes);
});
/** Bytes after a key: any (in a decoding they may be what characters glued after the encoding decode to, so none ends the body). */
const after = fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes));
/** Characters glued before the encoding, from either alphabet: the run then starts before the encoding does. */
const glue = fc.stringMatching(/^[A-Za-z0-9+/_-]{0,7}$/);
const PREFIXES = ['tg_', 'acme_', 'a1_', '0123456789_'];
const prefix = fc.constantFrom(...PREFIXES);

describe('scan of base64-encoded keys', () => {
  it('finds every encoded key once, under its key id, at the character where its encoding starts', () => {
    fc.assert(
      fc.property(prefix, before, after, glue, alphabet, fc.constantFrom('', 'apiKey: ', '"', 'Basic '), (keyPrefix, head, tail, glued, kind, lead) => {
        const { apiKey } = generateApiKey(undefined, keyPrefix);
        const encoded = Buffer.concat([head, Buffer.from(apiKey), tail]).toString(kind);
        const text = Buffer.from(`line one\n${lead}${glued}${encoded}\n`);
        const [found, ...more] = findKeys(text);
        expect(more).toEqual([]);
        // Letters glued before an encoding that starts with the key may decode to lowercase letters or digits before it.
        const garbage = found!.key.length - apiKey.length;
        expect(found!.key.slice(garbage)).toBe(apiKey);
        if (garbage > 0) expect(head).toHaveLength(0);
        // Read under the deployment's prefixes, named (`--prefix`), as a key glued to letters in text is.
        expect(reading(found!, PREFIXES, true)).toEqual({
          line: 2,
          column: 1 + lead.length + glued.length + Math.floor(((head.length - garbage) * 4) / 3),
          keyId: keyIdOf(hashApiKey(apiKey)),
          prefix: keyPrefix,
          encoding: 'base64',
          ...(garbage > 0 && { precededBy: found!.prefix.slice(0, garbage) }),
        });
      }),
      { numRuns: 1500 },
    );
  });

  it('finds no key in random base64 or in an encoded look-alike (a typo, or the right shape with a random checksum)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), alphabet, (bytes, kind) => {
        expect(findKeys(Buffer.from(Buffer.from(bytes).toString(kind)))).toEqual([]);
      }),
      { numRuns: 500 },
    );
    const { apiKey } = generateApiKey();
    const typo = apiKey.slice(0, 20) + (apiKey[20] === 'a' ? 'b' : 'a') + apiKey.slice(21);
    const shaped = `tg_${Array.from(randomBytes(49), (byte) => BASE62_ALPHABET[byte % 62]).join('')}`;
    for (const lookAlike of [typo, shaped]) expect(findKeys(Buffer.from(Buffer.from(lookAlike).toString('base64')))).toEqual([]);
    // Too short to be a key once decoded: the run finder never reads it.
    expect(findKeys(Buffer.from(Buffer.from(apiKey.slice(0, -1)).toString('base64')))).toEqual([]);
  });

  it('finds exactly the runs a regular expression finds (differential)', () => {
    const run = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9+/_-]{1,200}$/),
      fc.constantFrom(' ', '\n', '=', '.', ':', '"', 'é'),
      fc.integer({ min: 60, max: 80 }).map((length) => 'A'.repeat(length)),
    );
    const reference = new RegExp(`[A-Za-z0-9+/_-]{${BASE64_MIN_RUN},}`, 'g');
    fc.assert(
      fc.property(fc.array(run, { maxLength: 30 }), (pieces) => {
        const text = pieces.join('');
        const expected = [...text.matchAll(reference)].map((match) => [match.index, match.index + match[0].length]);
        expect(base64Runs(Buffer.from(text, 'latin1')).map(([start, end]) => [start, end])).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('skips only offsets whose decoding holds no key-shaped match: the same matches as decoding all four (differential)', () => {
    const content = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
      fc.stringMatching(/^[0-9A-Za-z_]{1,60}$/).map((text) => Buffer.from(text)),
      fc.constant(null).map(() => Buffer.from(generateApiKey().apiKey)),
      fc.constant(null).map(() => Buffer.from(generateApiKey().apiKey.replace('_', '\\u005f'))),
    );
    fc.assert(
      fc.property(fc.array(content, { minLength: 1, maxLength: 6 }), alphabet, glue, (parts, kind, glued) => {
        const text = Buffer.from(glued + Buffer.concat(parts).toString(kind));
        for (const run of base64Runs(text)) {
          const matchesFrom = (at: number, bytes: Buffer) => allKeyMatches(bytes, 'decoded').map((match) => [at, match.start, match.end]);
          const all = [0, 1, 2, 3]
            .map((shift) => run[0] + shift)
            .filter((at) => run[1] - at >= BASE64_MIN_RUN)
            .flatMap((at) => matchesFrom(at, Buffer.from(text.toString('latin1', at, run[1]), 'base64')));
          expect(decodings(text, [run]).flatMap(({ at, bytes }) => matchesFrom(at, bytes))).toEqual(all);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('windows of any size find what one read finds, an encoding across their edges included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(before, after, alphabet, glue), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 200 }), (keys, chunk) => {
        const text = Buffer.from(
          keys.map(([head, tail, kind, glued]) => glued + Buffer.concat([head, Buffer.from(generateApiKey().apiKey), tail]).toString(kind)).join(' \n'),
        );
        const whole = findKeys(text);
        expect(whole).toHaveLength(keys.length);
        expect(readInWindows(text, chunk)).toEqual(whole);
      }),
      { numRuns: 600 },
    );
  });

  it('finds a key deep inside a base64 run longer than a window, once', () => {
    const { apiKey } = generateApiKey();
    const cwd = emptyDir();
    for (const offset of [0, 1, 2, 4095, 4096, 4097, 9000]) {
      const encoded = Buffer.concat([
        randomBytes(offset).map((byte) => (byte & 0x7f) | 0x80),
        Buffer.from(apiKey),
        Buffer.from('\n'),
        randomBytes(20_000),
      ]).toString('base64');
      const file = join(cwd, `blob-${offset}.b64`);
      writeFileSync(file, encoded);
      const found = findKeysInFile(file, 4096);
      expect(found.map(({ key, column, line }) => ({ key, column, line }))).toEqual([{ key: apiKey, line: 1, column: Math.floor((offset * 4) / 3) + 1 }]);
    }
  });

  it('redacts the characters that encode a key in a printed name, keeps the rest and a long base64 run that holds none', () => {
    const { apiKey } = generateApiKey();
    const plain = randomBytes(90).toString('base64');
    // `/` is a base64 character: the directories stay, only what encodes the key goes.
    expect(redactKeys(`deploy/k8s/${Buffer.from(apiKey).toString('base64')}.yaml`)).toBe('deploy/k8s/<redacted base64>==.yaml');
    expect(redactKeys(`backups/${Buffer.from(`shop:${apiKey}`).toString('base64')}.txt`)).toBe('backups/c2hvcD<redacted base64>.txt');
    expect(redactKeys(`cache/${plain}.bin`)).toBe(`cache/${plain}.bin`);
    expect(redactKeys(`a ${Buffer.from(apiKey).toString('base64url')}`)).toBe('a <redacted base64>');
    // Followed by more base64 (the encoding of `X`, of `foo`): still hidden, as the plain key is.
    for (const tail of ['X', '', 'foo'])
      for (const kind of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(apiKey + tail).toString(kind) + (tail === '' ? 'Zm9v' : '');
        expect(redactKeys(`x ${encoded}`)).not.toContain(encoded.slice(4, 60));
      }
  });

  it('hides every key in a printed text, plain or encoded, glued to each other in any order (16 characters of none survive)', () => {
    const part = fc.tuple(fc.constantFrom('plain', 'base64', 'base64url'), before, after, glue);
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const secrets: string[] = [];
        const text = parts
          .map(([kind, head, tail, glued]) => {
            const { apiKey } = generateApiKey();
            if (kind === 'plain') {
              secrets.push(apiKey.slice(20, 36));
              return glued + apiKey;
            }
            const encoded = Buffer.concat([head, Buffer.from(apiKey), tail]).toString(kind);
            // 16 characters from the middle of the key's own encoding.
            const middle = Math.ceil((head.length * 4) / 3) + 30;
            secrets.push(encoded.slice(middle, middle + 16));
            return glued + encoded;
          })
          .join('');
        const shown = redactKeys(text);
        for (const secret of secrets) expect(shown).not.toContain(secret);
      }),
      { numRuns: 1500 },
    );
    // A plain key glued before an encoded one: the encoding's match takes the plain key's last lowercase letters.
    const plain = `tg_uVMaw5m5S2oHbnxxTwj1wlkEYGQjcuKO8UyGkb4DyGv2NTN1u`;
    const encoded = Buffer.from(generateApiKey().apiKey).toString('base64url');
    const shown = redactKeys(plain + encoded);
    expect(shown.startsWith('tg_<redacted>')).toBe(true);
    expect(shown).not.toContain(encoded.slice(10, 26));
  });

  it('finds an encoded key with characters glued after its encoding, as it finds one with characters glued before', () => {
    fc.assert(
      fc.property(prefix, glue, glue, alphabet, (keyPrefix, gluedBefore, gluedAfter, kind) => {
        const { apiKey } = generateApiKey(undefined, keyPrefix);
        const text = Buffer.from(`x: ${gluedBefore}${Buffer.from(apiKey).toString(kind).replace(/=+$/, '')}${gluedAfter}\n`);
        const found = findKeys(text);
        expect(found).toHaveLength(1);
        expect(reading(found[0]!, PREFIXES, true)).toMatchObject({ keyId: keyIdOf(hashApiKey(apiKey)), prefix: keyPrefix });
        expect(redactKeys(text.toString())).not.toContain(Buffer.from(apiKey).toString(kind).slice(4, 60));
      }),
      { numRuns: 1500 },
    );
  });

  it("reads an encoded key under its whole prefix, as in text, unless --prefix names the deployment's", () => {
    const { apiKey, keyId } = generateApiKey(undefined, 'stg_');
    const alone = Buffer.from(`data:\n  KEY: ${Buffer.from(apiKey).toString('base64')}\n`);
    const basic = Buffer.from(`Authorization: Basic ${Buffer.from(`user:${apiKey}`).toString('base64')}\n`);
    expect(reading(findKeys(alone)[0]!, ['tg_'], false)).toEqual({ line: 2, column: 8, keyId, prefix: 'stg_', encoding: 'base64' });
    expect(reading(findKeys(basic)[0]!, ['tg_'], false)).toMatchObject({ keyId, prefix: 'stg_', encoding: 'base64' });
    // Letters glued before an encoding that decode to a lowercase letter or digit before the key: --prefix tells.
    const tgKey = apiKey.slice(1);
    const [glued] = findKeys(Buffer.from(`KEY: AAAw${Buffer.from(tgKey).toString('base64')}\n`));
    expect(glued!.key).toBe(`0${tgKey}`);
    expect(reading(glued!, ['tg_'], false)).toMatchObject({ prefix: '0tg_' });
    expect(reading(glued!, ['tg_'], true)).toMatchObject({ keyId: keyIdOf(hashApiKey(tgKey)), prefix: 'tg_', precededBy: '0' });
  });

  it('counts lines once however many keys share one (a long line of encoded keys)', () => {
    const keys = Array.from({ length: 3000 }, () => Buffer.from(generateApiKey().apiKey).toString('base64'));
    const found = findKeys(Buffer.from(`first\n${keys.join(' ')}\nlast ${keys[0]}`));
    expect(found).toHaveLength(3001);
    expect(found[2999]).toMatchObject({ line: 2, column: 2999 * 73 + 1 });
    expect(found[3000]).toMatchObject({ line: 3, column: 6 });
  });
});
