/**
 * The verifier checks "strict unpadded base64url" without a per-character loop (see
 * `decodePart` and the alphabet scan in access-token-verifier.ts). This pins that the
 * shortcut means exactly the RFC 7515 §2 definition, for any characters whatsoever.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessTokenVerifier, decodePart } from '../../../lambda/core/authorizer/access-token-verifier';
import { RejectReason, TokenRejected } from '../../../lambda/core/authorizer/authorizer-errors';

const STRICT = /^[A-Za-z0-9_-]+$/;
/** RFC 4648 §3.5: the one spelling of its bytes (the bits of the last character beyond the data are zero). */
const canonical = (part: string) => Buffer.from(part, 'base64url').toString('base64url') === part;
const scratch = Buffer.alloc(4096);

/** The verifier's rule for one part, as `verify` applies it (alphabet scan over the whole token, then the part). */
function fastRule(part: string): boolean {
  const ascii = Buffer.byteLength(part, 'utf8') === part.length && !part.includes('+') && !part.includes('/');
  return ascii && decodePart(part, 0, part.length, scratch) >= 0;
}

const odd = fc.constantFrom(
  '=',
  ' ',
  '\t',
  '\n',
  '\0',
  '!',
  '.',
  '+',
  '/',
  '%',
  '\u007f',
  '\u0080',
  '\u00c1',
  '\u00e9',
  '\u00ff',
  '\u0100',
  '\u0141',
  '\u0161',
  '\u3000',
  '\u{1F600}',
);
const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

describe('strict base64url check', () => {
  it('equals the definition (non-empty, URL alphabet, no padding, length ≠ 4k+1, canonical last character) on arbitrary strings', () => {
    const mostlyValid = fc.array(fc.oneof({ weight: 9, arbitrary: alphabet }, { weight: 1, arbitrary: odd }), { maxLength: 40 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.oneof(mostlyValid, fc.string({ unit: 'binary', maxLength: 40 })), (part) => {
        expect(fastRule(part)).toBe(part.length % 4 !== 1 && STRICT.test(part) && canonical(part));
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodes exactly what Buffer decodes for valid parts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const part = Buffer.from(bytes).toString('base64url');
        if (part.length === 0) return;
        const n = decodePart(part, 0, part.length, scratch);
        expect(Buffer.from(scratch.subarray(0, n))).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('refuses every other spelling of the same bytes: the spare bits of the last character set', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((b) => b.length % 3 !== 0),
        fc.integer({ min: 1, max: 15 }),
        (bytes, spare) => {
          const part = Buffer.from(bytes).toString('base64url');
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
          const mask = part.length % 4 === 2 ? 0b1111 : 0b11;
          if ((spare & mask) === 0) return;
          const respelled = part.slice(0, -1) + alphabet[alphabet.indexOf(part.at(-1)!) | (spare & mask)];
          expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(bytes));
          expect(decodePart(respelled, 0, respelled.length, scratch)).toBe(-1);
        },
      ),
    );
  });

  it('makes the verifier refuse a lookalike character whose low byte is a base64url letter', () => {
    const verifier = new AccessTokenVerifier({ issuer: 'i', audience: 'a', clockSkewSeconds: 0, maxLifetimeSeconds: 60 });
    const lookalike = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ\u0141In0.${'A'.repeat(86)}`;
    expect(() => verifier.verify(lookalike, { lookup: () => undefined }, 0)).toThrow(new TokenRejected(RejectReason.malformedToken));
  });
});
