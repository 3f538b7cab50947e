import { beforeAll, describe, expect, it } from 'vitest';
import { RevocationKind } from '../../../common/revocation-feed';
import { SigningKeyState } from '../../../common/signing-key-items';
import type { Allowed, Decision, Forbidden, Rejected } from '../../../lambda/core/authorizer/authorizer';
import { evaluatePolicy } from '../../../lambda/core/authorizer/policy-evaluation';
import { UNKNOWN_KID_REFRESH_INTERVAL_MS } from '../../../lambda/core/authorizer/key-ring-cache';
import { API_PREFIX, authorizerEvent, harness, methodArn, NOW_MS, NOW_S, SETTINGS } from './support/fixtures';
import { AUTHORIZER_ANSWER_MARGIN_MS, REVOCATION_SETTLE_MARGIN_MS } from '../../../common/defaults';
import { flushDelayMs } from '../../../lambda/fanout/fan-out';
import { revocationFromRecord } from '../../../lambda/core/revocation/revocation-events';
import { claims, generateTestKey, signToken, type TestKey } from './support/tokens';

let es: TestKey;
let rs: TestKey;

beforeAll(() => {
  es = generateTestKey('ES256', { kid: 'es' });
  rs = generateTestKey('RS256', { kid: 'rs' });
});

const bearer = (token: string) => `Bearer ${token}`;
/** Lets background reads started by a request finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function decide(h: Awaited<ReturnType<typeof harness>>, authorization: string | undefined, method = 'GET', path = '/orders/42'): Promise<Decision> {
  return h.authorizer.decide(authorizerEvent(authorization, method, path));
}

function asAllowed(decision: Decision): Allowed {
  expect(decision.outcome).toBe('allow');
  return decision as Allowed;
}

function reasonOf(decision: Decision): string {
  return decision.outcome === 'allow' ? 'allow' : decision.reason;
}

describe('Authorizer.decide allows', () => {
  it.each(['ES256', 'RS256'] as const)('a valid %s token, with principal, flat string context and a policy for its own method ARN only', async (alg) => {
    const h = await harness([es.record, rs.record]);
    const c = claims(NOW_S, { scope: 'orders:read' });
    const decision = asAllowed(await decide(h, bearer(signToken(alg === 'ES256' ? es : rs, c))));
    expect(decision.response.principalId).toBe('acme');
    expect(decision.response.context).toEqual({
      clientId: 'acme',
      scopes: 'orders:read',
      jti: c.jti,
      keyId: c.cid,
      kid: alg === 'ES256' ? 'es' : 'rs',
      service: 'default',
    });
    expect(Object.values(decision.response.context).every((v) => typeof v === 'string')).toBe(true);
    // API Gateway caches it under the token, method and path: it must not open any other request.
    expect(decision.response.policyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn('GET', '/orders/42') }],
    });
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', '/orders/42'))).toBe('allow');
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', '/orders'))).toBe('implicit-deny');
    expect(decision).toMatchObject({ clientId: 'acme', jti: c.jti, kid: alg === 'ES256' ? 'es' : 'rs' });
  });

  it('a token on another path: a new answer naming that path, the first one unchanged', async () => {
    const h = await harness([es.record]);
    const token = bearer(signToken(es, claims(NOW_S, { scope: 'orders:read' })));
    const first = asAllowed(await decide(h, token, 'GET', '/orders/1'));
    const policyBefore = structuredClone(first.response.policyDocument);
    const second = asAllowed(await decide(h, token, 'GET', '/orders/2'));
    expect(evaluatePolicy(second.response.policyDocument, methodArn('GET', '/orders/2'))).toBe('allow');
    expect(first.response.policyDocument).toEqual(policyBefore);
    expect(asAllowed(await decide(h, token, 'GET', '/orders/2')).response).toBe(second.response);
    expect(h.authorizer.stats).toEqual({ cacheHits: 2, cacheMisses: 1 });
  });

  it('a repeated token from the cache, without verifying it again', async () => {
    const h = await harness([es.record]);
    const token = bearer(signToken(es, claims(NOW_S)));
    const first = asAllowed(await decide(h, token));
    const second = asAllowed(await decide(h, token));
    expect(second.response).toBe(first.response);
    expect(h.authorizer.stats).toEqual({ cacheHits: 1, cacheMisses: 1 });
    // A different spelling of the same credential is a different cache key but the same decision.
    expect(asAllowed(await decide(h, token.replace('Bearer', 'bearer'))).jti).toBe(first.jti);
  });

  it('builds the policy for the stage of each request', async () => {
    const h = await harness([es.record]);
    const token = bearer(signToken(es, claims(NOW_S)));
    await decide(h, token);
    const other = 'arn:aws:execute-api:eu-west-1:111122223333:abcdef1234/prod/';
    const decision = asAllowed(await h.authorizer.decide({ ...authorizerEvent(token), methodArn: methodArn('GET', '/orders', other) }));
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', '/orders', other))).toBe('allow');
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', '/orders'))).toBe('implicit-deny');
  });

  it('a token whose kid the ring learns after the instance started (one reload)', async () => {
    const h = await harness([es.record]);
    const fresh = generateTestKey('ES256', { kid: 'fresh', state: SigningKeyState.Pending });
    h.keySource.records = [es.record, fresh.record];
    expect(asAllowed(await decide(h, bearer(signToken(fresh, claims(NOW_S))))).kid).toBe('fresh');
    expect(h.keySource.loads).toBe(2);
  });
});

describe('Authorizer.decide names the usage key API Gateway meters the request under', () => {
  const UIK = 'tgu0123456789abcdefghijABCDEFGHIJ01';
  const FALLBACK = 'tollgateFallbackUsageKey0';

  it("returns the token's uik as usageIdentifierKey, on every stage and from the cache", async () => {
    const h = await harness([es.record], { fallbackUsageKey: FALLBACK });
    const token = bearer(signToken(es, claims(NOW_S, { uik: UIK })));
    expect(asAllowed(await decide(h, token)).response.usageIdentifierKey).toBe(UIK);
    expect(asAllowed(await decide(h, token)).response.usageIdentifierKey).toBe(UIK);
    const other = methodArn('GET', '/orders', 'arn:aws:execute-api:eu-west-1:111122223333:abcdef1234/prod/');
    expect(asAllowed(await h.authorizer.decide({ ...authorizerEvent(token), methodArn: other })).response.usageIdentifierKey).toBe(UIK);
    expect(h.authorizer.stats.cacheHits).toBe(2);
  });

  it('returns the fallback key for a token without uik (a client whose own key is not registered)', async () => {
    const h = await harness([es.record], { fallbackUsageKey: FALLBACK });
    expect(asAllowed(await decide(h, bearer(signToken(es, claims(NOW_S))))).response.usageIdentifierKey).toBe(FALLBACK);
  });

  it('returns no usage key when usage plans are not in force (no fallback, no uik)', async () => {
    const h = await harness([es.record]);
    expect(asAllowed(await decide(h, bearer(signToken(es, claims(NOW_S))))).response).not.toHaveProperty('usageIdentifierKey');
  });

  it('keeps the usage key on the policy that denies an unmatched route', async () => {
    const h = await harness([es.record], { fallbackUsageKey: FALLBACK });
    const decision = await decide(h, bearer(signToken(es, claims(NOW_S, { uik: UIK }))), 'GET', '/nowhere');
    expect(decision.outcome).toBe('forbid');
    expect((decision as Forbidden).response.usageIdentifierKey).toBe(UIK);
  });

  it.each([['not a usage key'], [42], [''], [`tgu${'a'.repeat(31)}`]])('refuses a token whose uik is malformed (%j) as invalid_claims', async (uik) => {
    const h = await harness([es.record], { fallbackUsageKey: FALLBACK });
    expect(reasonOf(await decide(h, bearer(signToken(es, claims(NOW_S, { uik })))))).toBe('invalid_claims');
  });
});

describe('Authorizer.decide forbids (403) a valid token', () => {
  it('without the scope the route needs, with a policy that denies the route', async () => {
    const h = await harness([es.record]);
    const decision = (await decide(h, bearer(signToken(es, claims(NOW_S, { scope: 'orders:read' }))), 'DELETE', '/orders/42')) as Forbidden;
    expect(decision).toMatchObject({ outcome: 'forbid', reason: 'insufficient_scope', clientId: 'acme' });
    expect(decision.response.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: methodArn('DELETE', '/orders/42') }]);
  });

  it('on a route no rule matches, denying that very ARN', async () => {
    const h = await harness([es.record], { routes: [{ method: 'GET', path: '/users/{id}', scopes: [] }] });
    const token = bearer(signToken(es, claims(NOW_S)));
    const decision = (await decide(h, token, 'GET', '/users/7/secret')) as Forbidden;
    expect(decision).toMatchObject({ outcome: 'forbid', reason: 'unmatched_route' });
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', '/users/7/secret'))).toBe('explicit-deny');
  });

  it.each(['/users/', '/users//7', '/users/%2e%2e', '/users/7%2Fsecret', '/users/*'])('on an ambiguous path (%s), whatever the scopes', async (path) => {
    const h = await harness([es.record], { routes: [{ method: 'GET', path: '/users/{id}', scopes: [] }], unmatchedRoutes: 'allow' });
    const decision = (await decide(h, bearer(signToken(es, claims(NOW_S))), 'GET', path)) as Forbidden;
    expect(decision).toMatchObject({ outcome: 'forbid', reason: 'ambiguous_path' });
    expect(evaluatePolicy(decision.response.policyDocument, methodArn('GET', path))).toBe('explicit-deny');
  });

  it('allows unmatched routes when configured', async () => {
    const h = await harness([es.record], { unmatchedRoutes: 'allow' });
    expect(asAllowed(await decide(h, bearer(signToken(es, claims(NOW_S))), 'GET', '/health')).clientId).toBe('acme');
  });
});

describe('Authorizer.decide rejects (401)', () => {
  it('a missing, malformed or oversize Authorization header, and a bad methodArn', async () => {
    const h = await harness([es.record]);
    expect(reasonOf(await decide(h, undefined))).toBe('missing_token');
    expect(reasonOf(await decide(h, 'Basic abc'))).toBe('malformed_authorization');
    expect(reasonOf(await decide(h, `Bearer ${'a'.repeat(5000)}`))).toBe('token_too_large');
    expect(reasonOf(await decide(h, 'Bearer not-a-jwt'))).toBe('malformed_token');
    const token = bearer(signToken(es, claims(NOW_S)));
    const bad = (await h.authorizer.decide({ ...authorizerEvent(token), methodArn: 'garbage' })) as Rejected;
    expect(bad).toMatchObject({ outcome: 'reject', reason: 'internal_error' });
    expect((bad.error as Error).message).toMatch(/methodArn/);
  });

  it('verification failures, with what is known about the token', async () => {
    const h = await harness([es.record]);
    const decision = (await decide(h, bearer(signToken(es, claims(NOW_S, { iss: 'other', jti: 'j-9' }))))) as Rejected;
    expect(decision).toEqual({ outcome: 'reject', reason: 'wrong_iss', kid: 'es', clientId: 'acme', jti: 'j-9' });
  });

  it('a cached token once it expires (after the skew)', async () => {
    const h = await harness([es.record]);
    const token = bearer(signToken(es, claims(NOW_S, { exp: NOW_S + 60 })));
    asAllowed(await decide(h, token));
    h.clock.ms = (NOW_S + 60 + 30) * 1000 - 1;
    asAllowed(await decide(h, token));
    h.clock.advance(1);
    expect(reasonOf(await decide(h, token))).toBe('expired');
  });

  it.each([
    [RevocationKind.Token, (c: Record<string, unknown>) => c.jti as string],
    [RevocationKind.ApiKey, (c: Record<string, unknown>) => c.cid as string],
    [RevocationKind.Client, (c: Record<string, unknown>) => c.sub as string],
    [RevocationKind.SigningKey, () => 'es'],
  ])('a token revoked by %s, cached or not', async (kind, valueFor) => {
    const h = await harness([es.record]);
    const c = claims(NOW_S);
    const token = bearer(signToken(es, c));
    asAllowed(await decide(h, token));
    h.feed.add(kind, valueFor(c), NOW_MS + 100);
    h.clock.advance(1000);
    // The first request after the poll interval starts the read but does not wait for it.
    asAllowed(await decide(h, token));
    await settle();
    const decision = await decide(h, token);
    expect(decision).toMatchObject({ outcome: 'reject', reason: 'revoked', clientId: 'acme', jti: c.jti, kid: 'es' });
    expect(h.authorizer.cachedTokens).toBe(0);
    // And a fresh instance that loads the feed at cold start refuses it without ever caching it.
    const cold = await harness([es.record], { clock: h.clock, start: false });
    cold.feed.add(kind, valueFor(c), NOW_MS + 100);
    await cold.authorizer.start();
    expect(reasonOf(await decide(cold, token))).toBe('revoked');
  });

  it('a token revoked while the instance was idle: a view that missed a poll is read before the decision', async () => {
    // Otherwise the Allow would be made on the old view just after the fan-out flushed API
    // Gateway's cache, and API Gateway would cache it for the whole TTL.
    const h = await harness([es.record]);
    const c = claims(NOW_S);
    const token = bearer(signToken(es, c));
    asAllowed(await decide(h, token));
    h.feed.add(RevocationKind.Token, c.jti as string, NOW_MS + 200);
    h.clock.advance(2200);
    expect(reasonOf(await decide(h, token))).toBe('revoked');
  });

  it('no request waits while the view is current (one poll interval plus the settle margin)', async () => {
    const h = await harness([es.record]);
    const event = authorizerEvent(bearer(signToken(es, claims(NOW_S))));
    asAllowed(await h.authorizer.decide(event));
    h.clock.advance(SETTINGS.revocationPollMs + REVOCATION_SETTLE_MARGIN_MS);
    expect(h.authorizer.decide(event)).not.toBeInstanceOf(Promise);
    await settle();
    h.clock.advance(SETTINGS.revocationPollMs + REVOCATION_SETTLE_MARGIN_MS + 1);
    const waited = h.authorizer.decide(event);
    expect(waited).toBeInstanceOf(Promise);
    asAllowed(await waited);
  });

  it('while the feed cannot be read, requests are decided on the last view without waiting on every one', async () => {
    const h = await harness([es.record]);
    const event = authorizerEvent(bearer(signToken(es, claims(NOW_S))));
    asAllowed(await h.authorizer.decide(event));
    h.feed.failing = true;
    h.clock.advance(2000);
    asAllowed(await h.authorizer.decide(event));
    const reads = h.feed.reads.length;
    h.clock.advance(100);
    const next = h.authorizer.decide(event);
    expect(next).not.toBeInstanceOf(Promise);
    asAllowed(next as Decision);
    expect(h.feed.reads.length).toBe(reads);
  });

  it('everything once the revocation view is too stale, until a read succeeds again', async () => {
    const h = await harness([es.record]);
    const token = bearer(signToken(es, claims(NOW_S)));
    asAllowed(await decide(h, token));
    h.feed.failing = true;
    h.clock.advance(30_000);
    asAllowed(await decide(h, token));
    h.clock.advance(1);
    expect(reasonOf(await decide(h, token))).toBe('revocation_view_stale');
    expect(reasonOf(await decide(h, bearer(signToken(es, claims(NOW_S)))))).toBe('revocation_view_stale');
    h.feed.failing = false;
    h.clock.advance(1000);
    asAllowed(await decide(h, token));
  });

  it('everything while the key ring has never loaded', async () => {
    const h = await harness([es.record], { start: false });
    h.keySource.failing = true;
    const token = bearer(signToken(es, claims(NOW_S)));
    expect(reasonOf(await decide(h, token))).toBe('key_ring_unavailable');
    h.keySource.failing = false;
    h.clock.advance(1000);
    asAllowed(await decide(h, token));
  });

  it('unknown kids, reloading the ring at most once per penalty interval', async () => {
    const h = await harness([es.record]);
    const loads = h.keySource.loads;
    for (let i = 0; i < 20; i += 1) {
      const stranger = generateTestKey('ES256', { kid: `random-${i}` });
      expect(reasonOf(await decide(h, bearer(signToken(stranger, claims(NOW_S)))))).toBe('unknown_kid');
    }
    expect(h.keySource.loads - loads).toBe(1);
  });

  it('never the first tokens of a new key that arrive together (they share one reload)', async () => {
    const h = await harness([es.record]);
    const fresh = generateTestKey('ES256', { kid: 'fresh' });
    h.keySource.records = [es.record, fresh.record];
    const decisions = await Promise.all(Array.from({ length: 5 }, () => decide(h, bearer(signToken(fresh, claims(NOW_S))))));
    expect(decisions.map(reasonOf)).toEqual(Array(5).fill('allow'));
    expect(h.keySource.loads).toBe(2);
  });

  it('a cached token whose signing key left the ring', async () => {
    const h = await harness([es.record, rs.record]);
    const token = bearer(signToken(es, claims(NOW_S)));
    asAllowed(await decide(h, token));
    h.keySource.records = [rs.record];
    await h.authorizer.start();
    h.clock.advance(10_000);
    expect(reasonOf(await decide(h, token))).toBe('unknown_kid');
  });

  it('tokens of a retiring key after its verifyUntil, cached or not', async () => {
    const retiring = generateTestKey('ES256', { kid: 'retiring', state: SigningKeyState.Retiring, verifyUntil: NOW_S + 120 });
    const h = await harness([retiring.record]);
    const token = bearer(signToken(retiring, claims(NOW_S)));
    asAllowed(await decide(h, token));
    h.clock.ms = (NOW_S + 120) * 1000;
    expect(reasonOf(await decide(h, token))).toBe('unknown_kid');
  });

  it('as internal_error anything unexpected, instead of throwing', async () => {
    const h = await harness([es.record]);
    const exploding = { ...authorizerEvent(bearer(signToken(es, claims(NOW_S)))) };
    Object.defineProperty(exploding, 'methodArn', {
      get() {
        throw new Error('boom');
      },
    });
    const decision = (await h.authorizer.decide(exploding)) as Rejected;
    expect(decision).toMatchObject({ outcome: 'reject', reason: 'internal_error' });
    expect((decision.error as Error).message).toBe('boom');
    expect(reasonOf(await h.authorizer.decide(null as never))).toBe('internal_error');
  });
});

describe('Authorizer revocation housekeeping', () => {
  it('drops cached tokens that a new revocation covers as soon as the view learns it', async () => {
    const h = await harness([es.record]);
    const tokens = ['a', 'b', 'c'].map((sub) => bearer(signToken(es, claims(NOW_S, { sub, client_id: sub }))));
    for (const t of tokens) asAllowed(await decide(h, t));
    expect(h.authorizer.cachedTokens).toBe(3);
    h.feed.add(RevocationKind.Client, 'b', NOW_MS + 10);
    h.clock.advance(1000);
    await h.authorizer.start();
    expect(h.authorizer.cachedTokens).toBe(2);
    expect(h.authorizer.revocationViewAgeMs()).toBe(0);
  });

  it("refuses tokens a compromised key signs after the compromise, for as long as the fan-out's entry says, even on a ring that no longer refreshes", async () => {
    const h = await harness([es.record]);
    // The fan-out's own entry for the compromise (signingKeys MODIFY setting compromisedAt).
    const entry = revocationFromRecord(
      {
        eventName: 'MODIFY',
        eventSourceARN: 'arn:aws:dynamodb:eu-west-1:1:table/SK/stream/x',
        dynamodb: { OldImage: { kid: { S: es.kid } }, NewImage: { kid: { S: es.kid }, compromisedAt: { N: String(NOW_S) } } },
      },
      { apiKeys: 'AK', clients: 'CL', tokens: 'TK', signingKeys: 'SK' },
      { nowMs: NOW_MS, clockSkewSeconds: SETTINGS.clockSkewSeconds },
    )!;
    // Ring reads fail from now on (throttling, a broken grant); feed reads work.
    h.keySource.failing = true;
    h.feed.add(RevocationKind.SigningKey, es.kid, NOW_MS, entry.purgeAt);
    // Well past the tokens signed before the compromise: only new ones, minted through KMS, remain.
    for (const hours of [0, 2, 24]) {
      h.clock.ms = NOW_MS + hours * 3_600_000 + 1000;
      await h.authorizer.start();
      const minted = bearer(signToken(es, claims(Math.floor(h.clock.ms / 1000))));
      expect([hours, reasonOf(await decide(h, minted))]).toEqual([hours, 'revoked']);
    }
  });

  it('stays within its cache capacity', async () => {
    const h = await harness([es.record], { cacheCapacity: 10 });
    for (let i = 0; i < 30; i += 1) asAllowed(await decide(h, bearer(signToken(es, claims(NOW_S)))));
    expect(h.authorizer.cachedTokens).toBeLessThanOrEqual(10);
  });
});

it('keeps the API prefix fixture consistent with the events', () => {
  expect(authorizerEvent('x').methodArn.startsWith(API_PREFIX)).toBe(true);
});

describe('Authorizer.decide and the fan-out`s cache flush', () => {
  it('never allows on a view read before a revocation the flush was timed for, even when the read it waited on was slow', async () => {
    const h = await harness([es.record]);
    const c = claims(NOW_S, { scope: 'orders:read' });
    const event = authorizerEvent(bearer(signToken(es, c)), 'GET', '/orders/42');
    expect((await h.authorizer.decide(event)).outcome).toBe('allow');
    // Reads see the feed as it is when sent and answer when released: one slow read.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const read = h.feed.read.bind(h.feed);
    let slow = true;
    h.feed.read = async (partitions, afterSeq) => {
      const snapshot = await read(partitions, afterSeq);
      if (slow) {
        slow = false;
        await gate;
      }
      return snapshot;
    };
    h.clock.advance(SETTINGS.revocationPollMs + REVOCATION_SETTLE_MARGIN_MS + 50);
    const pending = h.authorizer.decide(event);
    h.clock.advance(10);
    h.feed.add(RevocationKind.Token, c.jti as string, h.clock.ms);
    const flushAt = h.clock.ms + flushDelayMs(SETTINGS.revocationPollMs);
    h.clock.advance(flushAt - h.clock.ms + 200);
    const late = h.authorizer.decide(event);
    release();
    // Decided after the flush: both must see the revocation.
    expect([(await pending).outcome, (await late).outcome]).toEqual(['reject', 'reject']);
  });

  it('counts a request whose kid needed a ring reload as one cache miss, and reloads at most once for it', async () => {
    const fresh = generateTestKey('ES256', { kid: 'fresh' });
    const stranger = generateTestKey('ES256', { kid: 'stranger' });
    const h = await harness([es.record]);
    h.keySource.records = [es.record, fresh.record];
    const loadsBefore = h.keySource.loads;
    expect((await h.authorizer.decide(authorizerEvent(bearer(signToken(fresh, claims(NOW_S, { scope: 'orders:read' })))))).outcome).toBe('allow');
    expect(h.authorizer.stats).toEqual({ cacheHits: 0, cacheMisses: 1 });
    expect(h.keySource.loads).toBe(loadsBefore + 1);
    // A kid no reload finds: refused after one reload, one miss.
    h.clock.advance(UNKNOWN_KID_REFRESH_INTERVAL_MS + 1);
    expect(await h.authorizer.decide(authorizerEvent(bearer(signToken(stranger, claims(Math.floor(h.clock.ms / 1000))))))).toMatchObject({
      outcome: 'reject',
      reason: 'unknown_kid',
    });
    expect(h.authorizer.stats).toEqual({ cacheHits: 0, cacheMisses: 2 });
    expect(h.keySource.loads).toBe(loadsBefore + 2);
  });

  it('counts two concurrent requests for one token of a reloaded kid as two misses, not a miss and a hit', async () => {
    const fresh = generateTestKey('ES256', { kid: 'fresh' });
    const h = await harness([es.record]);
    h.keySource.records = [es.record, fresh.record];
    const event = authorizerEvent(bearer(signToken(fresh, claims(NOW_S, { scope: 'orders:read' }))));
    // Both miss, both wait on the one reload; the first to retry caches the token, the second finds it.
    const decisions = await Promise.all([h.authorizer.decide(event), h.authorizer.decide(event)]);
    expect(decisions.map((d) => d.outcome)).toEqual(['allow', 'allow']);
    expect(h.authorizer.stats).toEqual({ cacheHits: 0, cacheMisses: 2 });
  });

  it('never allows on a view read before a revocation when the request waited on a key-ring reload for an unknown kid', async () => {
    const first = generateTestKey('ES256', { kid: 'k1' });
    // A key this instance has not loaded yet (a replacement activated at once after a compromise).
    const next = generateTestKey('ES256', { kid: 'k2' });
    const h = await harness([first.record]);
    const c = claims(NOW_S, { scope: 'orders:read' });
    const event = authorizerEvent(bearer(signToken(next, c)), 'GET', '/orders/42');
    h.keySource.records = [first.record, next.record];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = h.keySource.load.bind(h.keySource);
    h.keySource.load = async () => {
      const records = await load();
      await gate;
      return records;
    };
    h.clock.advance(100);
    // The view is current: the request starts deciding at once, then waits on the slow ring reload.
    const pending = h.authorizer.decide(event);
    h.clock.advance(10);
    h.feed.add(RevocationKind.Token, c.jti as string, h.clock.ms);
    const flushAt = h.clock.ms + flushDelayMs(SETTINGS.revocationPollMs);
    h.clock.advance(flushAt - h.clock.ms + 2000);
    release();
    // Decided two seconds after the flush: on a view read after the revocation.
    expect(await pending).toMatchObject({ outcome: 'reject', reason: 'revoked' });
  });

  it('flushes one poll interval, the settle margin and the answer margin after the write is durable', () => {
    expect(flushDelayMs(500)).toBe(500 + REVOCATION_SETTLE_MARGIN_MS + AUTHORIZER_ANSWER_MARGIN_MS);
  });
});
