import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PolicyDocument } from 'aws-lambda';
import { DEFAULT_ROUTES, type HttpMethod, type RouteRule } from '../../../common/config';
import { ConfigurationError } from '../../../lambda/core/env';
import { evaluatePolicy } from '../../../lambda/core/policy-evaluation';
import { globsIntersect, methodArnParts, parseRouteRules, RoutePolicy, shapeIntersectsGlob, type RouteOutcome } from '../../../lambda/core/route-policy';
import { thrown } from './support/errors';
import { API_PREFIX, methodArn } from './support/fixtures';

function outcome(routes: RoutePolicy, scope: string, method: string, path: string): RouteOutcome {
  const arn = methodArn(method, path);
  return routes.outcome(routes.grant(scope), arn, methodArnParts(arn)!);
}

const configError = (fn: () => unknown): string => thrown(fn, ConfigurationError).message;

describe('parseRouteRules', () => {
  it('accepts valid rules, ANY, {param} and a trailing {proxy+}', () => {
    const rules = parseRouteRules(
      JSON.stringify([
        { method: 'GET', path: '/', scopes: [] },
        { method: 'ANY', path: '/users/{id}/posts/{proxy+}', scopes: ['users:read', 'posts:read'] },
      ]),
      'TOLLGATE_ROUTES',
    );
    expect(rules).toEqual([
      { method: 'GET', path: '/', scopes: [] },
      { method: 'ANY', path: '/users/{id}/posts/{proxy+}', scopes: ['users:read', 'posts:read'] },
    ]);
  });

  it.each([
    ['not json', /TOLLGATE_ROUTES is not valid JSON/],
    ['{"method":"GET"}', /TOLLGATE_ROUTES must be an array of \{method, path, scopes\} rules/],
    ['[{"method":"GET","path":"/a","scopes":[]},{"method":"GET","path":"/a","scopes":["x"]}]', /TOLLGATE_ROUTES\[1\] \(GET \/a\) duplicates an earlier rule/],
    ['[42]', /TOLLGATE_ROUTES\[0\] must be an object/],
    ['[{"method":"GET","path":"/a","scopes":[],"extra":1}]', /TOLLGATE_ROUTES\[0\] \(GET \/a\): unknown field "extra"/],
    ['[{"method":"FETCH","path":"/a","scopes":[]}]', /\[0\] \(FETCH \/a\): method must be ANY or one of GET/],
    ['[{"method":"get","path":"/a","scopes":[]}]', /method must be ANY/],
    ['[{"method":"GET","path":"a","scopes":[]}]', /path must start with "\/"/],
    ['[{"method":"GET","path":"/a/","scopes":[]}]', /empty segments or end with "\/"/],
    ['[{"method":"GET","path":"/a//b","scopes":[]}]', /empty segments/],
    ['[{"method":"GET","path":"/{proxy+}/a","scopes":[]}]', /greedy \{name\+\} segment must be the last/],
    ['[{"method":"GET","path":"/a*","scopes":[]}]', /segment "a\*" has characters/],
    ['[{"method":"GET","path":"/a?b","scopes":[]}]', /segment "a\?b" has characters/],
    ['[{"method":"GET","path":"/{a-b}","scopes":[]}]', /segment "\{a-b\}" has characters/],
    ['[{"method":"GET","path":"/a","scopes":"read"}]', /scopes must be an array of scope tokens/],
    ['[{"method":"GET","path":"/a","scopes":["has space"]}]', /scopes must be an array of scope tokens/],
    ['[{"method":"GET","path":"/a"}]', /scopes must be an array/],
    [JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ method: 'GET', path: `/r${i}`, scopes: [] }))), /101 rules; at most 100/],
  ])('refuses %s naming the rule', (json, message) => {
    expect(configError(() => parseRouteRules(json, 'TOLLGATE_ROUTES'))).toMatch(message);
  });

  it('refuses duplicate rules', () => {
    const rule: RouteRule = { method: 'GET', path: '/a', scopes: [] };
    expect(configError(() => new RoutePolicy([rule, { ...rule, scopes: ['x'] }], 'deny'))).toMatch(/route rule 1 \(GET \/a\) duplicates/);
  });
});

describe('methodArnParts', () => {
  it('splits a method ARN into stage prefix, method and path', () => {
    const arn = methodArn('DELETE', '/orders/7');
    const parts = methodArnParts(arn)!;
    expect(parts.prefix).toBe(API_PREFIX);
    expect(arn.slice(parts.pathStart)).toBe('orders/7');
    expect(methodArnParts(methodArn('GET', '/'))!.pathStart).toBe(methodArn('GET', '/').length);
    expect(methodArnParts('arn:aws:execute-api:us-east-1:1:other/prod/POST/x')!.prefix).toBe('arn:aws:execute-api:us-east-1:1:other/prod/');
  });

  it('returns undefined for anything else', () => {
    for (const arn of ['', 'arn:aws:execute-api:us-east-1:1:api', 'arn:aws:execute-api:us-east-1:1:api/v1', `${API_PREFIX}FETCH/x`, `${API_PREFIX}GET`, 'not-an-arn/v1/GET/x']) {
      expect([arn, methodArnParts(arn)]).toEqual([arn, undefined]);
    }
  });
});

describe('RoutePolicy.outcome', () => {
  const defaults = new RoutePolicy(DEFAULT_ROUTES, 'deny');

  it('applies the default routes: read for GET, write for the rest', () => {
    expect(outcome(defaults, 'orders:read', 'GET', '/orders')).toBe('allow');
    expect(outcome(defaults, 'orders:read', 'GET', '/orders/42')).toBe('allow');
    expect(outcome(defaults, 'orders:read', 'GET', '/orders/42/items/7')).toBe('allow');
    expect(outcome(defaults, 'orders:read', 'POST', '/orders')).toBe('insufficient_scope');
    expect(outcome(defaults, 'orders:read', 'DELETE', '/orders/42')).toBe('insufficient_scope');
    expect(outcome(defaults, 'orders:write', 'GET', '/orders')).toBe('insufficient_scope');
    expect(outcome(defaults, 'orders:read orders:write', 'PATCH', '/orders/42')).toBe('allow');
    expect(outcome(defaults, '', 'GET', '/orders')).toBe('insufficient_scope');
  });

  it('treats what no rule matches as unmatched: other paths, prefixes of words, empty segments', () => {
    for (const path of ['/', '/ordersX', '/order', '/orders/', '/customers/1']) expect([path, outcome(defaults, 'orders:read', 'GET', path)]).toEqual([path, 'unmatched']);
    expect(outcome(defaults, 'orders:read', 'POST', '/orders/42')).toBe('unmatched');
    expect(outcome(defaults, 'orders:read', 'HEAD', '/orders')).toBe('unmatched');
  });

  type Case = [scope: string, method: string, path: string, expected: RouteOutcome];
  it.each<[string, RouteRule[], Case[]]>([
    [
      'matches {param} as exactly one non-empty segment and {proxy+} as one or more',
      [
        { method: 'GET', path: '/users/{id}', scopes: ['u'] },
        { method: 'GET', path: '/files/{proxy+}', scopes: ['f'] },
      ],
      [
        ['u', 'GET', '/users/7', 'allow'],
        ['u', 'GET', '/users/7/x', 'unmatched'],
        ['u', 'GET', '/users/', 'unmatched'],
        ['u', 'GET', '/users', 'unmatched'],
        ['f', 'GET', '/files/a', 'allow'],
        ['f', 'GET', '/files/a/b/c', 'allow'],
        ['f', 'GET', '/files', 'unmatched'],
      ],
    ],
    [
      'requires the scopes of every matching rule',
      [
        { method: 'GET', path: '/a/{x}', scopes: ['one'] },
        { method: 'GET', path: '/a/special', scopes: ['two'] },
      ],
      [
        ['one', 'GET', '/a/plain', 'allow'],
        ['one', 'GET', '/a/special', 'insufficient_scope'],
        ['two', 'GET', '/a/special', 'insufficient_scope'],
        ['one two', 'GET', '/a/special', 'allow'],
      ],
    ],
    [
      'matches ANY for every method and the root path',
      [{ method: 'ANY', path: '/', scopes: [] }],
      [...['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m): Case => ['', m, '/', 'allow']), ['', 'GET', '/x', 'unmatched']],
    ],
  ])('%s', (_name, rules, cases) => {
    const routes = new RoutePolicy(rules, 'deny');
    for (const [scope, method, path, expected] of cases) expect([scope, method, path, outcome(routes, scope, method, path)]).toEqual([scope, method, path, expected]);
  });

  it('allows unmatched requests when configured, unless a rule the token lacks denies them', () => {
    const routes = new RoutePolicy(DEFAULT_ROUTES, 'allow');
    expect(outcome(routes, 'orders:read', 'GET', '/health')).toBe('allow');
    expect(outcome(routes, 'orders:read', 'POST', '/orders/42')).toBe('allow');
    expect(outcome(routes, 'orders:read', 'PUT', '/orders/42')).toBe('insufficient_scope');
    const strict = new RoutePolicy([{ method: 'GET', path: '/admin/{x}', scopes: ['admin'] }], 'allow');
    // `GET/admin/*` in the Deny also covers the deeper, unmatched path, and API Gateway will enforce it.
    expect(outcome(strict, '', 'GET', '/admin/a/b')).toBe('insufficient_scope');
  });

  it('refuses a satisfied route that a withheld rule`s wildcard over-matches (Deny wins in API Gateway)', () => {
    const routes = new RoutePolicy(
      [
        { method: 'GET', path: '/docs/{proxy+}', scopes: ['docs'] },
        { method: 'GET', path: '/{x}/secret', scopes: ['admin'] },
      ],
      'deny',
    );
    expect(outcome(routes, 'docs', 'GET', '/docs/a/b')).toBe('allow');
    expect(outcome(routes, 'docs', 'GET', '/docs/a/secret')).toBe('insufficient_scope');
    expect(evaluatePolicy(routes.policy(routes.grant('docs'), API_PREFIX), methodArn('GET', '/docs/a/secret'))).toBe('explicit-deny');
    expect(outcome(routes, 'docs admin', 'GET', '/docs/a/secret')).toBe('allow');
  });
});

describe('RoutePolicy.policy', () => {
  it('allows every satisfied rule and denies every other, per method, on the request`s stage', () => {
    const routes = new RoutePolicy(DEFAULT_ROUTES, 'deny');
    const policy = routes.policy(routes.grant('orders:read'), API_PREFIX);
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${API_PREFIX}GET/orders`, `${API_PREFIX}GET/orders/*`] },
        {
          Action: 'execute-api:Invoke',
          Effect: 'Deny',
          Resource: [`${API_PREFIX}POST/orders`, `${API_PREFIX}PUT/orders/*`, `${API_PREFIX}PATCH/orders/*`, `${API_PREFIX}DELETE/orders/*`],
        },
      ],
    });
    expect(Object.isFrozen(policy.Statement[0])).toBe(true);
    expect(routes.policy(routes.grant('orders:read'), API_PREFIX)).toBe(policy);
  });

  it('expands ANY into each method (a `*` there would also match across `/`) and compiles the root path', () => {
    const routes = new RoutePolicy([{ method: 'ANY', path: '/', scopes: ['x'] }], 'deny');
    const allow = routes.policy(routes.grant('x'), API_PREFIX).Statement[0] as { Resource: string[] };
    expect(allow.Resource).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => `${API_PREFIX}${m}/`));
  });

  it('adds Allow */* when unmatched routes are allowed, and denies the whole stage when nothing is allowed', () => {
    const open = new RoutePolicy(DEFAULT_ROUTES, 'allow');
    const allow = open.policy(open.grant(''), API_PREFIX).Statement[0] as { Effect: string; Resource: string[] };
    expect(allow).toMatchObject({ Effect: 'Allow', Resource: [`${API_PREFIX}*/*`] });
    const closed = new RoutePolicy([], 'deny');
    expect(closed.policy(closed.grant(''), API_PREFIX).Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${API_PREFIX}*`] }]);
  });

  describe('a policy API Gateway caches for one path, applied to deeper paths no rule serves', () => {
    const cached = (rules: RouteRule[], scope: string, method: string, path: string) => {
      const routes = new RoutePolicy(rules, 'deny');
      return evaluatePolicy(routes.policy(routes.grant(scope), API_PREFIX), methodArn(method, path));
    };
    const users: RouteRule[] = [
      { method: 'GET', path: '/users/{id}', scopes: ['users:read'] },
      { method: 'DELETE', path: '/users/{id}', scopes: ['users:admin'] },
    ];

    it('denies a slash inside a parameter: GET /users/{id} does not open GET /users/1/export', () => {
      expect(cached(users, 'users:read', 'GET', '/users/1')).toBe('allow');
      expect(cached(users, 'users:read', 'GET', '/users/1/export')).toBe('explicit-deny');
      expect(cached(users, 'users:read', 'GET', '/users/1/a/b')).toBe('explicit-deny');
    });

    it('denies per parameter, in the middle of a path too', () => {
      const rules: RouteRule[] = [{ method: 'GET', path: '/orgs/{org}/teams/{team}', scopes: [] }];
      expect(cached(rules, '', 'GET', '/orgs/o/teams/t')).toBe('allow');
      expect(cached(rules, '', 'GET', '/orgs/o/x/teams/t')).toBe('explicit-deny');
      expect(cached(rules, '', 'GET', '/orgs/o/teams/t/members')).toBe('explicit-deny');
    });

    it('leaves deeper paths open where a satisfied rule serves some of them (documented limit)', () => {
      const nested: RouteRule[] = [...users, { method: 'GET', path: '/users/{id}/posts', scopes: ['users:read'] }];
      expect(cached(nested, 'users:read', 'GET', '/users/1/posts')).toBe('allow');
      // A Deny of GET/users/*/* would also refuse /users/1/posts: the cached Allow of /users/* reaches /users/1/export.
      expect(cached(nested, 'users:read', 'GET', '/users/1/export')).toBe('allow');
      const greedy: RouteRule[] = [{ method: 'GET', path: '/files/{bucket}/{proxy+}', scopes: [] }];
      expect(cached(greedy, '', 'GET', '/files/b/a/c')).toBe('allow');
    });

    it('adds nothing when unmatched routes are allowed anyway', () => {
      const routes = new RoutePolicy(users, 'allow');
      expect(evaluatePolicy(routes.policy(routes.grant('users:read'), API_PREFIX), methodArn('GET', '/users/1/export'))).toBe('allow');
    });
  });

  it('gives the same grant to the same scopes in any order, with normalised scopes', () => {
    const routes = new RoutePolicy(DEFAULT_ROUTES, 'deny');
    expect(routes.grant('  orders:read   orders:write ').scopes).toBe('orders:read orders:write');
    expect(routes.grant('a b').satisfied).toEqual(routes.grant('a  b').satisfied);
  });
});

describe('route decisions agree with the policy API Gateway enforces (property)', () => {
  const methods: (HttpMethod | 'ANY')[] = ['GET', 'POST', 'ANY'];
  const ruleSegment = fc.constantFrom('a', 'b', '{p}', '{q}');
  const rule = fc
    .record({
      method: fc.constantFrom(...methods),
      segments: fc.array(ruleSegment, { maxLength: 3 }),
      proxy: fc.boolean(),
      scopes: fc.subarray(['s1', 's2']),
    })
    .map(({ method, segments, proxy, scopes }): RouteRule => {
      const path = `/${[...segments, ...(proxy ? ['{proxy+}'] : [])].join('/')}`;
      return { method, path, scopes };
    });
  const rules = fc.uniqueArray(rule, { maxLength: 6, selector: (r) => `${r.method} ${r.path}` });
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT'),
    path: fc.array(fc.constantFrom('a', 'b', 'c', ''), { maxLength: 4 }).map((s) => `/${s.join('/')}`),
  });

  it('allow ⇔ the returned policy allows the request (with the unmatched-route Deny the authorizer adds)', () => {
    fc.assert(
      fc.property(rules, fc.constantFrom<'deny' | 'allow'>('deny', 'allow'), fc.subarray(['s1', 's2']), request, (ruleSet, unmatched, scopes, req) => {
        const routes = new RoutePolicy(ruleSet, unmatched);
        const grant = routes.grant(scopes.join(' '));
        const arn = methodArn(req.method, req.path);
        const decided = routes.outcome(grant, arn, methodArnParts(arn)!);
        const policy: PolicyDocument = routes.policy(grant, API_PREFIX);
        const enforced =
          decided === 'unmatched'
            ? evaluatePolicy({ ...policy, Statement: [...policy.Statement, { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [arn] }] }, arn)
            : evaluatePolicy(policy, arn);
        expect(decided === 'allow').toBe(enforced === 'allow');
        if (unmatched === 'allow') expect(decided).not.toBe('unmatched');
      }),
      { numRuns: 5000 },
    );
  });
});

describe('shapeIntersectsGlob', () => {
  const PARAM = '\u0001';
  const PROXY = '\u0002';
  const asRegex = (text: string, token: (c: string) => string) => new RegExp(`^${[...text].map(token).join('')}$`);
  const shapeRegex = (shape: string) => asRegex(shape, (c) => (c === PARAM ? '[^/]+' : c === PROXY ? '.+' : c === '/' ? '\\/' : c));
  const globRegex = (glob: string) => asRegex(glob, (c) => (c === '*' ? '.*' : c === '/' ? '\\/' : c));
  /** Every string over {a, /} up to `max` characters. */
  const strings = (max: number): string[] => {
    const all = [''];
    for (let i = 0; i < all.length; i += 1) if (all[i]!.length < max) all.push(`${all[i]}a`, `${all[i]}/`);
    return all;
  };
  const candidates = strings(9);

  it.each([
    [`users/${PARAM}`, 'users/*/*', false],
    [`users/${PARAM}/posts`, 'users/*/*', true],
    [`files/${PARAM}/${PROXY}`, 'files/*/*/*', true],
    [`users/${PARAM}`, 'users/*', true],
    [`a/${PARAM}/b`, 'a/*/*/b', false],
  ])('%j ∩ %s = %s', (shape, glob, expected) => {
    expect(shapeIntersectsGlob(shape, glob)).toBe(expected);
  });

  it('agrees with a brute-force search over short paths (property)', () => {
    const shape = fc.array(fc.constantFrom('a', '/', PARAM, PROXY), { maxLength: 4 }).map((t) => t.join(''));
    const glob = fc.array(fc.constantFrom('a', '/', '*'), { maxLength: 4 }).map((t) => t.join(''));
    fc.assert(
      fc.property(shape, glob, (s, g) => {
        const [sr, gr] = [shapeRegex(s), globRegex(g)];
        expect(shapeIntersectsGlob(s, g)).toBe(candidates.some((text) => sr.test(text) && gr.test(text)));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('globsIntersect', () => {
  it.each([
    ['GET/a/*', 'GET/a/b', true],
    ['GET/a/*', 'GET/*/b', true],
    ['GET/*/secret', 'GET/docs/*', true],
    ['GET/a/*', 'POST/a/*', false],
    ['GET/a', 'GET/b', false],
    ['GET/a/*/c', 'GET/a/*/d', false],
    ['GET/*/c', 'GET/*/d', false],
    ['*', 'anything', true],
    ['GET/x*', 'GET/*y', true],
  ])('%s ∩ %s = %s', (a, b, expected) => {
    expect(globsIntersect(a, b)).toBe(expected);
    expect(globsIntersect(b, a)).toBe(expected);
  });
});
