/**
 * UTF-16 text for `tollgate scan`: telling it from its first bytes, and reading it as one byte
 * per code unit so the byte matcher (`scan.ts`) finds keys in it.
 */
import { readSync } from 'node:fs';

/** Bytes of a file's start that tell UTF-16 text. */
export const HEAD_BYTES = 512;

/**
 * Whether bytes that start a file are UTF-16 text, and in which byte order: a byte-order mark
 * (FF FE, FE FF), or, without one, at least 8 code units with a NUL in at least half of the
 * high bytes and in almost none of the low ones (ASCII-heavy UTF-16, as PowerShell and
 * Windows tools write it). A wrong guess costs a second pass only: the bytes are scanned as
 * they are as well.
 */
export function utf16Of(head: Uint8Array): { readonly littleEndian: boolean; readonly bom: number } | undefined {
  if (head[0] === 0xff && head[1] === 0xfe) return { littleEndian: true, bom: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { littleEndian: false, bom: 2 };
  const units = head.length >> 1;
  if (units < 8) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let at = 0; at < units * 2; at += 2) {
    if (head[at] === 0) evenNul += 1;
    if (head[at + 1] === 0) oddNul += 1;
  }
  if (oddNul * 2 >= units && evenNul * 8 < units) return { littleEndian: true, bom: 0 };
  if (evenNul * 2 >= units && oddNul * 8 < units) return { littleEndian: false, bom: 0 };
  return undefined;
}

/**
 * A reader of a UTF-16 file's text as one byte per code unit: ASCII as itself, anything else
 * as 0x80 (not a word character, as a non-ASCII byte is), so the byte matcher reads it, and a
 * line's column counts code units.
 */
export function utf16Reader(fd: number, { littleEndian, bom }: { littleEndian: boolean; bom: number }): (buffer: Buffer, position: number) => number {
  let raw = Buffer.alloc(0);
  return (buffer, position) => {
    if (raw.length < buffer.length * 2) raw = Buffer.alloc(buffer.length * 2);
    const got = readSync(fd, raw, 0, buffer.length * 2, bom + position * 2);
    const units = got >> 1;
    for (let i = 0; i < units; i += 1) {
      const unit = littleEndian ? raw[2 * i]! | (raw[2 * i + 1]! << 8) : (raw[2 * i]! << 8) | raw[2 * i + 1]!;
      buffer[i] = Math.min(unit, 0x80);
    }
    return units;
  };
}
