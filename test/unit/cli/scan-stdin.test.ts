/**
 * `tollgate scan` of standard input: raw bytes in bounded windows (a stream of any length, a
 * key across a window boundary found once), never decoded; and an internal failure (standard
 * input that cannot be read) exits 4, never 1, which for `scan` means "found a key".
 */
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { findKeys, findKeysInStream, SCAN_CHUNK_BYTES } from '../../../cli/scan';
import { tollgate } from './harness';

const keyIdOfKey = (key: string) => keyIdOf(hashApiKey(key));

const LINE = 100;

/** `total` bytes of 100-byte lines, with `text` written at byte `at`, generated as they are read and delivered in 64 KiB pieces. */
async function* stream(total: number, text: string, at: number): AsyncGenerator<Uint8Array> {
  const piece = 64 * 1024;
  for (let offset = 0; offset < total; offset += piece) {
    const bytes = Buffer.alloc(Math.min(piece, total - offset), 'a');
    for (let end = LINE - 1 - (offset % LINE); end < bytes.length; end += LINE) bytes[end] = 0x0a;
    const from = Math.max(at, offset);
    const to = Math.min(at + text.length, offset + bytes.length);
    if (from < to) bytes.write(text.slice(from - at, to - at), from - offset, 'latin1');
    yield bytes;
  }
}

describe('tollgate scan of standard input', () => {
  it('scans a stream longer than one window in bounded windows, finding a key across a window boundary once', async () => {
    const key = generateApiKey().apiKey;
    // The line that starts 8 bytes before the first window's end holds the key, which so lies across it.
    const lineStart = SCAN_CHUNK_BYTES - (SCAN_CHUNK_BYTES % LINE);
    expect(SCAN_CHUNK_BYTES - lineStart).toBe(8);
    const total = SCAN_CHUNK_BYTES + 1024 * 1024;
    const run = await tollgate(['--json', 'scan'], { stdin: stream(total, ` ${key} `, lineStart) });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      findings: [{ file: '(stdin)', line: lineStart / LINE + 1, column: 2, keyId: keyIdOfKey(key), prefix: 'tg_' }],
      filesScanned: 1,
      bytesScanned: total,
    });
  });

  it('reads raw bytes, not decoded text: a column counts the bytes of invalid UTF-8 before the key', async () => {
    const key = generateApiKey().apiKey;
    const run = await tollgate(['scan'], { stdin: Buffer.concat([Buffer.from([0xff, 0xfe, 0x20]), Buffer.from(`${key}\n`)]) });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`(stdin):1:4: Tollgate API key ${keyIdOfKey(key)} (prefix tg_)`);
  });

  it('finds in a stream of odd-sized pieces exactly what a whole-buffer scan finds', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => generateApiKey(undefined, i % 2 ? 'acme_' : 'tg_').apiKey);
    const text = Buffer.from(keys.map((key, i) => `${'x'.repeat(i * 7)}${i % 3 ? ' ' : '\n'}${key}${i % 5 ? '\n' : ' '}`).join(''));
    for (const pieceBytes of [1, 7, 61, 200, 4096]) {
      const pieces = function* () {
        for (let at = 0; at < text.length; at += pieceBytes) yield text.subarray(at, at + pieceBytes);
      };
      const { found, bytes } = await findKeysInStream(pieces(), 256);
      expect(bytes).toBe(text.length);
      expect(found).toEqual(findKeys(text));
      expect(found).toHaveLength(keys.length);
    }
  });

  it('exits 4 when standard input cannot be read: an internal failure, not a key found (nor, for any command, a refusal)', async () => {
    const failing = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    expect(await tollgate(['scan'], { stdin: failing })).toEqual({ code: 4, stdout: '', stderr: 'tollgate: unexpected error: EIO: i/o error, read\n' });
    expect(await tollgate(['token', '--api-key-stdin', '--url', 'http://127.0.0.1:9'], { stdin: failing })).toEqual({
      code: 4,
      stdout: '',
      stderr: 'tollgate: unexpected error: EIO: i/o error, read\n',
    });
  });
});
