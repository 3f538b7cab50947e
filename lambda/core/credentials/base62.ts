/**
 * Fixed-width base62 (`0-9A-Za-z`, the alphabet in `common/tokens.ts`). Fixed width keeps
 * every API key the same length, so one regex matches them all and leading zeros survive.
 */
import { BASE62_ALPHABET } from '../../../common/tokens';

const BASE = 62n;
const DIGIT_VALUE: ReadonlyMap<string, bigint> = new Map([...BASE62_ALPHABET].map((char, index) => [char, BigInt(index)]));

/** Big-endian unsigned integer of `bytes`. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** `value` in exactly `width` base62 digits, left-padded with `0`; throws if it does not fit. */
export function encodeBase62(value: bigint, width: number): string {
  if (value < 0n) throw new RangeError('base62: negative value');
  let rest = value;
  let digits = '';
  while (rest > 0n) {
    digits = BASE62_ALPHABET[Number(rest % BASE)] + digits;
    rest /= BASE;
  }
  if (digits.length > width) throw new RangeError(`base62: value needs ${digits.length} digits, width is ${width}`);
  return digits.padStart(width, BASE62_ALPHABET[0]);
}

/** The value of a base62 string, or `undefined` when a character is outside the alphabet. */
export function decodeBase62(text: string): bigint | undefined {
  let value = 0n;
  for (const char of text) {
    const digit = DIGIT_VALUE.get(char);
    if (digit === undefined) return undefined;
    value = value * BASE + digit;
  }
  return value;
}

export function isBase62(text: string): boolean {
  for (const char of text) if (!DIGIT_VALUE.has(char)) return false;
  return true;
}
