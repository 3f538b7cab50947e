/**
 * Two services behind one local Tollgate (examples/services.json, two echo upstreams): a
 * standard OAuth client (oauth4webapi) discovers everything from the issuer URL alone and
 * runs the client-credentials flow with RFC 8707 resource indicators; each token opens its
 * own service only, and each upstream gets its own requests with the right headers. Tollgate's
 * own clients do the same: `TollgateClient({ resource })`, `tollgate token --resource` and
 * `tollgate smoke --resource`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenRequestRejected, TollgateClient } from '../../client/index';
import type { ServiceDefinition } from '../../common/services';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { tollgate } from '../unit/cli/harness';

const EXAMPLE = JSON.parse(readFileSync(new URL('../../examples/services.json', import.meta.url), 'utf8')) as { services: ServiceDefinition[] };
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;

describe('two services on the local stack', () => {
  let stack: LocalStack;
  let dataDir: string;
  let apiKey: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-services-'));
    stack = await startLocalStack({ port: 0, dataDir, fresh: true, services: EXAMPLE.services, log: () => undefined });
    const created = await fetch(`${stack.url}/admin/clients/shop/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ scopes: ['billing:invoices:read', 'orders:read'] }),
    });
    expect(created.status).toBe(201);
    apiKey = String(((await created.json()) as { apiKey: string }).apiKey);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Discovery from the issuer URL alone, then the client-credentials grant for one resource. */
  async function tokenFor(resource: string): Promise<oauth.TokenEndpointResponse> {
    const issuer = new URL(stack.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const client: oauth.Client = { client_id: 'shop' };
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(apiKey), new URLSearchParams({ resource }), insecure);
    return oauth.processClientCredentialsResponse(as, client, response);
  }

  const call = (token: string, path: string) => fetch(`${stack.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });

  it('publishes RFC 8414 metadata naming both services, and RFC 9728 metadata per service', async () => {
    const metadata = (await (await fetch(`${stack.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: stack.url,
      token_endpoint: `${stack.url}/oauth/token`,
      grant_types_supported: ['client_credentials'],
      protected_resources: [`${stack.url}/billing`, `${stack.url}/orders`],
    });
    expect(metadata.scopes_supported).toEqual(['billing:invoices:read', 'billing:invoices:write', 'orders:read', 'orders:write']);
    const billing = (await (await fetch(`${stack.url}/.well-known/oauth-protected-resource/billing`)).json()) as Record<string, unknown>;
    expect(billing).toEqual({
      resource: `${stack.url}/billing`,
      authorization_servers: [stack.url],
      scopes_supported: ['billing:invoices:read', 'billing:invoices:write'],
      bearer_methods_supported: ['header'],
      resource_name: 'billing',
    });
    expect((await fetch(`${stack.url}/.well-known/oauth-protected-resource/nope`)).status).toBe(404);
  });

  it('one client gets a token per service; each opens its own service only, through its own upstream', async () => {
    const billing = await tokenFor(`${stack.url}/billing`);
    const orders = await tokenFor(`${stack.url}/orders`);
    expect(billing.scope).toBe('billing:invoices:read');
    expect(orders.scope).toBe('orders:read');

    const invoice = await call(billing.access_token, '/billing/invoices/7');
    expect(invoice.status).toBe(200);
    const seenByBilling = (await invoice.json()) as { upstream: string; url: string; headers: Record<string, string> };
    // The billing upstream, without the prefix (stripPrefix defaults to true).
    expect(seenByBilling).toMatchObject({ upstream: 'billing', url: '/invoices/7' });
    expect(seenByBilling.headers).toMatchObject({
      'x-tollgate-service': 'billing',
      'x-tollgate-client-id': 'shop',
      'x-tollgate-scopes': 'billing:invoices:read',
    });
    expect(seenByBilling.headers.authorization).toBeUndefined();

    const order = await call(orders.access_token, '/orders/42');
    expect(order.status).toBe(200);
    // The orders upstream keeps the prefix (stripPrefix: false).
    expect(await order.json()).toMatchObject({ upstream: 'orders', url: '/orders/42', headers: { 'x-tollgate-service': 'orders' } });

    // Each token is refused on the other service: 401, it is not a token for that resource.
    expect((await call(billing.access_token, '/orders/42')).status).toBe(401);
    expect((await call(orders.access_token, '/billing/invoices/7')).status).toBe(401);
    // A scope of the service the token lacks: 403.
    const write = await fetch(`${stack.url}/billing/invoices`, { method: 'POST', headers: { Authorization: `Bearer ${billing.access_token}` } });
    expect(write.status).toBe(403);
    // A path under no service's prefix has no resource on the stage.
    expect((await call(billing.access_token, '/elsewhere/1')).status).toBe(404);
  });

  it('answers invalid_target (RFC 8707) for an unknown resource, and for none when there are several services', async () => {
    const exchange = (fields: Record<string, string>) =>
      fetch(`${stack.url}/oauth/token`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(`shop:${apiKey}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...fields }),
      });
    for (const fields of [{ resource: 'https://elsewhere.example/' }, {}] as Record<string, string>[]) {
      const refused = await exchange(fields);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_target');
    }
  });

  // Tollgate's own clients name the service too (before the grants below change what shop may hold).
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

  it('grants scopes per service (admin API): a client with grants gets only those, and nothing on a service it has no grant on', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${stack.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${stack.adminToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const created = await admin('POST', '/admin/clients/granted/keys', { scopes: ['billing:invoices:read', 'billing:invoices:write', 'orders:read'] });
    expect(created.status).toBe(201);
    const key = String(((await created.json()) as { apiKey: string }).apiKey);
    expect(await (await admin('GET', '/admin/clients/granted/grants')).json()).toEqual({ clientId: 'granted', grants: null });

    const granted = await admin('PUT', '/admin/clients/granted/grants/billing', { scopes: ['billing:invoices:read'] });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toEqual({ clientId: 'granted', grants: { billing: ['billing:invoices:read'] } });

    const exchange = (resource: string) =>
      fetch(`${stack.url}/oauth/token`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(`granted:${key}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource }),
      });
    const billing = await exchange(`${stack.url}/billing`);
    expect(((await billing.json()) as { scope: string }).scope).toBe('billing:invoices:read');
    const orders = await exchange(`${stack.url}/orders`);
    expect(orders.status).toBe(400);
    expect(((await orders.json()) as { error: string }).error).toBe('invalid_target');

    // Refusals change nothing: unknown service, a scope the service does not define, an unknown client, a bad body.
    for (const [path, body, status, error] of [
      ['/admin/clients/granted/grants/payments', { scopes: [] }, 404, 'not_found'],
      ['/admin/clients/granted/grants/billing', { scopes: ['orders:read'] }, 400, 'invalid_scope'],
      ['/admin/clients/nobody/grants/billing', { scopes: [] }, 404, 'client_not_found'],
      ['/admin/clients/granted/grants/billing', { scopes: 'billing:invoices:read' }, 400, 'invalid_request'],
    ] as const) {
      const refused = await admin('PUT', path, body);
      expect([path, refused.status, ((await refused.json()) as { error: string }).error]).toEqual([path, status, error]);
    }
    expect(await (await admin('GET', '/admin/clients/granted/grants')).json()).toEqual({ clientId: 'granted', grants: { billing: ['billing:invoices:read'] } });
  });

  it('npx tollgate clients grant / grants: set and show the scopes per service', async () => {
    const cli = async (args: string[]) => {
      try {
        const { stdout } = await run(process.execPath, [join(REPO, 'cli', 'tollgate.mjs'), ...args], {
          cwd: REPO,
          env: { ...process.env, TOLLGATE_URL: stack.url, TOLLGATE_ADMIN_TOKEN: stack.adminToken },
        });
        return { code: 0, stdout };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, stdout: failed.stdout + failed.stderr };
      }
    };
    const granted = await cli(['clients', 'grant', 'shop', '--service', 'orders', '--scopes', 'orders:read']);
    expect(granted).toMatchObject({ code: 0 });
    expect(granted.stdout).toContain('orders: orders:read');
    const shown = await cli(['clients', 'grants', 'shop', '--json']);
    expect(JSON.parse(shown.stdout)).toEqual({ clientId: 'shop', grants: { orders: ['orders:read'] } });
    const refused = await cli(['clients', 'grant', 'shop', '--service', 'orders', '--scopes', 'billing:invoices:read']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toMatch(/not a scope of the service orders/);
  });
});
