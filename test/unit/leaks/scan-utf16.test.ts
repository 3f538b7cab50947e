/**
 * `tollgate scan` of UTF-16 files: text with a byte-order mark (either byte order) or
 * ASCII-heavy text without one is read by code units, so its keys are found at the line and
 * column (in code units) a UTF-8 copy of the same text has them, in windows of any size;
 * text that is not UTF-16 is not read as such.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { findKeys, findKeysInFile } from '../../../cli/scan';
import { utf16Of } from '../../../cli/scan-utf16';
import { tempDirs } from '../../support/temp-dirs';

const scratch = tempDirs('tollgate-utf16-');

/** Latin-1 text (one byte per character in latin1, one code unit in UTF-16) that makes keys likely. */
const piece = fc.oneof(
  fc.constantFrom(' ', '\n', '\r\n', 'x', 'X', '=', '%3D', '_', 'é', '\u00ff', 'tg_', '"'),
  fc.stringMatching(/^[0-9A-Za-z]{1,60}$/),
  fc.constant(null).map(() => generateApiKey().apiKey),
  fc.constant(null).map(() => generateApiKey(undefined, 'acme_').apiKey),
);
const text = fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join(''));

function utf16(content: string, littleEndian: boolean, bom: boolean): Buffer {
  const le = Buffer.from(content, 'utf16le');
  const bytes = littleEndian ? le : Buffer.from(le).swap16();
  const mark = littleEndian ? [0xff, 0xfe] : [0xfe, 0xff];
  return bom ? Buffer.concat([Buffer.from(mark), bytes]) : bytes;
}

const withoutKey = ({ key: _key, ...rest }: { key: string }) => rest;

describe('scan of UTF-16 files', () => {
  it('finds in a UTF-16 file with a byte-order mark, either order, any window size, what a one-byte copy of the text holds', () => {
    const dir = scratch();
    fc.assert(
      fc.property(text, fc.boolean(), fc.integer({ min: 1, max: 200 }), (content, littleEndian, chunk) => {
        const file = join(dir, 'text.txt');
        writeFileSync(file, utf16(content, littleEndian, true));
        expect(findKeysInFile(file, chunk).map(withoutKey)).toEqual(findKeys(Buffer.from(content, 'latin1')).map(withoutKey));
      }),
      { numRuns: 400 },
    );
  });

  it('finds a key in UTF-16LE without a byte-order mark (as PowerShell writes a redirect), at its column in characters', () => {
    const key = generateApiKey().apiKey;
    const file = join(scratch(), 'profile.ps1');
    writeFileSync(file, utf16(`# settings\r\n$env:API_KEY=${key}\r\n`, true, false));
    expect(findKeysInFile(file).map(({ line, column, key: found }) => ({ line, column, found }))).toEqual([{ line: 2, column: 14, found: key }]);
    writeFileSync(file, utf16(`API_KEY=${key}`, false, false));
    expect(findKeysInFile(file).map(({ column }) => column)).toEqual([9]);
  });

  it('does not take UTF-8 text or binary without NULs in every other byte for UTF-16', () => {
    expect(utf16Of(Buffer.from('API_KEY=tg_abc and some more text'))).toBeUndefined();
    expect(utf16Of(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(utf16Of(Buffer.from('ab', 'utf16le'))).toBeUndefined();
    expect(utf16Of(utf16('API_KEY=tg_', true, false))).toEqual({ littleEndian: true, bom: 0 });
    expect(utf16Of(utf16('', false, true))).toEqual({ littleEndian: false, bom: 2 });
  });
});
