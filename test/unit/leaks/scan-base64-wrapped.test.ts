/**
 * `tollgate scan` of base64 wrapped over lines (GNU `base64` without `-w 0`, a YAML block):
 * a key split over two or three lines is found once, at the line and column where the
 * encoding of its match starts, whatever the width (70 or more, a multiple of 4), line
 * breaks or indentation; windows of any size agree with one read; lines that only look alike
 * (code, a single-line encoding followed by code) are not joined into a finding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { findKeys } from '../../../cli/scan';
import { encodedRuns } from '../../../cli/scan-base64';
import { readInWindows } from '../../support/scan-windows';

/** Text bytes around a key: no lowercase letter or digit just before it (that would make its prefix longer). */
const context = fc.stringMatching(/^[ -~]{0,60}$/).map((text) => text.replace(/[a-z0-9]$/, ':'));
const width = fc.integer({ min: 18, max: 30 }).map((groups) => groups * 4);
const eol = fc.constantFrom('\n', '\r\n');
const indent = fc.constantFrom('', '  ', '\t', '    '.repeat(4));

/** `encoded` wrapped at `columns`, each line indented, as `base64` and a YAML block write it. */
function wrap(encoded: string, columns: number, lineBreak: string, indentation: string): string {
  const lines: string[] = [];
  for (let at = 0; at < encoded.length; at += columns) lines.push(indentation + encoded.slice(at, at + columns));
  return lines.join(lineBreak);
}

describe('scan of base64 wrapped over lines', () => {
  it('finds a key split over lines once, under its key id, at the line and column where its encoding starts', () => {
    fc.assert(
      fc.property(context, context, width, eol, indent, (head, tail, columns, lineBreak, indentation) => {
        const { apiKey } = generateApiKey();
        const encoded = Buffer.from(`${head}${apiKey}${tail}`).toString('base64');
        const text = `kind: Secret${lineBreak}data: |${lineBreak}${wrap(encoded, columns, lineBreak, indentation)}${lineBreak}next: 1${lineBreak}`;
        const found = findKeys(Buffer.from(text));
        expect(found.map(({ key }) => key)).toEqual([apiKey]);
        const at = Math.floor((Buffer.byteLength(head) * 4) / 3);
        expect(found[0]).toMatchObject({
          line: 3 + Math.floor(at / columns),
          column: indentation.length + (at % columns) + 1,
          keyId: keyIdOf(hashApiKey(apiKey)),
          encoding: 'base64',
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('windows of any size find what one read finds in wrapped encodings', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(context, width, eol, indent), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 300 }), (parts, chunk) => {
        const text = Buffer.from(
          parts
            .map(([head, columns, lineBreak, indentation]) =>
              wrap(Buffer.from(`${head}${generateApiKey().apiKey}\n`).toString('base64'), columns, lineBreak, indentation),
            )
            .join('\nkey: value\n'),
        );
        const whole = findKeys(text);
        expect(whole).toHaveLength(parts.length);
        expect(readInWindows(text, chunk)).toEqual(whole);
      }),
      { numRuns: 400 },
    );
  });

  it('finds a key in a wrapped encoding longer than a window, once', () => {
    const { apiKey } = generateApiKey();
    const filler = 'x'.repeat(9000);
    const encoded = Buffer.from(`${filler}\nTOLLGATE_API_KEY=${apiKey}\n${filler}`).toString('base64');
    const text = Buffer.from(`${wrap(encoded, 76, '\n', '')}\n`);
    expect(readInWindows(text, 4096).map(({ key }) => key)).toEqual([apiKey]);
    expect(findKeys(text).map(({ key }) => key)).toEqual([apiKey]);
  });

  it('joins only lines of one width, each ending its line, and a last line no wider that ends the encoding', () => {
    const line = 'A'.repeat(76);
    const runs = (text: string) => encodedRuns(Buffer.from(text)).map((run) => run.map(([start, end]) => text.slice(start, end).length));
    expect(runs(`${line}\n${line}\n  AAAA==\n`)).toEqual([[76, 76, 4]]);
    // A wider next line, a next line that goes on after its run (code), a width that is no multiple of 4: not joined.
    expect(runs(`${line}\n${line}AAAA\n`)).toEqual([[76], [80]]);
    expect(runs(`${line}\nconst x = 1\n`)).toEqual([[76]]);
    expect(runs(`${'A'.repeat(75)}\nAAAA\n`)).toEqual([[75]]);
    // More than 16 spaces of indentation, or a blank line between: not one encoding.
    expect(runs(`${line}\n${' '.repeat(17)}AAAA\n`)).toEqual([[76]]);
    expect(runs(`${line}\n\nAAAA\n`)).toEqual([[76]]);
  });

  it('reports a single-line key followed by lines of code once, where it is', () => {
    const { apiKey } = generateApiKey();
    const encoded = Buffer.from(apiKey).toString('base64').replace(/=+$/, '');
    const text = `KEY: ${encoded}\nconst a = 1;\nAAAA\n`;
    expect(findKeys(Buffer.from(text)).map(({ key, line, column }) => ({ key, line, column }))).toEqual([{ key: apiKey, line: 1, column: 6 }]);
  });

  it('reads a wrapped encoding after a wider run that ends its line (a hex digest), and a key after another encoding, where they are', () => {
    const { apiKey } = generateApiKey();
    // The block's first line could be the digest's narrower last line: it is read on its own as well.
    const block = wrap(Buffer.from(`${'x'.repeat(40)}=${apiKey}\n`).toString('base64'), 76, '\n', '');
    const afterDigest = Buffer.from(`sha512: ${'ab01'.repeat(32)}\n${block}\n`);
    expect(findKeys(afterDigest).map(({ key, line, column }) => ({ key, line, column }))).toEqual([{ key: apiKey, line: 2, column: 55 }]);
    for (const chunk of [1, 64, 1000]) expect(readInWindows(afterDigest, chunk)).toEqual(findKeys(afterDigest));
    // An unpadded encoding of lowercase letters above a key's own encoding: not read as glued before the key.
    const stacked = Buffer.from(`${Buffer.from('x'.repeat(81)).toString('base64')}\n${Buffer.from(apiKey).toString('base64')}\n`);
    expect(findKeys(stacked).map(({ key, line, column }) => ({ key, line, column }))).toEqual([{ key: apiKey, line: 2, column: 1 }]);
  });
});
