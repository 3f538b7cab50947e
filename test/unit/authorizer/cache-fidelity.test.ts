/**
 * What API Gateway serves from its authorizer cache must be what the authorizer would
 * decide afresh, and what the authorizer allows must be what any upstream would serve
 * under the scopes the token has.
 *
 * - The cache model is local mode's own emulation (`local/authorizer-cache.ts`), keyed by
 *   the identity sources the stack declares, with cached policies evaluated the way API
 *   Gateway evaluates them (`evaluatePolicy`). Any earlier request of the same token that
 *   API Gateway would answer from the cache must get the fresh decision.
 * - The reference upstream reads a path as leniently as common frameworks do: percent-
 *   decoded (a decoded `/` splits), case-folded, path parameters (`;…`) cut from each
 *   segment as Tomcat and Spring do, spaces at a segment's ends trimmed as older Spring
 *   and IIS do, empty segments dropped, dot segments resolved
 *   (`..;` included), a `.format` suffix read as the bare literal, HEAD served by the GET
 *   route. Whatever the authorizer allows, the route
 *   that upstream would dispatch to must be one the token's scopes satisfy.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { HttpMethod, RouteRule, UnmatchedRoutes } from '../../../common/gateway-contract';
import { evaluatePolicy } from '../../../lambda/core/authorizer/policy-evaluation';
import { methodArnParts, RoutePolicy } from '../../../lambda/core/authorizer/route-policy';
import { AuthorizerResultCache, cacheKey } from '../../../local/authorizer-cache';
import type { IncomingCall } from '../../../local/events';
import { authorizerEvent, harness, methodArn, NOW_S } from './support/fixtures';
import { claims, generateTestKey, signToken, type TestKey } from './support/tokens';

const SCOPES = ['s1', 's2', 's3'];
const METHODS: HttpMethod[] = ['GET', 'POST', 'DELETE', 'HEAD', 'PUT'];

const ruleArb = fc
  .record({
    method: fc.constantFrom<HttpMethod | 'ANY'>('GET', 'POST', 'DELETE', 'HEAD', 'ANY'),
    segments: fc.array(fc.constantFrom('users', 'orders', 'items', 'class', 'a', '{id}', '{x}'), { maxLength: 3 }),
    proxy: fc.boolean(),
    scopes: fc.subarray(SCOPES),
  })
  .map(({ method, segments, proxy, scopes }): RouteRule => ({ method, path: `/${[...segments, ...(proxy ? ['{proxy+}'] : [])].join('/')}`, scopes }));
const rulesArb = fc.uniqueArray(ruleArb, { minLength: 1, maxLength: 6, selector: (r) => `${r.method} ${r.path}` });

/** Request path segments, plain and tricky: case, escapes, dots, empty, encoded separators, globs. */
const requestSegment = fc.constantFrom(
  'users',
  'USERS',
  'Users',
  'orders',
  'a',
  '7',
  '',
  '.',
  '..',
  '%2e%2e',
  '%2E',
  '%2F',
  'a%2fb',
  '%61',
  '%55sers',
  '*',
  'x',
  '..;',
  'users;x=1',
  '%3B',
  'a%3Fb',
  'users.json',
  'orders.csv',
  '%C5%BFers',
  '\u212A',
  'items',
  // U+0130 (İ): Java's per-character case folding reads it as i.
  '%C4%B0tems',
  '\u0130TEMS',
  // U+1E9E (ẞ): Python's casefold reads it as ss.
  'cla%E1%BA%9E',
  'class',
  'a#b',
  'items?x',
  // Spring ≤ 4.2 and IIS trim a segment's spaces, raw or encoded; a language's own trim the other white space too.
  'users ',
  ' orders',
  'items%20',
  'users%E2%80%A8',
  '%EF%BB%BForders',
);
const pathArb = fc
  .record({ segments: fc.array(requestSegment, { maxLength: 4 }), trailing: fc.boolean(), doubled: fc.boolean() })
  .map(({ segments, trailing, doubled }) => `${doubled ? '/' : ''}/${segments.join('/')}${trailing && segments.length ? '/' : ''}`);
const requestArb = fc.record({ method: fc.constantFrom(...METHODS), path: pathArb });

/** The path as a lenient upstream framework reads it, or undefined where it cannot decode it. */
function lenientPath(path: string): string | undefined {
  const out: string[] = [];
  // A query (`?`) or a fragment (`#`) ends the path for any URL parser.
  for (const raw of path.split(/[?#]/, 1)[0]!.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    // Per character, as Java's equalsIgnoreCase folds (the first code point of each lower-case
    // mapping), then the whole string again, as Python's casefold does (ß is ss).
    const perCharacter = Array.from(decoded.normalize('NFKC').toUpperCase(), (c) => String.fromCodePoint(c.toLowerCase().codePointAt(0)!)).join('');
    const folded = perCharacter.toUpperCase().toLowerCase();
    for (const part of folded.split('/')) {
      const segment = part.split(';', 1)[0]!.trim();
      if (segment === '' || segment === '.') continue;
      if (segment === '..') out.pop();
      else out.push(segment);
    }
  }
  return `/${out.join('/')}`;
}

function ruleRegex(path: string): RegExp {
  const segments = path === '/' ? [] : path.slice(1).split('/');
  // A literal also matches with a `.format` suffix, as Rails routes read it.
  const body = segments
    .map((s) => (s.endsWith('+}') ? '.+' : s.startsWith('{') ? '[^/]+' : `${s.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:\\.[^/]*)?`))
    .join('/');
  return new RegExp(`^/${body}$`);
}

function serves(rule: RouteRule, method: HttpMethod): boolean {
  return rule.method === 'ANY' || rule.method === method || (method === 'HEAD' && rule.method === 'GET');
}

describe('what the authorizer allows, a lenient upstream serves only under satisfied rules (differential, property)', () => {
  it('never opens a rule the token lacks, a method the table does not grant on a known path, or a path read two ways', () => {
    fc.assert(
      fc.property(rulesArb, fc.constantFrom<UnmatchedRoutes>('deny', 'allow'), fc.subarray(SCOPES), requestArb, (rules, unmatched, scopes, req) => {
        const routes = new RoutePolicy(rules, unmatched);
        const grant = routes.grant(scopes.join(' '));
        const arn = methodArn(req.method, req.path);
        if (routes.outcome(grant, arn, methodArnParts(arn)!) !== 'allow') return;
        const lenient = lenientPath(req.path);
        // An allowed path reads the same to every upstream: nothing to normalise but case and escapes.
        expect(lenient).toBeDefined();
        const matching = rules.filter((r) => ruleRegex(r.path).test(lenient!));
        const forMethod = matching.filter((r) => serves(r, req.method));
        for (const rule of forMethod) expect([req, rule, rule.scopes.every((s) => scopes.includes(s))]).toEqual([req, rule, true]);
        if (forMethod.length === 0) {
          // Only a path unknown to the table, under every method, may fall to the unmatched fallback.
          expect([req, matching]).toEqual([req, []]);
          expect(unmatched).toBe('allow');
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('finding: a read token`s GET /users/ (empty {id}) never reaches GET /users, which needs users:admin', () => {
    const routes = new RoutePolicy(
      [
        { method: 'GET', path: '/users', scopes: ['users:admin'] },
        { method: 'GET', path: '/users/{id}', scopes: ['users:read'] },
      ],
      'allow',
    );
    const grant = routes.grant('users:read');
    for (const path of ['/users/', '/users//', '//users', '/Users', '/users/.', '/users/7/..', '/users/%2e']) {
      const arn = methodArn('GET', path);
      expect([path, routes.outcome(grant, arn, methodArnParts(arn)!)]).not.toEqual([path, 'allow']);
    }
  });
});

describe('API Gateway`s cached answer equals the fresh decision (differential, property)', () => {
  let key: TestKey;
  beforeAll(() => {
    key = generateTestKey('ES256', { kid: 'es' });
  });

  const call = (authorization: string, method: string, path: string): IncomingCall => ({
    method,
    path,
    query: new URLSearchParams(),
    headers: new Map([['Authorization', [authorization]]]),
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    requestId: 'r',
    receivedAtMs: 0,
  });

  it('for every earlier request of the same token that the cache would answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        rulesArb,
        fc.constantFrom<UnmatchedRoutes>('deny', 'allow'),
        fc.subarray(SCOPES),
        fc.array(requestArb, { minLength: 2, maxLength: 8 }),
        async (rules, unmatched, scopes, requests) => {
          const h = await harness([key.record], { routes: rules, unmatchedRoutes: unmatched });
          const authorization = `Bearer ${signToken(key, claims(NOW_S, { scope: scopes.join(' ') }))}`;
          const cache = new AuthorizerResultCache(60, h.clock.now);
          for (const req of requests) {
            const arn = methodArn(req.method, req.path);
            const decision = await h.authorizer.decide(authorizerEvent(authorization, req.method, req.path));
            expect(decision.outcome).not.toBe('reject');
            const response = (decision as { response: APIGatewayAuthorizerResult }).response;
            const fresh = evaluatePolicy(response.policyDocument, arn) === 'allow';
            expect(fresh).toBe(decision.outcome === 'allow');
            const cacheKeyOf = cacheKey(call(authorization, req.method, req.path))!;
            const cached = cache.get(cacheKeyOf);
            if (cached === undefined) cache.set(cacheKeyOf, response);
            else expect([req, evaluatePolicy(cached.policyDocument, arn) === 'allow']).toEqual([req, fresh]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with several services: for every earlier request of the same token, whichever services it names', async () => {
    const servicesArb = fc.tuple(rulesArb, rulesArb).map(([one, two]) => [
      { name: 'one', pathPrefix: '/one', audience: 'urn:one', routes: one },
      { name: 'two', pathPrefix: '/two', audience: 'urn:two', routes: two },
    ]);
    const prefixed = fc
      .record({ prefix: fc.constantFrom('/one', '/two', '/One', ''), req: requestArb })
      .map(({ prefix, req }) => ({ method: req.method, path: `${prefix}${req.path}` }));
    await fc.assert(
      fc.asyncProperty(
        servicesArb,
        fc.subarray(['urn:one', 'urn:two'], { minLength: 1 }),
        fc.subarray(SCOPES),
        fc.array(prefixed, { minLength: 2, maxLength: 8 }),
        async (services, aud, scopes, requests) => {
          const h = await harness([key.record], { services });
          const authorization = `Bearer ${signToken(key, claims(NOW_S, { aud, scope: scopes.join(' ') }))}`;
          const cache = new AuthorizerResultCache(60, h.clock.now);
          for (const req of requests) {
            const arn = methodArn(req.method, req.path);
            const decision = await h.authorizer.decide(authorizerEvent(authorization, req.method, req.path));
            // API Gateway caches policies only; a 401 (another service's token) is never cached.
            const fresh = decision.outcome === 'allow';
            const k = cacheKey(call(authorization, req.method, req.path))!;
            const cached = cache.get(k);
            if (cached !== undefined) expect([req, evaluatePolicy(cached.policyDocument, arn) === 'allow']).toEqual([req, fresh]);
            else if (decision.outcome !== 'reject') cache.set(k, decision.response);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finding: after GET /users/7 is cached for a read token, GET /users/ is still refused', async () => {
    const rules: RouteRule[] = [
      { method: 'GET', path: '/users', scopes: ['users:admin'] },
      { method: 'GET', path: '/users/{id}', scopes: ['users:read'] },
    ];
    const h = await harness([key.record], { routes: rules });
    const authorization = `Bearer ${signToken(key, claims(NOW_S, { scope: 'users:read' }))}`;
    const cache = new AuthorizerResultCache(60, h.clock.now);
    const first = await h.authorizer.decide(authorizerEvent(authorization, 'GET', '/users/7'));
    cache.set(cacheKey(call(authorization, 'GET', '/users/7'))!, (first as { response: APIGatewayAuthorizerResult }).response);
    // Either the cache has nothing for the second request, or what it has refuses it.
    const cached = cache.get(cacheKey(call(authorization, 'GET', '/users/'))!);
    if (cached !== undefined) expect(evaluatePolicy(cached.policyDocument, methodArn('GET', '/users/'))).not.toBe('allow');
    const fresh = await h.authorizer.decide(authorizerEvent(authorization, 'GET', '/users/'));
    expect(fresh.outcome).toBe('forbid');
  });
});
