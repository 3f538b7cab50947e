import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES, type RouteRule } from '../../../common/gateway-contract';
import { LAMBDA_NODE_MAJOR } from '../../../common/functions';
import { banner, isDefaultRoutes, type BannerInput } from '../../../local/banner';

const BASE: BannerInput = {
  url: 'http://127.0.0.1:8787',
  adminToken: 'tga_admin',
  apiKey: 'tg_demo',
  dynamoEndpoint: 'http://127.0.0.1:1',
  kmsEndpoint: 'http://127.0.0.1:2',
  stateDir: '.local',
  nodeVersion: '20.20.2',
};
const CUSTOM: RouteRule[] = [
  { method: 'GET', path: '/users/{id}', scopes: ['users:read'] },
  { method: 'ANY', path: '/health', scopes: [] },
];

describe('the npm start banner', () => {
  it('prints the curl flow with the default routes', () => {
    const text = banner(BASE);
    expect(text).toMatch(/curl .*\/oauth\/token/);
    expect(text).toContain('$TG/orders/42');
    expect(text).toMatch(/^ready: listening on http:\/\/127\.0\.0\.1:8787$/m);
  });

  it('says whether the functions run from their sources or from the deployed bundles', () => {
    expect(banner(BASE)).toContain('  functions      TypeScript sources (npm start -- --bundled for the deployed bundles)');
    expect(banner({ ...BASE, bundlesDir: '/x/.local/data/functions' })).toContain('  functions      bundles as deployed, from /x/.local/data/functions/');
  });

  it('says which Node.js the functions run on here, and when it is not their major in AWS', () => {
    expect(banner(BASE)).toContain(`  Node.js        20.20.2; in AWS the functions run on Node.js ${LAMBDA_NODE_MAJOR}\n`);
    const same = `${LAMBDA_NODE_MAJOR}.1.0`;
    expect(banner({ ...BASE, nodeVersion: same })).toContain(`  Node.js        ${same}, the major the functions run on in AWS\n`);
  });

  it('promises what the echo shows only when the echo is the upstream', () => {
    const echo = banner(BASE).split('\n');
    const step2 = (lines: string[]) => lines.find((line) => line.includes('# 2. '));
    expect(step2(echo)).toContain('200; the echo shows X-Tollgate-* headers and no bearer token');

    const own = banner({ ...BASE, upstreamUrl: 'https://orders.internal.example' });
    expect(own).toContain('  upstream       https://orders.internal.example');
    expect(own).not.toContain('echo');
    expect(step2(own.split('\n'))).toMatch(/UPSTREAM_URL answers .*receives X-Tollgate-\* headers and no bearer token/);
    expect(step2(own.split('\n'))).not.toMatch(/\b200\b/);
  });

  it('treats the default rules given explicitly, in any order and scope order, as the default routes', () => {
    expect(isDefaultRoutes(undefined)).toBe(true);
    expect(isDefaultRoutes([...DEFAULT_ROUTES].reverse())).toBe(true);
    expect(isDefaultRoutes(DEFAULT_ROUTES.slice(1))).toBe(false);
    expect(
      isDefaultRoutes(DEFAULT_ROUTES.map((rule) => (rule.path === '/orders' && rule.method === 'GET' ? { ...rule, scopes: ['orders:list'] } : rule))),
    ).toBe(false);
    expect(banner({ ...BASE, routes: { rules: [...DEFAULT_ROUTES].reverse(), source: 'TOLLGATE_ROUTES' } })).toMatch(/curl .*\/oauth\/token/);
  });

  it('with other routes prints no curl flow: one line saying why, then the routes in force', () => {
    const text = banner({ ...BASE, routes: { rules: CUSTOM, source: 'TOLLGATE_ROUTES' } });
    expect(text).not.toMatch(/^\s+(curl|TOKEN=|export TG=)/m);
    expect(text).not.toContain('$TG/');
    const lines = text.split('\n');
    const why = lines.findIndex((line) => line.includes('needs the default /orders routes'));
    expect(why).toBeGreaterThan(0);
    expect(lines[why]).toContain('routes from TOLLGATE_ROUTES');
    expect(lines.slice(why + 1, why + 4)).toEqual(['  GET /users/{id}  users:read', '  ANY /health      (any valid access token)', '  any other path: denied']);
    expect(text).toMatch(/^ready: listening on /m);
  });

  it('names the config file and an unmatched-routes allow', () => {
    const text = banner({ ...BASE, routes: { rules: CUSTOM, source: 'my.config.json' }, unmatchedRoutes: 'allow' });
    expect(text).toContain('routes from my.config.json');
    expect(text).toContain('  any other path: any valid access token');
  });
});
