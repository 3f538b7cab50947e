import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES, type RouteRule } from '../../../common/gateway-contract';
import { canonicalPathSegment } from '../../../common/setting-checks';
import { ConfigurationError } from '../../../lambda/core/shared/env';
import { methodArnParts, parseRouteRules, requestPath, requestPolicy, RoutePolicy, type RouteOutcome } from '../../../lambda/core/authorizer/route-policy';
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
    ['[{"method":"GET","path":"/a/..","scopes":[]}]', /segment "\.\." is ambiguous/],
    ['[{"method":"GET","path":"/a%2Fb","scopes":[]}]', /segment "a%2Fb" is ambiguous/],
    ['[{"method":"GET","path":"/a%252F","scopes":[]}]', /segment "a%252F" is ambiguous/],
    ['[{"method":"GET","path":"/a%zz","scopes":[]}]', /segment "a%zz" is ambiguous/],
    ['[{"method":"GET","path":"/a;b","scopes":[]}]', /segment "a;b" has characters/],
    ['[{"method":"GET","path":"/a%3Bb","scopes":[]}]', /segment "a%3Bb" is ambiguous/],
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
    for (const arn of [
      '',
      'arn:aws:execute-api:us-east-1:1:api',
      'arn:aws:execute-api:us-east-1:1:api/v1',
      `${API_PREFIX}FETCH/x`,
      `${API_PREFIX}GET`,
      'not-an-arn/v1/GET/x',
    ]) {
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

  it('treats what no rule matches under any method as unmatched: other paths, prefixes of words', () => {
    for (const path of ['/', '/ordersX', '/order', '/customers/1']) expect([path, outcome(defaults, 'orders:read', 'GET', path)]).toEqual([path, 'unmatched']);
  });

  it('decides a path the table knows under another method by the table: a method no rule grants is insufficient_scope', () => {
    for (const unmatched of ['deny', 'allow'] as const) {
      const routes = new RoutePolicy(DEFAULT_ROUTES, unmatched);
      for (const [method, path] of [
        ['POST', '/orders/42'],
        ['DELETE', '/orders'],
        ['PUT', '/orders'],
        ['PATCH', '/orders'],
        ['OPTIONS', '/orders/1'],
      ]) {
        expect([unmatched, method, path, outcome(routes, 'orders:read', method!, path!)]).toEqual([unmatched, method, path, 'insufficient_scope']);
      }
      // Paths the table does not know at all are the only ones the fallback decides.
      expect(outcome(routes, 'orders:read', 'POST', '/health')).toBe(unmatched === 'allow' ? 'allow' : 'unmatched');
    }
  });

  it('answers HEAD with the GET rules too (servers run their GET handler for it)', () => {
    expect(outcome(defaults, 'orders:read', 'HEAD', '/orders/1')).toBe('allow');
    expect(outcome(defaults, 'orders:write', 'HEAD', '/orders/1')).toBe('insufficient_scope');
    const both = new RoutePolicy([...DEFAULT_ROUTES, { method: 'HEAD', path: '/orders', scopes: ['probe'] }], 'deny');
    expect(outcome(both, 'orders:read', 'HEAD', '/orders')).toBe('insufficient_scope');
    expect(outcome(both, 'orders:read probe', 'HEAD', '/orders')).toBe('allow');
  });

  it.each([
    '/orders/',
    '/orders//42',
    '//orders',
    '/orders/42/',
    '/orders/./42',
    '/orders/../admin',
    '/orders/%2e%2e/admin',
    '/orders/%2E',
    '/orders/a%2Fb',
    '/orders/a%2fb',
    '/orders/a%5Cb',
    '/orders/a\\b',
    '/orders/%252F',
    '/orders/%zz',
    '/orders/%C0',
    '/orders/*',
    '/orders/%2A',
    '/orders/a%00',
    '/orders/a\tb',
    // A URL parser ends the path at `?` or `#`: an upstream would see `/orders/a`.
    '/orders/a#b',
    '/orders/a?b',
    '/orders/a%23b',
    '/orders/a%3Fb',
    // ẞ (U+1E9E) lower-cases to ß, which Python's casefold reads as ss.
    '/orders/cla%E1%BA%9E',
    '/orders/\u1E9E',
    // Spring ≤ 4.2 (trimTokens) and IIS trim spaces at a segment's ends: `export ` runs `export`.
    '/orders/export%20',
    '/orders/%20export',
    '/orders/%20',
    // The same spaces unencoded, in a path that is otherwise plain.
    '/orders/export ',
    '/orders/ export',
    '/orders/ ',
    // Other white space a language's own trim removes (JavaScript, Python, .NET), and U+FEFF.
    '/orders/export%E1%9A%80',
    '/orders/export%E2%80%A8',
    '/orders/%EF%BB%BFexport',
    '/orders/export%C2%85',
    '/orders/export\u2028',
    // C1 control characters, anywhere, as the C0 ones.
    '/orders/a%C2%80b',
    '/orders/a\u009Fb',
  ])('refuses the ambiguous path %s whatever the scopes and the fallback', (path) => {
    const open = new RoutePolicy(DEFAULT_ROUTES, 'allow');
    expect(outcome(open, 'orders:read orders:write', 'GET', path)).toBe('ambiguous_path');
    expect(outcome(defaults, 'orders:read orders:write', 'GET', path)).toBe('ambiguous_path');
  });

  it('compares literal segments as a lenient upstream reads them: percent-decoded and case-folded', () => {
    for (const path of ['/ORDERS', '/Orders/7', '/%6Frders', '/%6frders/%41']) {
      expect([path, outcome(defaults, '', 'GET', path)]).toEqual([path, 'insufficient_scope']);
      expect([path, outcome(defaults, 'orders:read', 'GET', path)]).toEqual([path, 'allow']);
    }
    const kits = new RoutePolicy(
      [
        { method: 'GET', path: '/kits', scopes: ['k'] },
        { method: 'GET', path: '/settings', scopes: ['admin'] },
      ],
      'allow',
    );
    // U+212A KELVIN SIGN lower-cases to an ASCII k, ſ (U+017F) folds to s in Java and Go, fullwidth
    // letters normalise to ASCII: an upstream could route each to the literal, so none is decided.
    // İ (U+0130) folds to i one character at a time (Java's equalsIgnoreCase).
    for (const path of ['/\u212Aits', '/%E2%84%AAits', '/%C5%BFettings', '/\uFF53ettings', '/%EF%BD%93ettings', '/k%C4%B0ts', '/K\u0130TS', '/setT%C4%B0ngs']) {
      expect([path, outcome(kits, '', 'GET', path)]).toEqual([path, 'ambiguous_path']);
    }
    // Other non-ASCII text is fine in a parameter or an unknown path.
    expect(outcome(kits, '', 'GET', '/caf%C3%A9')).toBe('allow');
  });

  it('matches a literal with a format suffix too (Rails` `(.:format)`, older Spring MVC): more scopes, never fewer', () => {
    const routes = new RoutePolicy(
      [
        { method: 'GET', path: '/orders/{id}', scopes: ['read'] },
        { method: 'GET', path: '/orders/export', scopes: ['admin'] },
      ],
      'deny',
    );
    expect(outcome(routes, 'read', 'GET', '/orders/export.json')).toBe('insufficient_scope');
    expect(outcome(routes, 'read', 'GET', '/orders/EXPORT.csv')).toBe('insufficient_scope');
    expect(outcome(routes, 'read admin', 'GET', '/orders/export.json')).toBe('allow');
    expect(outcome(routes, 'read', 'GET', '/orders/exports')).toBe('allow');
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
        ['u', 'GET', '/users/', 'ambiguous_path'],
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
        ['one', 'GET', '/a/SPECIAL', 'insufficient_scope'],
        ['two', 'GET', '/a/special', 'insufficient_scope'],
        ['one two', 'GET', '/a/special', 'allow'],
      ],
    ],
    [
      'matches ANY for every method and the root path',
      [{ method: 'ANY', path: '/', scopes: [] }],
      [...['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m): Case => ['', m, '/', 'allow']), ['', 'GET', '/x', 'unmatched']],
    ],
    [
      'finding: GET /users/ with a read token never reaches the admin-only list',
      [
        { method: 'GET', path: '/users', scopes: ['users:admin'] },
        { method: 'GET', path: '/users/{id}', scopes: ['users:read'] },
      ],
      [
        ['users:read', 'GET', '/users/7', 'allow'],
        ['users:read', 'GET', '/users', 'insufficient_scope'],
        ['users:read', 'GET', '/users/', 'ambiguous_path'],
        ['users:read', 'GET', '/USERS', 'insufficient_scope'],
        ['users:read', 'GET', '/users/7/export', 'unmatched'],
      ],
    ],
  ])('%s', (_name, rules, cases) => {
    const routes = new RoutePolicy(rules, 'deny');
    for (const [scope, method, path, expected] of cases)
      expect([scope, method, path, outcome(routes, scope, method, path)]).toEqual([scope, method, path, expected]);
  });

  it('gives the same grant to the same scopes in any order, with normalised scopes', () => {
    const routes = new RoutePolicy(DEFAULT_ROUTES, 'deny');
    expect(routes.grant('  orders:read   orders:write ').scopes).toBe('orders:read orders:write');
    expect(routes.grant('a b').satisfied).toEqual(routes.grant('a  b').satisfied);
  });
});

describe('requestPath', () => {
  it('returns a plain path as it is, and a path with escapes or capitals decoded and case-folded', () => {
    const at = (path: string) => {
      const arn = methodArn('GET', path);
      return requestPath(arn, methodArnParts(arn)!.pathStart);
    };
    expect(at('/')).toBe('');
    expect(at('/a/b-c_d.e~f')).toBe('a/b-c_d.e~f');
    expect(at('/A/%62%20c')).toBe('a/b c');
    expect(at('/a/.b/..c')).toBe('a/.b/..c');
  });

  it('reads a plain path as it reads the same path segment by segment (canonicalPathSegment), whichever way it goes (property)', () => {
    // Characters that decide between the plain path and the decoding one, or make a segment ambiguous.
    const pathArb = fc.stringMatching(/^[aA/ .%20Ff*;\\\t\u00e9\u212a]{0,12}$/);
    fc.assert(
      fc.property(pathArb, (path) => {
        const arn = methodArn('GET', `/${path}`);
        const bySegment = path === '' ? '' : segmentWise(path);
        expect(requestPath(arn, methodArnParts(arn)!.pathStart)).toBe(bySegment);
      }),
      { numRuns: 5000 },
    );
  });
});

/** The reference: every segment canonical, or the whole path undefined. */
function segmentWise(path: string): string | undefined {
  const segments = path.split('/').map(canonicalPathSegment);
  return segments.includes(undefined) ? undefined : segments.join('/');
}

describe('requestPolicy', () => {
  it('names exactly the one method ARN', () => {
    const arn = methodArn('GET', '/orders/7');
    expect(requestPolicy('Allow', arn)).toEqual({ Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: arn }] });
    expect(requestPolicy('Deny', arn).Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: arn }]);
  });
});
