import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceDefinition } from '../../../common/services';
import type { Allowed, Decision } from '../../../lambda/core/authorizer/authorizer';
import { evaluatePolicy } from '../../../lambda/core/authorizer/policy-evaluation';
import { authorizerEvent, harness, methodArn, NOW_S } from './support/fixtures';
import { claims, generateTestKey, ISSUER, signToken, type TestKey } from './support/tokens';

const SERVICES: ServiceDefinition[] = [
  {
    name: 'billing',
    pathPrefix: '/billing',
    routes: [
      { method: 'GET', path: '/invoices', scopes: ['billing:invoices:read'] },
      { method: 'GET', path: '/invoices/{id}', scopes: ['billing:invoices:read'] },
      { method: 'GET', path: '/', scopes: ['billing:invoices:read'] },
    ],
  },
  { name: 'orders', pathPrefix: '/orders-api', audience: 'urn:example:orders', routes: [{ method: 'GET', path: '/orders/{id}', scopes: ['orders:read'] }] },
];
const BILLING_AUD = `${ISSUER}/billing`;

let key: TestKey;
beforeAll(() => {
  key = generateTestKey('ES256', { kid: 'es' });
});

const reasonOf = (d: Decision) => (d.outcome === 'allow' ? 'allow' : d.reason);

async function decide(aud: unknown, scope: string, method: string, path: string): Promise<Decision> {
  const h = await harness([key.record], { services: SERVICES });
  return h.authorizer.decide(authorizerEvent(`Bearer ${signToken(key, claims(NOW_S, { aud, scope }))}`, method, path));
}

describe('several services behind one authorizer', () => {
  it('allows a token on its own service, by that service`s rules below its prefix, and names the service in the context', async () => {
    const decision = (await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/billing/invoices/7')) as Allowed;
    expect(decision.outcome).toBe('allow');
    expect(decision.response.context.service).toBe('billing');
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', '/billing/invoices/7'))).toBe('allow');
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/billing'))).toBe('allow');
    expect(reasonOf(await decide('urn:example:orders', 'orders:read', 'GET', '/orders-api/orders/1'))).toBe('allow');
  });

  it('refuses a token minted for another service with 401 wrong_aud, whatever its scopes', async () => {
    expect(reasonOf(await decide('urn:example:orders', 'billing:invoices:read orders:read', 'GET', '/billing/invoices/7'))).toBe('wrong_aud');
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read orders:read', 'GET', '/orders-api/orders/1'))).toBe('wrong_aud');
    // A token for both services is valid on each.
    expect(reasonOf(await decide([BILLING_AUD, 'urn:example:orders'], 'orders:read', 'GET', '/orders-api/orders/1'))).toBe('allow');
  });

  it('refuses a token for no configured service at all (the old single audience) as wrong_aud before anything else', async () => {
    expect(reasonOf(await decide('tollgate', 'billing:invoices:read', 'GET', '/billing/invoices/7'))).toBe('wrong_aud');
  });

  it('applies the rules below the prefix: scopes, unmatched paths, ambiguous paths, and a path under no prefix', async () => {
    expect(reasonOf(await decide(BILLING_AUD, 'orders:read', 'GET', '/billing/invoices/7'))).toBe('insufficient_scope');
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/billing/other'))).toBe('unmatched_route');
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/billing/'))).toBe('ambiguous_path');
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/billing//invoices'))).toBe('ambiguous_path');
    // Prefixes compare literally, as API Gateway's resources do: /billingX and /Billing are not billing.
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/billingX/invoices'))).toBe('unmatched_route');
    expect(reasonOf(await decide(BILLING_AUD, 'billing:invoices:read', 'GET', '/Billing/invoices'))).toBe('unmatched_route');
  });
});
