/**
 * How `tollgate scan` prints a path, or a message that may hold a key: with every key, plain or
 * base64-encoded, hidden. Wider than the matcher (`scan.ts`), so nothing it could report is left.
 */
import { API_KEY_BODY_CHARS, API_KEY_IN_TEXT_PATTERN } from '../common/tokens';
import { allKeyMatches, holdsWellFormedKey } from './scan';
import { BASE64_CHAR, BASE64_MIN_RUN, charEnd, charOf, decodings } from './scan-base64';

/** A part of a text to hide, `[start, end)`, and what is printed instead. */
type Span = readonly [start: number, end: number, shown: string];

/**
 * `text` with every run of 49 or more base62 characters after a `_` or its JSON escape
 * `\u005f` (a key's body, checksum or not, whatever is glued before it or after it: wider
 * than the matcher, and with no boundary to miss, so nothing it could report is left) as
 * `_<redacted>`, and the characters of a base64 run that encode such a match in any decoding
 * as `<redacted base64>`: how a path, or a message that may hold one, is printed. Both are
 * found in the text as it is, then hidden together: hiding one first could cut the other
 * short (an encoding's match may take the last letters of a plain key glued before it).
 */
export function redactKeys(text: string): string {
  const spans: Span[] = [...plainKeySpans(text), ...encodedKeySpans(text)].sort((a, b) => a[0] - b[0]);
  let shown = '';
  let kept = 0;
  for (const [start, end, instead] of spans) {
    // Overlapping spans are hidden as one, under the first one's label.
    if (start >= kept) shown += text.slice(kept, start) + instead;
    kept = Math.max(kept, end);
  }
  return shown + text.slice(kept);
}

/** Whether a base64 run in `text` encodes a key-shaped string (what {@link redactKeys} hides as `<redacted base64>`). */
/**
 * A file name as a terminal line may hold it: control characters (C0, DEL, C1) written as
 * `\xNN`. A name is the scanned tree's to choose, and printed raw a newline would forge a
 * line of output (a CI log's `::error` workflow command) and an escape sequence would drive
 * the terminal. `--json` needs none of this: JSON escapes them itself.
 */
export function printableName(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the class is the control characters.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function holdsEncodedKey(text: string): boolean {
  return encodedKeySpans(text).length > 0;
}

/**
 * What an argument that would be sent (in a URL path, a header) holds when it holds an API key:
 * a key-shaped string, a key whose checksum holds whatever is glued to it, or a base64 run that
 * encodes a key-shaped string. Such an argument is refused: nothing is sent, nothing echoed.
 */
export function pastedKey(text: string): 'an API key' | 'a base64-encoded API key' | undefined {
  if (API_KEY_IN_TEXT_PATTERN.test(text) || holdsWellFormedKey(text)) return 'an API key';
  return holdsEncodedKey(text) ? 'a base64-encoded API key' : undefined;
}

const KEY_BODY_RUN = new RegExp(`(_|\\\\u005[fF])[0-9A-Za-z]{${API_KEY_BODY_CHARS},}`, 'g');
const BASE64_RUN = new RegExp(`${BASE64_CHAR.source}{${BASE64_MIN_RUN},}`, 'g');

/** The body after each `_` (or `\u005f`) followed by 49 or more base62 characters; the separator stays. */
function plainKeySpans(text: string): Span[] {
  return [...text.matchAll(KEY_BODY_RUN)].map((match) => [match.index + match[1]!.length, match.index + match[0].length, '<redacted>']);
}

/**
 * In each base64 run, the characters that hold any bit of a key-shaped match in any of its
 * decodings (checksum or not, either boundary); the rest of the run stays: a path's
 * directories are base64 characters too.
 */
function encodedKeySpans(text: string): Span[] {
  const spans: Span[] = [];
  for (const run of text.matchAll(BASE64_RUN))
    for (const decoding of decodings(Buffer.from(run[0], 'latin1'), [[0, run[0].length]]))
      for (const match of allKeyMatches(decoding.bytes, 'decoded'))
        spans.push([run.index + charOf(decoding, match.start), run.index + charEnd(decoding, match.end), '<redacted base64>']);
  return spans;
}
