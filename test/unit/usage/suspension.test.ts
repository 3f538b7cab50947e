/**
 * Suspensions through the revocation feed, with an injected clock: the fan-out's entry for a
 * changed `suspendedUntil`, the view's newest-wins reading of it, and the authorizer's 403
 * `quota_exceeded` Deny that names the seconds left — until the period turns.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBRecord } from 'aws-lambda';
import { RevocationKind, parseSuspensionValue, suspensionValue } from '../../../common/revocation-feed';
import { SuspensionContextKey } from '../../../common/usage';
import type { Decision, Forbidden } from '../../../lambda/core/authorizer/authorizer';
import { revocationFromRecord, type StreamTableNames } from '../../../lambda/core/revocation/revocation-events';
import { evaluatePolicy } from '../../../lambda/core/authorizer/policy-evaluation';
import { authorizerEvent, harness, methodArn, NOW_MS, NOW_S } from '../authorizer/support/fixtures';
import { claims, generateTestKey, signToken, type TestKey } from '../authorizer/support/tokens';

let es: TestKey;
beforeAll(() => {
  es = generateTestKey('ES256', { kid: 'es' });
});

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('suspension feed values', () => {
  it('round-trip client, end, reason and write time, and refuse anything else', () => {
    expect(parseSuspensionValue(suspensionValue('acme', 1_800_000_000, 'quota_exceeded', 1_799_990_000_123))).toEqual({
      subject: 'acme',
      untilSeconds: 1_800_000_000,
      reason: 'quota_exceeded',
      atMs: 1_799_990_000_123,
    });
    for (const bad of ['acme', 'acme#x#quota_exceeded', '#1#anomaly', 'acme#1#other', 'acme#1#anomaly#extra', 'acme#1#anomaly#', 'acme#1#anomaly#2#3'])
      expect(parseSuspensionValue(bad)).toBeUndefined();
  });

  it('differ for two writes of the same end and reason, and are the same for the same write', () => {
    const first = suspensionValue('acme', 1_800_000_000, 'quota_exceeded', 1_799_990_000_123);
    expect(suspensionValue('acme', 1_800_000_000, 'quota_exceeded', 1_799_995_000_456)).not.toBe(first);
    expect(suspensionValue('acme', 1_800_000_000, 'quota_exceeded', 1_799_990_000_123)).toBe(first);
  });

  it('still read as written before they carried the write time (`<subject>#<until>#<reason>`)', () => {
    expect(parseSuspensionValue('acme#1800000000#resumed')).toEqual({ subject: 'acme', untilSeconds: 1_800_000_000, reason: 'resumed', atMs: undefined });
  });
});

describe('the fan-out turns a changed suspendedUntil into a suspended entry', () => {
  const names: StreamTableNames = { apiKeys: 'k', clients: 'c', tokens: 't', signingKeys: 's' };
  const record = (newImage: Record<string, unknown>, oldImage?: Record<string, unknown>): DynamoDBRecord => {
    const image = (fields: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: String(v) }]));
    return {
      eventName: oldImage ? 'MODIFY' : 'INSERT',
      eventSourceARN: 'arn:aws:dynamodb:eu-west-1:111122223333:table/c/stream/2026',
      dynamodb: { NewImage: image(newImage), ...(oldImage ? { OldImage: image(oldImage) } : {}) },
    } as DynamoDBRecord;
  };
  const clock = { nowMs: NOW_MS, clockSkewSeconds: 30 };
  const active = { clientId: 'acme', status: 'active' };

  it('for a new suspension, until its end', () => {
    const entry = revocationFromRecord(
      record({ ...active, suspendedUntil: NOW_S + 500, suspendedReason: 'quota_exceeded', suspendedAtMs: NOW_MS - 5 }, active),
      names,
      clock,
    );
    expect(entry).toEqual({
      kind: RevocationKind.Suspension,
      value: `acme#${NOW_S + 500}#quota_exceeded#${NOW_MS - 5}`,
      revokedAtMs: NOW_MS - 5,
      purgeAt: NOW_S + 500,
    });
  });

  it('for a lifting, which outlives the suspension it ends', () => {
    const suspended = { ...active, suspendedUntil: NOW_S + 500, suspendedReason: 'quota_exceeded', suspendedAtMs: NOW_MS - 5 };
    const entry = revocationFromRecord(
      record({ ...active, suspendedUntil: NOW_S, suspendedReason: 'resumed', suspendedAtMs: NOW_MS }, suspended),
      names,
      clock,
    );
    expect(entry).toEqual({ kind: RevocationKind.Suspension, value: `acme#${NOW_S}#resumed#${NOW_MS}`, revokedAtMs: NOW_MS, purgeAt: NOW_S + 500 });
  });

  it('not for a write that leaves the suspension as it was, nor for a revoked client (its revocation covers it)', () => {
    const suspended = { ...active, suspendedUntil: NOW_S + 500, suspendedAtMs: NOW_MS - 5 };
    expect(revocationFromRecord(record({ ...suspended, limitsVersion: 2 }, suspended), names, clock)).toBeUndefined();
    expect(revocationFromRecord(record(active, active), names, clock)).toBeUndefined();
    expect(revocationFromRecord(record({ ...suspended, status: 'revoked', revokedAt: NOW_S }, suspended), names, clock)).toMatchObject({
      kind: RevocationKind.Client,
    });
  });
});

describe('the fan-out turns a changed suspendedUntil on an API key into a key suspension entry', () => {
  const names: StreamTableNames = { apiKeys: 'k', clients: 'c', tokens: 't', signingKeys: 's' };
  const record = (newImage: Record<string, unknown>, oldImage?: Record<string, unknown>): DynamoDBRecord => {
    const image = (fields: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: String(v) }]));
    return {
      eventName: 'MODIFY',
      eventSourceARN: 'arn:aws:dynamodb:eu-west-1:111122223333:table/k/stream/2026',
      dynamodb: { NewImage: image(newImage), ...(oldImage ? { OldImage: image(oldImage) } : {}) },
    } as DynamoDBRecord;
  };
  const clock = { nowMs: NOW_MS, clockSkewSeconds: 30 };
  const active = { keyId: 'key_0123456789abcdef0123', clientId: 'acme', status: 'active' };

  it('of kind ksus naming the key, for a suspension and for its lifting; a revocation stays a revocation', () => {
    const suspended = { ...active, suspendedUntil: NOW_S + 500, suspendedReason: 'quota_exceeded', suspendedAtMs: NOW_MS - 5 };
    expect(revocationFromRecord(record(suspended, active), names, clock)).toEqual({
      kind: RevocationKind.KeySuspension,
      value: `key_0123456789abcdef0123#${NOW_S + 500}#quota_exceeded#${NOW_MS - 5}`,
      revokedAtMs: NOW_MS - 5,
      purgeAt: NOW_S + 500,
    });
    const lifted = { ...active, suspendedUntil: NOW_S, suspendedReason: 'resumed', suspendedAtMs: NOW_MS };
    expect(revocationFromRecord(record(lifted, suspended), names, clock)).toMatchObject({
      kind: RevocationKind.KeySuspension,
      value: `key_0123456789abcdef0123#${NOW_S}#resumed#${NOW_MS}`,
      purgeAt: NOW_S + 500,
    });
    expect(revocationFromRecord(record({ ...suspended, lastUsedAt: NOW_S }, suspended), names, clock)).toBeUndefined();
    expect(revocationFromRecord(record({ ...suspended, status: 'revoked', revokedAt: NOW_S }, suspended), names, clock)).toMatchObject({
      kind: RevocationKind.ApiKey,
    });
  });
});

describe('the authorizer refuses a suspended client until its suspension ends', () => {
  const forbidden = (decision: Decision) => {
    expect(decision.outcome).toBe('forbid');
    return decision as Forbidden;
  };

  it('with a Deny naming quota_exceeded and the seconds left, cached token or not; served again when the period turns', async () => {
    const h = await harness([es.record]);
    const token = `Bearer ${signToken(es, claims(NOW_S, { exp: NOW_S + 3600 }))}`;
    const arn = methodArn('GET', '/orders/42');
    expect((await h.authorizer.decide(authorizerEvent(token))).outcome).toBe('allow');
    const until = NOW_S + 120;
    h.feed.add(RevocationKind.Suspension, suspensionValue('acme', until, 'quota_exceeded', NOW_MS + 100), NOW_MS + 100, until);
    h.clock.advance(1000);
    await h.authorizer.decide(authorizerEvent(token));
    await settle();

    const refused = forbidden(await h.authorizer.decide(authorizerEvent(token)));
    expect(refused.reason).toBe('quota_exceeded');
    expect(evaluatePolicy(refused.response.policyDocument, arn)).toBe('explicit-deny');
    expect(refused.response.context).toMatchObject({
      clientId: 'acme',
      [SuspensionContextKey.refusal]: 'quota_exceeded',
      [SuspensionContextKey.retryAfter]: '119',
    });
    // Other clients are unaffected.
    const other = `Bearer ${signToken(es, claims(NOW_S, { sub: 'zeta', client_id: 'zeta' }))}`;
    expect((await h.authorizer.decide(authorizerEvent(other))).outcome).toBe('allow');

    h.clock.advance(118_000);
    expect(forbidden(await h.authorizer.decide(authorizerEvent(token))).response.context).toMatchObject({ retryAfter: '1' });
    h.clock.advance(1_000);
    expect((await h.authorizer.decide(authorizerEvent(token))).outcome).toBe('allow');
  });

  it('lifted at once by a newer lifting entry, whatever order the two are read in; an anomaly suspension is `suspended`', async () => {
    const h = await harness([es.record]);
    const token = `Bearer ${signToken(es, claims(NOW_S, { exp: NOW_S + 3600 }))}`;
    h.feed.add(RevocationKind.Suspension, suspensionValue('acme', NOW_S, 'resumed', NOW_MS + 300), NOW_MS + 300, NOW_S + 3600);
    h.feed.add(RevocationKind.Suspension, suspensionValue('acme', NOW_S + 3600, 'anomaly', NOW_MS + 200), NOW_MS + 200, NOW_S + 3600);
    h.clock.advance(1000);
    await h.authorizer.decide(authorizerEvent(token));
    await settle();
    // The lifting (written later) wins although the view read it first.
    expect((await h.authorizer.decide(authorizerEvent(token))).outcome).toBe('allow');

    const h2 = await harness([es.record], { start: false });
    h2.feed.add(RevocationKind.Suspension, suspensionValue('acme', NOW_S + 60, 'anomaly', NOW_MS - 100), NOW_MS - 100, NOW_S + 60);
    await h2.authorizer.start();
    const decision = forbidden(await h2.authorizer.decide(authorizerEvent(token)));
    expect(decision.reason).toBe('suspended');
    expect(decision.response.context).toMatchObject({ refusal: 'suspended' });
  });

  it("refuses only the suspended API key with quota_exceeded and Retry-After; the same client's other key keeps working; lifted by a newer entry", async () => {
    const h = await harness([es.record]);
    const suspendedKey = `Bearer ${signToken(es, claims(NOW_S, { exp: NOW_S + 3600 }))}`;
    const otherKey = `Bearer ${signToken(es, claims(NOW_S, { exp: NOW_S + 3600, cid: 'key_fedcba9876543210fedc' }))}`;
    expect((await h.authorizer.decide(authorizerEvent(suspendedKey))).outcome).toBe('allow');
    const until = NOW_S + 600;
    h.feed.add(RevocationKind.KeySuspension, suspensionValue('key_0123456789abcdef0123', until, 'quota_exceeded', NOW_MS + 100), NOW_MS + 100, until);
    // A client suspension entry whose subject happens to equal the key id suspends no key.
    h.feed.add(RevocationKind.Suspension, suspensionValue('key_fedcba9876543210fedc', until, 'quota_exceeded', NOW_MS + 100), NOW_MS + 100, until);
    h.clock.advance(1000);
    await h.authorizer.decide(authorizerEvent(suspendedKey));
    await settle();

    const refused = forbidden(await h.authorizer.decide(authorizerEvent(suspendedKey)));
    expect(refused.reason).toBe('quota_exceeded');
    expect(refused.response.context).toMatchObject({
      clientId: 'acme',
      keyId: 'key_0123456789abcdef0123',
      [SuspensionContextKey.refusal]: 'quota_exceeded',
      [SuspensionContextKey.retryAfter]: '599',
    });
    expect((await h.authorizer.decide(authorizerEvent(otherKey))).outcome).toBe('allow');

    h.feed.add(RevocationKind.KeySuspension, suspensionValue('key_0123456789abcdef0123', NOW_S + 2, 'resumed', NOW_MS + 2000), NOW_MS + 2000, until);
    h.clock.advance(1000);
    await h.authorizer.decide(authorizerEvent(suspendedKey));
    await settle();
    expect((await h.authorizer.decide(authorizerEvent(suspendedKey))).outcome).toBe('allow');
  });
});
