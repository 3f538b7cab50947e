/**
 * How `tollgate scan` prints a path, or a message that may hold a key: with every key, plain or
 * base64-encoded, hidden. Wider than the matcher (`scan.ts`), so nothing it could report is left.
 */
import { API_KEY_BODY_CHARS } from '../common/tokens';
import { allKeyMatches } from './scan';
import { BASE64_CHAR, BASE64_MIN_RUN, charEnd, charOf, decodings } from './scan-base64';

/**
 * `text` with every run of 49 or more base62 characters after a `_` or its JSON escape
 * `\u005f` (a key's body, checksum or not, whatever is glued before it or after it: wider
 * than the matcher, and with no boundary to miss, so nothing it could report is left) as
 * `_<redacted>`, and the characters of a base64 run that encode such a match in any decoding
 * as `<redacted base64>`: how a path, or a message that may hold one, is printed.
 */
const KEY_BODY_RUN = new RegExp(`(_|\\\\u005[fF])[0-9A-Za-z]{${API_KEY_BODY_CHARS},}`, 'g');
const BASE64_RUN = new RegExp(`${BASE64_CHAR.source}{${BASE64_MIN_RUN},}`, 'g');
export function redactKeys(text: string): string {
  return text.replace(BASE64_RUN, redactEncodedKeys).replace(KEY_BODY_RUN, '$1<redacted>');
}

/** Whether a base64 run in `text` encodes a key-shaped string (what {@link redactKeys} hides as `<redacted base64>`). */
export function holdsEncodedKey(text: string): boolean {
  return text.replace(BASE64_RUN, redactEncodedKeys) !== text;
}

/**
 * A base64 run with the characters that hold any bit of a key-shaped match in any of its
 * decodings (checksum or not, either boundary) as `<redacted base64>`, and the rest kept: a
 * path's directories are base64 characters too.
 */
function redactEncodedKeys(run: string): string {
  const spans: Array<[number, number]> = [];
  for (const decoding of decodings(Buffer.from(run, 'latin1'), [0, run.length]))
    for (const match of allKeyMatches(decoding.bytes, 'decoded')) spans.push([charOf(decoding, match.start), charEnd(decoding, match.end)]);
  spans.sort((a, b) => a[0] - b[0]);
  let redacted = '';
  let kept = 0;
  for (const [start, end] of spans) {
    if (end <= kept) continue;
    if (start >= kept) redacted += `${run.slice(kept, start)}<redacted base64>`;
    kept = end;
  }
  return redacted + run.slice(kept);
}
