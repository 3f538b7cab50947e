import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fingerprint, type RequestIdentity } from '../../../lambda/core/idempotency';

const request = fc.record({
  method: fc.constantFrom('POST', 'PUT', 'DELETE'),
  resource: fc.constantFrom('/admin/clients/{clientId}/keys', '/admin/keys/{keyId}', '/admin/keys/{keyId}/roll'),
  pathParameters: fc.option(fc.dictionary(fc.constantFrom('clientId', 'keyId', 'jti'), fc.string()), { nil: null }),
  body: fc.option(fc.string(), { nil: null }),
}) as fc.Arbitrary<RequestIdentity>;

describe('fingerprint', () => {
  it('two requests share a fingerprint only when method, route, path parameters and body are all equal', () => {
    const canonical = (r: RequestIdentity) =>
      JSON.stringify([r.method, r.resource, Object.entries(r.pathParameters ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)), r.body ?? '']);
    fc.assert(
      fc.property(request, request, (a, b) => {
        expect(fingerprint(a) === fingerprint(b)).toBe(canonical(a) === canonical(b));
      }),
    );
  });

  it('does not depend on the order of path parameters', () => {
    const base = { method: 'POST', resource: '/r', body: '{}' };
    expect(fingerprint({ ...base, pathParameters: { a: '1', b: '2' } })).toBe(fingerprint({ ...base, pathParameters: { b: '2', a: '1' } }));
  });

  it('tells a body from the same text split differently across fields', () => {
    expect(fingerprint({ method: 'POST', resource: '/a|b', pathParameters: null, body: '' })).not.toBe(
      fingerprint({ method: 'POST', resource: '/a', pathParameters: null, body: 'b' }),
    );
  });
});
