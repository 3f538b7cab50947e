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
  it('equals the regex definition (non-empty, URL alphabet, no padding, length ≠ 4k+1) on arbitrary strings', () => {
    const mostlyValid = fc.array(fc.oneof({ weight: 9, arbitrary: alphabet }, { weight: 1, arbitrary: odd }), { maxLength: 40 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.oneof(mostlyValid, fc.string({ unit: 'binary', maxLength: 40 })), (part) => {
        expect(fastRule(part)).toBe(part.length % 4 !== 1 && STRICT.test(part));
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

  it('makes the verifier refuse a lookalike character whose low byte is a base64url letter', () => {
    const verifier = new AccessTokenVerifier({ issuer: 'i', audience: 'a', clockSkewSeconds: 0, maxLifetimeSeconds: 60 });
    const lookalike = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ\u0141In0.${'A'.repeat(86)}`;
    expect(() => verifier.verify(lookalike, { lookup: () => undefined }, 0)).toThrow(new TokenRejected(RejectReason.malformedToken));
  });
});
