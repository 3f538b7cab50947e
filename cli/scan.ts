/**
 * `tollgate scan`'s matcher: finds Tollgate API keys of ANY prefix in bytes, exactly the
 * strings `API_KEY_IN_TEXT_PATTERN` matches (`(?<![a-z0-9])[a-z0-9]{2,10}(?:_|\\u005[fF])`
 * `[0-9A-Za-z]{49}\b`: the `_` also as a JSON escape), and keeps only those whose checksum
 * holds (`isWellFormedApiKey`), so a look-alike is never reported.
 *
 * It works on bytes, not on a decoded string: keys are ASCII, so a byte scan finds every key
 * in UTF-8 or any ASCII-compatible text without decoding it, and `Buffer.indexOf` of the
 * `_` byte (memchr) skips everything that cannot be a key at memory speed. A regular
 * expression over the decoded text finds the same matches (a differential test checks it),
 * several times slower.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { hashApiKey, isWellFormedApiKey, keyIdOf } from '../lambda/core/credentials/api-keys';
import { API_KEY_BODY_CHARS } from '../common/tokens';
import { charEnd, charOf, decodings, encodedRuns } from './scan-base64';
import { HEAD_BYTES, utf16Of, utf16Reader } from './scan-utf16';

/** Where one key was found; never the key itself. */
export interface Finding {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in bytes. */
  readonly column: number;
  readonly keyId: string;
  readonly prefix: string;
}

const UNDERSCORE = 0x5f;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const PREFIX_MIN = 2;
const PREFIX_MAX = 10;

/** Byte classes: 1 = [a-z0-9] (prefix), 2 = [A-Z] (base62, not prefix), 4 = word character (`\w`: [A-Za-z0-9_]). */
const CLASS = new Uint8Array(256);
for (let byte = 0; byte < 256; byte += 1) {
  const char = String.fromCharCode(byte);
  if (/[a-z0-9]/.test(char)) CLASS[byte] = 1 | 4;
  else if (/[A-Z]/.test(char)) CLASS[byte] = 2 | 4;
  else if (char === '_') CLASS[byte] = 4;
}
const isPrefixChar = (byte: number | undefined) => byte !== undefined && (CLASS[byte]! & 1) !== 0;
const isBase62 = (byte: number | undefined) => byte !== undefined && (CLASS[byte]! & 3) !== 0;
const isWord = (byte: number | undefined) => byte !== undefined && (CLASS[byte]! & 4) !== 0;

/** A match of the key pattern: `start` of the prefix, `end` after the body, and where its separator is. */
export interface KeyMatch {
  readonly start: number;
  readonly end: number;
  /** The separator's offset: `_`, or the 6 bytes of its JSON escape `\u005f`. */
  readonly separator: number;
  readonly separatorBytes: number;
}

const ESCAPED_UNDERSCORE = Buffer.from('\\u005', 'latin1');
const ESCAPE_BYTES = 6;

/** Whether `\u005` at `at` ends in `f` or `F`: the JSON escape of `_`. */
const isEscapedUnderscore = (buffer: Buffer, at: number) => buffer[at + 5] === 0x66 || buffer[at + 5] === 0x46;

/**
 * Every match of `API_KEY_IN_TEXT_PATTERN` in `buffer`, checksum not yet checked, in order and
 * not overlapping: like a global regular expression, a match resumes the search at its end.
 * The separators are found at memory speed (`Buffer.indexOf` of `_` and of `\u005`), and each
 * is tried in the order they occur.
 *
 * `bytes`: `'text'`, as the pattern says; `'decoded'`, for a decoding of a base64 run, where the
 * bytes on either side of a key may be what characters glued to its encoding decode to: a run
 * of more than 10 lowercase letters or digits before the separator gives its last 10 as the
 * prefix instead of no match, even when it overlaps the match before, and the byte after the
 * body is not looked at (the checksum still rules out a look-alike).
 */
export function allKeyMatches(buffer: Buffer, bytes: 'text' | 'decoded' = 'text'): KeyMatch[] {
  const matches: KeyMatch[] = [];
  let underscoreAt = buffer.indexOf(UNDERSCORE);
  let escapeAt = buffer.indexOf(ESCAPED_UNDERSCORE);
  let resumeAt = 0;
  while (underscoreAt !== -1 || escapeAt !== -1) {
    const isEscape = escapeAt !== -1 && (underscoreAt === -1 || escapeAt < underscoreAt);
    const at = isEscape ? escapeAt : underscoreAt;
    const match = isEscape && !isEscapedUnderscore(buffer, at) ? undefined : matchAt(buffer, at, isEscape ? ESCAPE_BYTES : 1, resumeAt, bytes);
    if (match) {
      matches.push(match);
      resumeAt = match.end;
    }
    const next = match ? match.end : at + 1;
    if (underscoreAt !== -1 && underscoreAt < next) underscoreAt = buffer.indexOf(UNDERSCORE, next);
    if (escapeAt !== -1 && escapeAt < next) escapeAt = buffer.indexOf(ESCAPED_UNDERSCORE, next);
  }
  return matches;
}

/**
 * The match whose separator is at `separator`, if any. The regular expression takes the
 * LEFTMOST start, so the prefix is the longest run of [a-z0-9] (at most 10) before the
 * separator; a longer run is no match. Any other byte may precede it, a word character
 * included: the `D` of a URL-encoded `=` (`%3D`), the `_` of `KEY_`. The body must end at a
 * word boundary.
 */
function matchAt(buffer: Buffer, separator: number, separatorBytes: number, resumeAt: number, bytes: 'text' | 'decoded'): KeyMatch | undefined {
  const text = bytes === 'text';
  const end = separator + separatorBytes + API_KEY_BODY_CHARS;
  if (end > buffer.length || (text && isWord(buffer[end]))) return undefined;
  let start = separator;
  while (start > 0 && separator - start < PREFIX_MAX && isPrefixChar(buffer[start - 1])) start -= 1;
  const prefixLength = separator - start;
  // In text, matches do not overlap and a longer run is no match; in a decoding, a match depends only on the bytes around
  // its own separator, so a window's read finds what one read does (its prefix may take the last bytes of the match before).
  const refused = text && (start < resumeAt || (start > 0 && isPrefixChar(buffer[start - 1])));
  if (prefixLength < PREFIX_MIN || refused) return undefined;
  for (let i = separator + separatorBytes; i < end; i += 1) if (!isBase62(buffer[i])) return undefined;
  return { start, end, separator, separatorBytes };
}

/** Counts lines incrementally, forward only: each newline is looked for once, however many findings share a line. */
class LineCounter {
  private line = 1;
  private lineStart = 0;
  /** The next newline at or after `lineStart`; undefined until the first finding. */
  private nextNewline: number | undefined;

  constructor(private readonly bytes: Buffer) {}

  at(offset: number): { line: number; column: number } {
    this.nextNewline ??= this.bytes.indexOf(NEWLINE);
    while (this.nextNewline !== -1 && this.nextNewline < offset) {
      this.line += 1;
      this.lineStart = this.nextNewline + 1;
      this.nextNewline = this.bytes.indexOf(NEWLINE, this.lineStart);
    }
    return { line: this.line, column: offset - this.lineStart + 1 };
  }
}

/** One verified key: where it is, and (only for `--revoke`, never printed) the key. */
export interface FoundKey extends Finding {
  readonly key: string;
  /**
   * The byte before the match opens an escape whose last characters the match may have taken:
   * a backslash (the `n` of a JSON `\n`) or `%` (the `3d` of a URL's lower-case `%3d`, `=`).
   */
  readonly escaped: '\\' | '%' | undefined;
  /** The key was base64-encoded in the text (`scan-base64.ts`); its line and column are where the encoding of its match starts. */
  readonly encoding?: 'base64';
}

/** Keys in one text (a whole file's bytes), with their checksum verified; look-alikes are dropped. */
export function findKeys(bytes: Uint8Array): FoundKey[] {
  return keysIn(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).map(({ end: _end, ...found }) => found);
}

/** Keys in a name (a path: a key can be a file's or a directory's name), each with the offset of its end in the name's UTF-8 bytes. */
export function findKeysInName(name: string): Array<FoundKey & { readonly end: number }> {
  return keysIn(Buffer.from(name, 'utf8'));
}

function keysIn(buffer: Buffer): Array<FoundKey & { readonly end: number }> {
  const lines = new LineCounter(buffer);
  const found: Array<FoundKey & { readonly end: number }> = [];
  for (const candidate of candidates(buffer)) {
    const key = keyOf(candidate);
    if (key) found.push({ ...lines.at(candidate.start), ...key, end: candidate.end });
  }
  return found;
}

/**
 * A match to check, in the text or in a decoding of a base64 run in it. `start` and `end` are
 * offsets in the text (of the encoding, for a decoded match); `match` is in `bytes`.
 */
interface Candidate {
  readonly start: number;
  readonly end: number;
  readonly bytes: Buffer;
  readonly match: KeyMatch;
  /** Whether `bytes` begins where the text does, so the bytes before the match (a longer prefix) may be cut off by a window's start. */
  readonly fromTextStart: boolean;
  readonly encoded: boolean;
}

/** Every match in `text` and in the decodings of its base64 runs, in the order of their start in `text`. */
function candidates(text: Buffer): Candidate[] {
  const plain = allKeyMatches(text).map(
    (match): Candidate => ({
      start: match.start,
      end: match.end,
      bytes: text,
      match,
      fromTextStart: true,
      encoded: false,
    }),
  );
  const encoded: Candidate[] = [];
  for (const run of encodedRuns(text))
    for (const decoding of decodings(text, run))
      for (const match of allKeyMatches(decoding.bytes, 'decoded'))
        encoded.push({
          start: charOf(decoding, match.start),
          end: charEnd(decoding, match.end),
          bytes: decoding.bytes,
          match,
          fromTextStart: run[0]![0] === 0,
          encoded: true,
        });
  return encoded.length === 0 ? plain : [...plain, ...oneReadingEach(encoded)].sort((a, b) => a.start - b.start);
}

/**
 * One decoded match per key: a narrower last line of a wrapped encoding is also read on its
 * own, so a key in it is matched twice, with the same body and end. The shorter match is kept:
 * the longer one's prefix takes bytes from the line before, which may be another encoding.
 */
function oneReadingEach(encoded: readonly Candidate[]): readonly Candidate[] {
  const byEnd = new Map<number, Candidate>();
  for (const candidate of encoded) {
    const kept = byEnd.get(candidate.end);
    if (kept === undefined || candidate.start > kept.start) byEnd.set(candidate.end, candidate);
  }
  return byEnd.size === encoded.length ? encoded : [...byEnd.values()];
}

/** The key a candidate spells, when its checksum holds, and whether it was encoded. */
function keyOf(candidate: Candidate): Omit<FoundKey, 'line' | 'column'> | undefined {
  const key = verified(candidate.bytes, candidate.match);
  return key && candidate.encoded ? { ...key, encoding: 'base64' } : key;
}

/** Whether `text` holds a key whose checksum holds, whatever is glued to it on either side (as in a decoding): a key pasted where it does not belong. */
export function holdsWellFormedKey(text: string): boolean {
  const bytes = Buffer.from(text, 'utf8');
  return allKeyMatches(bytes, 'decoded').some((match) => verified(bytes, match) !== undefined);
}

/** The key a match spells (its separator read as `_`), when its checksum holds. */
function verified(buffer: Buffer, match: KeyMatch): Omit<FoundKey, 'line' | 'column'> | undefined {
  const prefix = `${buffer.toString('latin1', match.start, match.separator)}_`;
  const key = prefix + buffer.toString('latin1', match.separator + match.separatorBytes, match.end);
  if (!isWellFormedApiKey(key)) return undefined;
  const before = match.start > 0 ? buffer[match.start - 1] : undefined;
  const escaped = before === BACKSLASH ? '\\' : before === PERCENT ? '%' : undefined;
  return { key, keyId: keyIdOf(hashApiKey(key)), prefix, escaped };
}

/**
 * Bytes kept from one window to the next: a whole match (at most 65 bytes, with a `\u005f`)
 * plus the byte on each side, or a base64-encoded one (at most 83 characters) with the 19
 * before it that hold its context, and in a wrapped encoding the line breaks and indentation
 * (at most 18 bytes each) between its lines: at most two of them within one encoded key, so
 * about 140 bytes at most. 512 is headroom over that, free against 8 MiB windows.
 */
const OVERLAP = 512;
/** A match starting this close to a later window's start was wholly inside the window before (with its context). */
const SEEN_BEFORE = PREFIX_MAX + 2;

/** The window size of a chunked scan. */
export const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * A chunked scan's state: a window of `chunkBytes` that the caller fills at {@link free}, then
 * scans with {@link advance}. Consecutive windows overlap by {@link OVERLAP} bytes, so a key
 * across a read boundary is found once, whole, with the bytes around it that decide its word
 * boundaries. The same state serves a file read at positions and a stream read in pieces.
 */
class KeyWindow {
  readonly found: FoundKey[] = [];
  private readonly window: Buffer;
  private kept = 0;
  /** Absolute offset of `window[0]`, and the lines and line bytes before it. */
  private windowStart = 0;
  private linesBefore = 0;
  private columnCarry = 0;
  /**
   * Absolute end of the last match reported, in the text and in a decoding: a later window sees
   * it again. Kept apart, as the two may overlap (an encoding's last letters glued before a key).
   */
  private readonly reportedUpTo = { plain: 0, encoded: 0 };

  constructor(private readonly chunkBytes: number) {
    this.window = Buffer.alloc(chunkBytes + OVERLAP);
  }

  /** Where the next bytes go: at most `chunkBytes`. */
  get free(): Buffer {
    return this.window.subarray(this.kept, this.kept + this.chunkBytes);
  }

  /** Scans the window after `got` bytes were put at {@link free} (0: the source has ended), then slides it. */
  advance(got: number): void {
    const length = this.kept + got;
    const atEnd = got === 0;
    const view = this.window.subarray(0, length);
    const lines = new LineCounter(view);
    for (const candidate of candidates(view)) {
      // Near a slid window's start the bytes before a match are gone; such a match was wholly in the window before.
      if (this.windowStart > 0 && candidate.fromTextStart && candidate.match.start < SEEN_BEFORE) continue;
      // Reported before: a match in the text starts before the last one's end (a match resumes there, as one whole read
      // does); a decoded one ends no later than the last one did (it may start before: bytes glued letters decode to).
      const kind = candidate.encoded ? 'encoded' : 'plain';
      const reported = this.reportedUpTo[kind];
      if (candidate.encoded ? this.windowStart + candidate.end <= reported : this.windowStart + candidate.start < reported) continue;
      // A match in the text is decided by its following byte (its boundary): unless this is the end, leave it to the
      // next window. A decoded one is decided by its decoded body alone.
      if (!atEnd && !candidate.encoded && candidate.end >= length) continue;
      const key = keyOf(candidate);
      if (!key) continue;
      const at = lines.at(candidate.start);
      this.found.push({
        ...key,
        line: this.linesBefore + at.line,
        column: at.line === 1 ? at.column + this.columnCarry : at.column,
      });
      this.reportedUpTo[kind] = this.windowStart + candidate.end;
    }
    if (atEnd) return;
    // Slide: keep the last OVERLAP bytes, count the lines of what leaves.
    const leaving = Math.max(0, length - OVERLAP);
    const gone = view.subarray(0, leaving);
    const newlines = countNewlines(gone);
    this.columnCarry = newlines === 0 ? this.columnCarry + leaving : leaving - gone.lastIndexOf(NEWLINE) - 1;
    this.linesBefore += newlines;
    this.windowStart += leaving;
    this.window.copy(this.window, 0, leaving, length);
    this.kept = length - leaving;
  }
}

/** Keys in a byte source read in windows of `chunkBytes` (a file of any size in bounded memory). */
export function findKeysChunked(read: (buffer: Buffer, position: number) => number, chunkBytes = SCAN_CHUNK_BYTES): FoundKey[] {
  const scanner = new KeyWindow(chunkBytes);
  for (let position = 0; ; ) {
    const got = read(scanner.free, position);
    position += got;
    scanner.advance(got);
    if (got === 0) return scanner.found;
  }
}

/**
 * Keys in a stream of byte pieces of any sizes (standard input), scanned in the same windows
 * as a file: bounded memory whatever its length, and its raw bytes, never decoded.
 * Resolves to the keys and the number of bytes read.
 */
export async function findKeysInStream(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkBytes = SCAN_CHUNK_BYTES,
): Promise<{ found: FoundKey[]; bytes: number }> {
  const scanner = new KeyWindow(chunkBytes);
  let bytes = 0;
  let filled = 0;
  for await (const piece of pieces) {
    bytes += piece.length;
    for (let at = 0; at < piece.length; ) {
      const free = scanner.free;
      const taken = Math.min(free.length - filled, piece.length - at);
      free.set(piece.subarray(at, at + taken), filled);
      filled += taken;
      at += taken;
      if (filled === free.length) {
        scanner.advance(filled);
        filled = 0;
      }
    }
  }
  if (filled > 0) scanner.advance(filled);
  scanner.advance(0);
  return { found: scanner.found, bytes };
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}

/**
 * Keys in one file, read in bounded windows: its bytes as they are (UTF-8 or any
 * ASCII-compatible text), then, when it is UTF-16 text ({@link utf16Of}), its code units.
 */
export function findKeysInFile(path: string, chunkBytes?: number): FoundKey[] {
  const fd = openSync(path, 'r');
  try {
    const found = findKeysChunked((buffer, position) => readSync(fd, buffer, 0, buffer.length, position), chunkBytes);
    const head = Buffer.alloc(HEAD_BYTES);
    const utf16 = utf16Of(head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0)));
    return utf16 ? [...found, ...findKeysChunked(utf16Reader(fd, utf16), chunkBytes)] : found;
  } finally {
    closeSync(fd);
  }
}
