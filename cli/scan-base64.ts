/**
 * Where `tollgate scan` looks for base64-encoded keys: a Kubernetes Secret's `data`, an
 * `Authorization: Basic` header of `client_id:key`, a Docker config's `auth`. A key hidden this
 * way has no `_` byte to find, so the matcher decodes instead: every run of base64 characters
 * (either alphabet, RFC 4648 §4 and §5) long enough to hold the shortest key, at each of the
 * four offsets a base64 string can start at within the run (a run may begin with letters glued
 * before the encoding: `key-ZGdf…`), and the matcher (`allKeyMatches`, in its `'decoded'` mode)
 * reads the decoded bytes. An encoding wrapped over several lines (GNU `base64` at 76 columns)
 * is one run: a run that fills its line is joined with the following lines of the same width
 * (`encodedRuns`; a width under `minRun`, PEM's 64, is not followed).
 *
 * Finding the runs costs little on text that holds none: a run of at least `minRun` characters
 * contains one of every `minRun`-th offset, so only those offsets are probed, and a run is
 * measured only around a probe that lands in one.
 */
import { API_KEY_BODY_CHARS } from '../common/tokens';

/** The shortest key: a 2-character prefix, `_`, the body. */
const SHORTEST_KEY_BYTES = 2 + 1 + API_KEY_BODY_CHARS;
/** Base64 characters holding at least one bit of any `SHORTEST_KEY_BYTES` consecutive decoded bytes: fewer cannot hold a key. */
export const BASE64_MIN_RUN = Math.ceil((SHORTEST_KEY_BYTES * 8) / 6);

/** A character of either base64 alphabet (`+/` or `-_` as the last two). */
export const BASE64_CHAR = /[A-Za-z0-9+/_-]/;
const ALPHABET = new Uint8Array(256);
for (let byte = 0; byte < 128; byte += 1) if (BASE64_CHAR.test(String.fromCharCode(byte))) ALPHABET[byte] = 1;

/** Every maximal run of base64 characters of at least `minRun` in `buffer`, as `[start, end)`, in order. */
export function base64Runs(buffer: Uint8Array, minRun = BASE64_MIN_RUN): Array<readonly [number, number]> {
  const runs: Array<readonly [number, number]> = [];
  const length = buffer.length;
  // Probes at minRun - 1 + k·minRun, restarted after each run measured: a run of minRun or more holds one.
  for (let probe = minRun - 1; probe < length; ) {
    if (ALPHABET[buffer[probe]!] === 0) {
      probe += minRun;
      continue;
    }
    let end = probe + 1;
    while (end < length && ALPHABET[buffer[end]!] === 1) end += 1;
    // The run must reach back to end - minRun: look no further back than that unless it does.
    const reach = end - minRun;
    let start = probe;
    while (start > 0 && start > reach && ALPHABET[buffer[start - 1]!] === 1) start -= 1;
    if (start <= reach) {
      while (start > 0 && ALPHABET[buffer[start - 1]!] === 1) start -= 1;
      runs.push([start, end]);
    }
    probe = end + minRun;
  }
  return runs;
}

/**
 * A run to decode: its characters, in order, as segments of the text: one for a run on one
 * line, one per line for an encoding wrapped over several ({@link encodedRuns}).
 */
export type Run = readonly (readonly [start: number, end: number])[];

/** The most spaces or tabs before a wrapped encoding's next line (a YAML block's indentation). */
const MAX_INDENT = 16;
const [LF, CR, SPACE, TAB, PAD, DQUOTE, SQUOTE] = [0x0a, 0x0d, 0x20, 0x09, 0x3d, 0x22, 0x27];

/**
 * The runs to decode in `buffer`: every run of at least `minRun` characters on one line, and
 * where such a run fills its line and the next lines continue it at the same width, the
 * encoding wrapped over them (GNU `base64` wraps at 76 characters): a key split over two
 * lines is decoded whole. A width under `minRun` (PEM's 64) is not followed.
 */
export function encodedRuns(buffer: Uint8Array, minRun = BASE64_MIN_RUN): Run[] {
  const runs: Run[] = [];
  let takenUpTo = 0;
  for (const run of base64Runs(buffer, minRun)) {
    // A full-width line of a wrapped encoding already taken. A narrower last line is read on its own as well: it
    // may as well be the first line of another encoding (the matcher keeps one reading of a key: scan.ts).
    if (run[0] < takenUpTo) continue;
    const after = run[1] < buffer.length ? buffer[run[1]] : undefined;
    if ((after !== LF && after !== CR) || (run[1] - run[0]) % 4 !== 0) {
      runs.push([run]);
      continue;
    }
    const lines = wrappedFrom(buffer, run);
    runs.push(lines);
    const last = lines[lines.length - 1]!;
    const narrower = lines.length > 1 && last[1] - last[0] < run[1] - run[0];
    takenUpTo = (narrower ? lines[lines.length - 2]! : last)[1];
  }
  return runs;
}

/**
 * The lines of an encoding whose first line is the run `first`, which ends its line at a width
 * that is a multiple of 4 ({@link encodedRuns} checks): each next line, after one line break and
 * at most MAX_INDENT spaces or tabs, is a run as wide as the first ending its line, or the last
 * one, no wider, ending at its line's end, `=` padding or a quote.
 */
function wrappedFrom(buffer: Uint8Array, first: readonly [number, number]): Run {
  const lines = [first];
  const width = first[1] - first[0];
  for (let line = first; ; ) {
    const next = nextLine(buffer, line[1]);
    if (next === undefined || next[1] - next[0] > width) return lines;
    const ending = buffer[next[1]];
    const endsLine = ending === undefined || ending === LF || ending === CR;
    if (next[1] - next[0] === width && endsLine) {
      lines.push(next);
      line = next;
      continue;
    }
    if (endsLine || ending === PAD || ending === DQUOTE || ending === SQUOTE) lines.push(next);
    return lines;
  }
}

/** The run of base64 characters that starts the line after a line break at `at` and its indentation; undefined when there is none. */
function nextLine(buffer: Uint8Array, at: number): readonly [number, number] | undefined {
  let start = at;
  if (buffer[start] === CR) start += 1;
  if (buffer[start] !== LF) return undefined;
  start += 1;
  const indentEnd = Math.min(buffer.length, start + MAX_INDENT);
  while (start < indentEnd && (buffer[start] === SPACE || buffer[start] === TAB)) start += 1;
  let end = start;
  while (end < buffer.length && ALPHABET[buffer[end]!] === 1) end += 1;
  return end > start ? [start, end] : undefined;
}

/** One reading of a run: the bytes decoded from its character at text offset `at`. */
export interface Decoding {
  readonly at: number;
  readonly bytes: Buffer;
  /** The text offset of the character `index` characters after `at`, across a wrapped run's line breaks. */
  readonly charAt: (index: number) => number;
}

/**
 * For each character, the positions in a group of four (bit k: position k) at which it can
 * encode three bytes of a key (`[0-9A-Za-z_]`), in either alphabet. Position 0 holds a byte's
 * top six bits, so only `M`–`e` can start such a group: random base64 (a hash, an image) almost
 * never encodes even a few such groups in a row.
 */
const GROUP_POSITIONS = new Uint8Array(256);
{
  const keyBytes = Array.from({ length: 128 }, (_, byte) => byte).filter((byte) => /[0-9A-Za-z_]/.test(String.fromCharCode(byte)));
  const sextetChars = (sextet: number) => [
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(sextet),
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(sextet),
  ];
  const mark = (position: number, sextet: number) => {
    for (const char of sextetChars(sextet)) GROUP_POSITIONS[char]! |= 1 << position;
  };
  for (const first of keyBytes) {
    mark(0, first >> 2);
    for (const second of keyBytes) mark(1, ((first & 3) << 4) | (second >> 4));
  }
  for (const second of keyBytes) for (const third of keyBytes) mark(2, ((second & 15) << 2) | (third >> 6));
  for (const third of keyBytes) mark(3, third & 63);
}
/** Whole groups of three decoded bytes inside any key body, wherever it starts. */
const BODY_GROUPS = Math.floor((API_KEY_BODY_CHARS - 2) / 3);

/** Whether the group of four characters at `at` can encode three bytes of a key. */
const fits = (buffer: Uint8Array, at: number) =>
  (GROUP_POSITIONS[buffer[at]!]! & 1) !== 0 &&
  (GROUP_POSITIONS[buffer[at + 1]!]! & 2) !== 0 &&
  (GROUP_POSITIONS[buffer[at + 2]!]! & 4) !== 0 &&
  (GROUP_POSITIONS[buffer[at + 3]!]! & 8) !== 0;

/**
 * Whether the groups of four from `at` to `end` hold BODY_GROUPS in a row that fit: else no key
 * body is decoded from `at`. Probed as the runs are: a streak that long holds one of every
 * BODY_GROUPS-th group.
 */
function mayHoldKey(buffer: Uint8Array, at: number, end: number): boolean {
  const groups = Math.floor((end - at) / 4);
  for (let probe = BODY_GROUPS - 1; probe < groups; ) {
    if (!fits(buffer, at + 4 * probe)) {
      probe += BODY_GROUPS;
      continue;
    }
    let after = probe + 1;
    while (after < groups && fits(buffer, at + 4 * after)) after += 1;
    let first = probe;
    while (first > 0 && after - first < BODY_GROUPS && fits(buffer, at + 4 * (first - 1))) first -= 1;
    if (after - first >= BODY_GROUPS) return true;
    probe = after + BODY_GROUPS;
  }
  return false;
}

/**
 * A run decoded from each of its first four offsets (only one is where its encoding starts)
 * that leaves at least `minRun` characters and whose groups from there could encode a key's
 * body ({@link mayHoldKey}); an offset that could not is not decoded.
 */
export function decodings(buffer: Buffer, run: Run, minRun = BASE64_MIN_RUN): Decoding[] {
  // A run on one line is read where it is; a wrapped one is joined first.
  const single = run.length === 1;
  const text = single ? buffer : Buffer.concat(run.map(([start, end]) => buffer.subarray(start, end)));
  const from = single ? run[0]![0] : 0;
  const to = single ? run[0]![1] : text.length;
  const readings: Decoding[] = [];
  const offset = single ? undefined : textOffsets(run);
  for (let at = from; at < from + 4 && to - at >= minRun; at += 1) {
    if (!mayHoldKey(text, at, to)) continue;
    const charAt = offset === undefined ? (index: number) => at + index : (index: number) => offset(at + index);
    // Node's base64 decoder takes both alphabets, and drops a last character that completes no byte.
    readings.push({ at: charAt(0), bytes: Buffer.from(text.toString('latin1', at, to), 'base64'), charAt });
  }
  return readings;
}

/** The text offset of a run's `index`-th character (past its last, for an index beyond it): a binary search over its segments. */
function textOffsets(run: Run): (index: number) => number {
  // before[i]: characters in the segments before segment i.
  const before = [0];
  for (const [start, end] of run) before.push(before.at(-1)! + end - start);
  return (index) => {
    let low = 0;
    let high = run.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (before[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return run[low]![0] + index - before[low]!;
  };
}

/** The offset, in the encoded text, of the character holding the first bit of decoded byte `byte`. */
export const charOf = (decoding: Decoding, byte: number) => decoding.charAt(Math.floor((byte * 4) / 3));

/** The offset just past the character holding the last bit of decoded byte `byte - 1`: where the encoding of bytes before `byte` ends. */
export const charEnd = (decoding: Decoding, byte: number) => decoding.charAt(Math.ceil((byte * 4) / 3) - 1) + 1;
