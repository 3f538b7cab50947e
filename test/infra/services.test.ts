/**
 * Several upstream services in one deployment (common/services.ts, docs/services.md): one
 * REST API with a resource tree per prefix, each proxied to its own upstream, the
 * functions told the services, cdk-nag clean, and IAM exactly as with one service.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Functions, type FunctionName } from '../../common/functions';
import { buildApp, template } from './app';
import { deployedModel } from './iam-model';
import * as Setting from '../../common/settings';

const SERVICES = [
  {
    name: 'billing',
    pathPrefix: '/billing',
    upstreamUrl: 'https://billing.internal.example',
    routes: [{ method: 'GET', path: '/invoices/{id}', scopes: ['billing:read'] }],
  },
  {
    name: 'orders',
    pathPrefix: '/orders',
    upstreamUrl: 'https://orders.internal.example/api',
    stripPrefix: false,
    routes: [{ method: 'GET', path: '/{id}', scopes: ['orders:read'] }],
  },
  {
    name: 'search',
    pathPrefix: '/v2/search',
    upstreamUrl: 'https://search.internal.example',
    routes: [{ method: 'ANY', path: '/{proxy+}', scopes: ['search:query'] }],
  },
];
const settings = { upstreamUrl: undefined, services: SERVICES };

describe('a deployment with three services', () => {
  const built = buildApp({ settings });
  const t = template(built.api);
  const resources = t.findResources('AWS::ApiGateway::Resource');
  const methods = Object.values(t.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties as Record<string, any>);
  const pathOf = (id: string | undefined): string => {
    if (id === undefined) return '';
    const r = resources[id]!.Properties as { PathPart: string; ParentId: { Ref?: string } };
    return `${pathOf(r.ParentId.Ref)}/${r.PathPart}`;
  };
  const upstreamMethods = methods
    .filter((m) => m.Integration?.Type === 'HTTP_PROXY')
    .map((m) => ({ path: pathOf(m.ResourceId.Ref) || '/', uri: m.Integration.Uri as string }));

  it('routes each prefix and everything below it to its own upstream, with or without the prefix as configured', () => {
    expect(upstreamMethods.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: '/billing', uri: 'https://billing.internal.example/' },
      { path: '/billing/{proxy+}', uri: 'https://billing.internal.example/{proxy}' },
      { path: '/orders', uri: 'https://orders.internal.example/api/orders' },
      { path: '/orders/{proxy+}', uri: 'https://orders.internal.example/api/orders/{proxy}' },
      { path: '/v2/search', uri: 'https://search.internal.example/' },
      { path: '/v2/search/{proxy+}', uri: 'https://search.internal.example/{proxy}' },
    ]);
    // No catch-all at the root: a path under no prefix never reaches an upstream.
    expect(methods.some((m) => m.Integration?.Type === 'HTTP_PROXY' && m.ResourceId.Ref === undefined)).toBe(false);
  });

  it('gives the authorizer, the token function and the admin function (grants) the services, without upstream URLs', () => {
    const withServices = Object.values(t.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.[Setting.services.env] !== undefined,
    );
    expect(withServices).toHaveLength(3);
    for (const fn of withServices) {
      const vars = fn.Properties.Environment.Variables as Record<string, string>;
      expect(JSON.parse(vars[Setting.services.env]!).map((s: { name: string }) => s.name)).toEqual(['billing', 'orders', 'search']);
      expect(vars[Setting.services.env]).not.toContain('internal.example');
    }
  });

  it('passes cdk-nag', () => {
    const nagged = buildApp({ settings });
    Validations.of(nagged.app).addPlugins(new AwsSolutionsChecks(nagged.app));
    expect(() => nagged.app.synth()).not.toThrow();
  });

  it('grants every function exactly what it is granted with one service (the IAM evaluation test covers both)', () => {
    const one = deployedModel();
    const three = deployedModel({ settings });
    for (const fn of Object.keys(Functions) as FunctionName[]) expect([fn, three.roles[fn].policies]).toEqual([fn, one.roles[fn].policies]);
    expect(three.apiPolicy).toEqual(one.apiPolicy);
  });
});
