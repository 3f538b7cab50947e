import { describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { CredentialStatus } from '../../../common/credential-items';
import { Limits } from '../../../common/defaults';
import { resolveServices, servicesProblem } from '../../../common/services';
import { grantedOn } from '../../../lambda/core/admin/service-grants';
import { Issuer } from '../../../lambda/core/issuance/issuer';
import { withoutTrailingSlashes } from '../../../lambda/core/issuance/resource-indicators';
import { InvalidScope, InvalidTarget, type ApiError } from '../../../lambda/core/shared/issuance-errors';
import { basic, ecSigningKey, FakeApiKeys, FakeAudit, FakeClients, FakeRing, FakeTokens, form, storedKey } from './fakes';

const NOW = 1_700_000_000;
const ISSUER = 'https://api.example/prod';
const SERVICES = resolveServices(
  [
    { name: 'billing', pathPrefix: '/billing', routes: [{ method: 'GET', path: '/invoices', scopes: ['billing:read'] }], scopes: ['billing:admin'] },
    { name: 'orders', pathPrefix: '/orders', audience: 'urn:example:orders', routes: [{ method: 'GET', path: '/{id}', scopes: ['orders:read'] }] },
  ],
  ISSUER,
);

function setup(keyScopes: string[], services = SERVICES, grants?: Record<string, string[]>) {
  const apiKeys = new FakeApiKeys();
  const clients = new FakeClients();
  const tokens = new FakeTokens();
  const audit = new FakeAudit();
  const signing = ecSigningKey();
  const { apiKey, key } = storedKey({ scopes: keyScopes });
  apiKeys.keys.set(key.keyId, key);
  clients.clients.set('acme', { clientId: 'acme', status: CredentialStatus.Active, createdAt: 1_000, ...(grants && { grants }) });
  const issuer = new Issuer(
    { apiKeys, clients, tokens, ring: new FakeRing([signing.record]), signer: signing.signer, audit, now: () => NOW * 1000 },
    { issuer: ISSUER, audience: 'tollgate', tokenTtlSeconds: 900, services },
  );
  const exchange = (fields: Record<string, string>) =>
    issuer.exchange({ authorization: basic('acme', apiKey), form: form({ grant_type: 'client_credentials', ...fields }) });
  return { exchange, tokens };
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: ApiError) => error,
  );
}

describe('token requests for one of several services (RFC 8707)', () => {
  it('mints a token for the named service: its audience, and only the client`s scopes that service defines', async () => {
    const { exchange } = setup(['billing:read', 'orders:read', 'other']);
    const billing = await exchange({ resource: `${ISSUER}/billing` });
    expect(decodeJwt(billing.access_token)).toMatchObject({ aud: `${ISSUER}/billing`, scope: 'billing:read' });
    expect(billing.scope).toBe('billing:read');
    const orders = await exchange({ resource: 'urn:example:orders' });
    expect(decodeJwt(orders.access_token)).toMatchObject({ aud: 'urn:example:orders', scope: 'orders:read' });
    // Auth0-style clients send `audience`; a trailing slash on the URL names the same service.
    expect(decodeJwt((await exchange({ audience: 'urn:example:orders' })).access_token).aud).toBe('urn:example:orders');
    expect(decodeJwt((await exchange({ resource: `${ISSUER}/billing/` })).access_token).aud).toBe(`${ISSUER}/billing`);
  });

  it.each([
    [{}, /Name the service with the resource parameter/],
    [{ resource: 'https://elsewhere.example/billing' }, /not a service of this server/],
    [{ resource: 'billing' }, /absolute URI/],
    [{ resource: `${ISSUER}/billing#frag` }, /absolute URI without a fragment/],
    [{ resource: `${ISSUER}/billing`, audience: 'urn:example:orders' }, /different services/],
    [{ audience: 'nope' }, /not a service of this server/],
  ])('refuses %j with invalid_target', async (fields, message) => {
    const { exchange, tokens } = setup(['billing:read', 'orders:read']);
    const error = await refusal(exchange(fields as Record<string, string>));
    expect(error).toBeInstanceOf(InvalidTarget);
    expect(error.code).toBe('invalid_target');
    expect(error.description).toMatch(message);
    expect(tokens.records.size).toBe(0);
  });

  it('refuses a service the client holds no scope of with invalid_target, and a scope the service does not define with invalid_scope', async () => {
    const { exchange } = setup(['orders:read']);
    expect(await refusal(exchange({ resource: `${ISSUER}/billing` }))).toBeInstanceOf(InvalidTarget);
    const both = setup(['orders:read', 'billing:read']);
    const error = await refusal(both.exchange({ resource: `${ISSUER}/billing`, scope: 'billing:read orders:read' }));
    expect(error).toBeInstanceOf(InvalidScope);
    expect(error.description).toMatch(/orders:read is not a scope of the service billing/);
    // A declared scope that no route names is still the service's.
    const admin = setup(['billing:admin']);
    expect((await admin.exchange({ resource: `${ISSUER}/billing` })).scope).toBe('billing:admin');
  });

  it('refuses a resource or audience longer than Limits.maxResourceLength with invalid_target naming the limit, even one naming a service', async () => {
    const { exchange, tokens } = setup(['billing:read', 'orders:read']);
    const slashes = `${ISSUER}/billing${'/'.repeat(Limits.maxResourceLength)}`;
    const tooLong: Record<string, string>[] = [
      { resource: slashes },
      { resource: `a:${'/'.repeat(16_000)}x` },
      { audience: `urn:${'x'.repeat(Limits.maxResourceLength)}` },
    ];
    for (const fields of tooLong) {
      const error = await refusal(exchange(fields));
      expect(error).toBeInstanceOf(InvalidTarget);
      expect(error.description).toMatch(new RegExp(`^The (resource|audience) parameter is longer than ${Limits.maxResourceLength} characters`));
    }
    expect(tokens.records.size).toBe(0);
    // At the limit the value is looked up as before.
    const atLimit = `${ISSUER}/billing${'/'.repeat(Limits.maxResourceLength - `${ISSUER}/billing`.length)}`;
    expect(decodeJwt((await exchange({ resource: atLimit })).access_token).aud).toBe(`${ISSUER}/billing`);
  });

  it('strips trailing slashes, however many, and nothing else', () => {
    expect(withoutTrailingSlashes(`${ISSUER}/billing/`)).toBe(`${ISSUER}/billing`);
    expect(withoutTrailingSlashes(`${ISSUER}/billing`)).toBe(`${ISSUER}/billing`);
    expect(withoutTrailingSlashes(`a:${'/'.repeat(100_000)}`)).toBe('a:');
    expect(withoutTrailingSlashes(`a:${'/'.repeat(100_000)}x`)).toBe(`a:${'/'.repeat(100_000)}x`);
    expect(withoutTrailingSlashes('///')).toBe('');
    expect(withoutTrailingSlashes('')).toBe('');
  });

  it('issues for the only service without a resource parameter', async () => {
    const single = resolveServices([{ name: 'billing', pathPrefix: '/billing', routes: [{ method: 'GET', path: '/x', scopes: ['billing:read'] }] }], ISSUER);
    const { exchange } = setup(['billing:read'], single);
    expect(decodeJwt((await exchange({})).access_token).aud).toBe(`${ISSUER}/billing`);
  });

  it('with per-service grants, a token carries only scopes granted on its service, and a service without a grant is not permitted', async () => {
    const { exchange } = setup(['billing:read', 'billing:admin', 'orders:read'], SERVICES, { billing: ['billing:read'] });
    expect((await exchange({ resource: `${ISSUER}/billing` })).scope).toBe('billing:read');
    const notGranted = await refusal(exchange({ resource: `${ISSUER}/billing`, scope: 'billing:admin' }));
    expect(notGranted).toBeInstanceOf(InvalidScope);
    expect(notGranted.description).toMatch(/billing:admin is not granted to this client on the service billing/);
    const noGrant = await refusal(exchange({ resource: 'urn:example:orders' }));
    expect(noGrant).toBeInstanceOf(InvalidTarget);
    // A withdrawn service (empty grant) is refused the same way.
    const withdrawn = setup(['orders:read'], SERVICES, { orders: [] });
    expect(await refusal(withdrawn.exchange({ resource: 'urn:example:orders' }))).toBeInstanceOf(InvalidTarget);
  });

  it('refuses a service without a grant with invalid_target also when the request names a scope (RFC 8707 §2), before any per-scope check', async () => {
    const absent = setup(['billing:read', 'orders:read'], SERVICES, { billing: ['billing:read'] });
    const withdrawn = setup(['billing:read', 'orders:read'], SERVICES, { billing: ['billing:read'], orders: [] });
    for (const { exchange, tokens } of [absent, withdrawn]) {
      for (const scope of ['orders:read', 'billing:read', 'orders:read billing:read']) {
        const error = await refusal(exchange({ resource: 'urn:example:orders', scope }));
        expect(error, scope).toBeInstanceOf(InvalidTarget);
        expect(error.description).toBe('This client holds no scope of the service orders.');
      }
      expect(tokens.records.size).toBe(0);
    }
    // With a grant on the service, a scope outside it stays invalid_scope.
    expect(await refusal(absent.exchange({ resource: `${ISSUER}/billing`, scope: 'orders:read' }))).toBeInstanceOf(InvalidScope);
  });

  it('looks grants up as own properties: a service named like an Object.prototype member is granted only by its own entry', async () => {
    const services = resolveServices(
      [
        ...SERVICES.map(({ name, pathPrefix, audience, routes }) => ({ name, pathPrefix, audience, routes })),
        { name: 'constructor', pathPrefix: '/ctor', routes: [{ method: 'GET', path: '/x', scopes: ['ctor:read'] }] },
      ],
      ISSUER,
    );
    const notGranted = setup(['billing:read', 'ctor:read'], services, { billing: ['billing:read'] });
    const error = await refusal(notGranted.exchange({ resource: `${ISSUER}/ctor` }));
    expect(error).toBeInstanceOf(InvalidTarget);
    expect(error.description).toMatch(/no scope of the service constructor/);
    expect(await refusal(notGranted.exchange({ resource: `${ISSUER}/ctor`, scope: 'ctor:read' }))).toBeInstanceOf(InvalidTarget);
    const granted = setup(['billing:read', 'ctor:read'], services, { constructor: ['ctor:read'] });
    expect((await granted.exchange({ resource: `${ISSUER}/ctor` })).scope).toBe('ctor:read');
    expect(grantedOn({ billing: [] }, 'constructor')).toEqual([]);
    expect(grantedOn({ billing: [] }, 'toString')).toEqual([]);
    expect(grantedOn({}, '__proto__')).toEqual([]);
    expect(grantedOn(JSON.parse('{"__proto__": ["x:read"]}'), '__proto__')).toEqual(['x:read']);
    // The other Object.prototype names are no valid service names.
    for (const name of ['__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(servicesProblem([{ name, pathPrefix: '/x', routes: [] }])).toMatch(/name must be/);
    }
  });

  it('refuses services whose audience equals another service`s URL or audience (a token for one would pass the other)', () => {
    expect(() =>
      resolveServices(
        [
          { name: 'a', pathPrefix: '/a', audience: `${ISSUER}/b`, routes: [] },
          { name: 'b', pathPrefix: '/b', routes: [] },
        ],
        ISSUER,
      ),
    ).toThrow(/services a and b share the audience or URL "https:\/\/api\.example\/prod\/b"/);
  });
});
