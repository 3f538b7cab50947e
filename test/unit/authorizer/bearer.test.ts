import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Limits } from '../../../common/defaults';
import { RejectReason, TokenRejected } from '../../../lambda/core/authorizer/authorizer-errors';
import { authorizationHeader, bearerToken } from '../../../lambda/core/authorizer/bearer';
import { thrown } from './support/errors';

const reason = (fn: () => unknown): string => thrown(fn, TokenRejected).reason;

describe('authorizationHeader', () => {
  it('finds the header under either usual spelling and under unusual ones', () => {
    expect(authorizationHeader({ Authorization: 'Bearer a' }, { Authorization: ['Bearer a'] })).toBe('Bearer a');
    expect(authorizationHeader({ authorization: 'Bearer b' }, null)).toBe('Bearer b');
    expect(authorizationHeader({ AUTHORIZATION: 'Bearer c', Host: 'x' }, undefined)).toBe('Bearer c');
  });

  it('refuses a missing header and missing header maps', () => {
    expect(reason(() => authorizationHeader({ Host: 'x' }, {}))).toBe(RejectReason.missingToken);
    expect(reason(() => authorizationHeader(null, null))).toBe(RejectReason.missingToken);
  });

  it('refuses a header sent twice, as two values or under two spellings', () => {
    expect(reason(() => authorizationHeader({ Authorization: 'Bearer b' }, { Authorization: ['Bearer a', 'Bearer b'] }))).toBe(
      RejectReason.malformedAuthorization,
    );
    expect(reason(() => authorizationHeader({ Authorization: 'Bearer a', authorization: 'Bearer b' }, null))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => authorizationHeader({ AUTHORIZATION: 'Bearer a', AuThOrIzAtIoN: 'Bearer b' }, null))).toBe(RejectReason.malformedAuthorization);
    // A usual spelling beside an unusual one, and a second spelling only in multiValueHeaders.
    expect(reason(() => authorizationHeader({ Authorization: 'Bearer a', AUTHORIZATION: 'Bearer b' }, null))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => authorizationHeader({ authorization: 'Bearer a', AUTHORIZATION: 'Bearer b' }, null))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => authorizationHeader({ Authorization: 'Bearer a' }, { Authorization: ['Bearer a'], AUTHORIZATION: ['Bearer b'] }))).toBe(
      RejectReason.malformedAuthorization,
    );
  });

  it('accepts exactly one value under exactly one spelling, whatever the spellings and maps (property)', () => {
    // The two usual spellings (looked up first by an earlier version) as often as any other.
    const spelling = fc.oneof(
      fc.constantFrom('Authorization', 'authorization'),
      fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }).map((upper) => Array.from('authorization', (c, i) => (upper[i] ? c.toUpperCase() : c)).join('')),
    );
    const others = fc.dictionary(fc.constantFrom('Host', 'Accept', 'X-Api', 'authorizatio', 'authorizations'), fc.string(), { maxKeys: 3 });
    fc.assert(
      fc.property(fc.uniqueArray(spelling, { maxLength: 3 }), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }), others, (names, counts, rest) => {
        const headers = { ...rest, ...Object.fromEntries(names.map((name, i) => [name, `Bearer t${i}`])) };
        const multi: Record<string, string[]> = Object.fromEntries(Object.keys(rest).map((name) => [name, ['v']]));
        for (const [i, name] of names.entries()) if (counts[i] !== undefined) multi[name] = Array.from({ length: counts[i] }, () => `Bearer t${i}`);
        const values = names.reduce((sum, name) => sum + (multi[name]?.length ?? 0), 0);
        if (names.length === 1 && values <= 1) expect(authorizationHeader(headers, multi)).toBe('Bearer t0');
        else
          expect(reason(() => authorizationHeader(headers, multi))).toBe(names.length === 0 ? RejectReason.missingToken : RejectReason.malformedAuthorization);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('bearerToken', () => {
  it('takes the token after a case-insensitive Bearer scheme and one or more spaces', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER   abc')).toBe('abc');
  });

  it('refuses other schemes, a missing token, two tokens and whitespace inside', () => {
    expect(reason(() => bearerToken('Basic YWJjOmRlZg=='))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => bearerToken('Bearerabc'))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => bearerToken('Bearer'))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => bearerToken('Bearer    '))).toBe(RejectReason.missingToken);
    expect(reason(() => bearerToken(''))).toBe(RejectReason.missingToken);
    expect(reason(() => bearerToken('Bearer abc def'))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => bearerToken('Bearer abc '))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => bearerToken('Bearer\tabc'))).toBe(RejectReason.malformedAuthorization);
    expect(reason(() => bearerToken('Beare abc'))).toBe(RejectReason.malformedAuthorization);
  });

  it('checks the size limit before anything else, and for the token itself', () => {
    const max = 'a'.repeat(Limits.maxAccessTokenBytes);
    expect(bearerToken(`Bearer ${max}`)).toBe(max);
    expect(reason(() => bearerToken(`Bearer ${max}a`))).toBe(RejectReason.tokenTooLarge);
    // Huge and malformed: refused for its size without being parsed.
    expect(reason(() => bearerToken(`Basic ${'x'.repeat(100_000)}`))).toBe(RejectReason.tokenTooLarge);
  });
});
