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
