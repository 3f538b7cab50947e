/**
 * RFC 8707 resource indicators from Tollgate's own clients against the real token function
 * of local mode with two services (examples/services.json): `TollgateClient({ resource })`,
 * `tollgate token --resource` and `tollgate smoke --resource` each get a token for the service
 * they name, where a request without `resource` is refused with `invalid_target`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenRequestRejected, TollgateClient } from '../../client/index';
import type { ServiceDefinition } from '../../common/services';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { tempDirs } from '../support/temp-dirs';
import { tollgate } from '../unit/cli/harness';

const EXAMPLE = JSON.parse(readFileSync(new URL('../../examples/services.json', import.meta.url), 'utf8')) as { services: ServiceDefinition[] };
const tempDir = tempDirs('tollgate-client-resource-');

describe('resource indicators from the client library and the CLI, on two services', () => {
  let stack: LocalStack;
  let apiKey: string;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, dataDir: tempDir('state-'), fresh: true, services: EXAMPLE.services, log: () => undefined });
    const created = await fetch(`${stack.url}/admin/clients/shop/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ scopes: ['billing:invoices:read', 'orders:read'] }),
    });
    expect(created.status).toBe(201);
    apiKey = String(((await created.json()) as { apiKey: string }).apiKey);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const clientFor = (resource?: string) =>
    new TollgateClient({ tokenUrl: `${stack.url}/oauth/token`, apiKeys: [{ clientId: 'shop', apiKey }], ...(resource === undefined ? {} : { resource }) });

  it('TollgateClient with a resource gets a token for that service, which opens it and not the other', async () => {
    const billing = clientFor(`${stack.url}/billing`);
    const invoice = await billing.fetch(`${stack.url}/billing/invoices/7`);
    expect(invoice.status).toBe(200);
    expect(await invoice.json()).toMatchObject({ upstream: 'billing', headers: { 'x-tollgate-service': 'billing' } });
    expect((await billing.fetch(`${stack.url}/orders/42`)).status).toBe(401);

    const orders = clientFor(`${stack.url}/orders`);
    expect((await orders.fetch(`${stack.url}/orders/42`)).status).toBe(200);

    const error = await clientFor()
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestRejected);
    expect(error).toMatchObject({ status: 400, error: 'invalid_target' });
  });

  it('tollgate token --resource prints a token for that service', async () => {
    const run = await tollgate(['token', '--url', stack.url, '--client-id', 'shop', '--resource', `${stack.url}/orders`], {
      env: { TOLLGATE_API_KEY: apiKey },
    });
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    const call = (path: string) => fetch(`${stack.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await call('/orders/42')).status).toBe(200);
    expect((await call('/billing/invoices/7')).status).toBe(401);

    const refused = await tollgate(['token', '--url', stack.url, '--resource', 'orders#top'], { env: { TOLLGATE_API_KEY: apiKey } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--resource.*absolute URI without a fragment/);
  });

  it('tollgate smoke --resource passes on a deployment with several services', async () => {
    const run = await tollgate(['smoke', '--url', stack.url, '--path', '/orders/smoke-test', '--resource', `${stack.url}/orders`], {
      env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
