import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SigningKeyState } from '../../../common/signing-key-items';
import { KeyRingCache, type KeyRingEvent } from '../../../lambda/core/authorizer/key-ring-cache';
import { ringViolations } from '../../../lambda/core/rotation/key-ring';
import { FakeKeySource, NOW_MS, NOW_S } from './support/fixtures';
import { generateTestKey } from './support/tokens';

function cache(source: FakeKeySource, events: KeyRingEvent[] = []) {
  return new KeyRingCache({ source, refreshIntervalMs: 60_000, unknownKidIntervalMs: 10_000, onEvent: (e) => events.push(e) });
}

describe('KeyRingCache', () => {
  it('trusts pending, active and retiring keys; not retired or compromised ones', async () => {
    const keys = [
      generateTestKey('ES256', { kid: 'pending', state: SigningKeyState.Pending }),
      generateTestKey('ES256', { kid: 'active' }),
      generateTestKey('RS256', { kid: 'retiring', state: SigningKeyState.Retiring, verifyUntil: NOW_S + 100 }),
      generateTestKey('ES256', { kid: 'retired', state: SigningKeyState.Retired }),
      generateTestKey('ES256', { kid: 'compromised', compromisedAt: NOW_S }),
    ];
    const ring = cache(new FakeKeySource(keys.map((k) => k.record)));
    expect(ring.loaded).toBe(false);
    await ring.refresh(NOW_MS);
    expect(ring.loaded).toBe(true);
    expect(['pending', 'active', 'retiring', 'retired', 'compromised'].map((kid) => ring.lookup(kid, NOW_S)?.alg)).toEqual([
      'ES256',
      'ES256',
      'RS256',
      undefined,
      undefined,
    ]);
    expect(ring.lookup('retiring', NOW_S)?.signatureBytes).toBe(256);
    expect(ring.lookup('active', NOW_S)?.signatureBytes).toBe(64);
  });

  it('loads a ring a compromise left without an active key: the retiring key verifies, the compromised one does not', async () => {
    const keys = [
      generateTestKey('ES256', { kid: 'compromised', state: SigningKeyState.Retired, compromisedAt: NOW_S }),
      generateTestKey('ES256', { kid: 'retiring', state: SigningKeyState.Retiring, verifyUntil: NOW_S + 100 }),
    ];
    const records = keys.map((k) => k.record);
    expect(ringViolations(records)).toEqual([]);
    const events: KeyRingEvent[] = [];
    const ring = cache(new FakeKeySource(records), events);
    await ring.refresh(NOW_MS);
    expect(ring.loaded).toBe(true);
    expect(ring.size).toBe(1);
    expect(ring.lookup('retiring', NOW_S)).toBeDefined();
    expect(ring.lookup('compromised', NOW_S)).toBeUndefined();
    expect(events).toEqual([{ type: 'refreshed', keys: 1, skipped: [] }]);

    // Only the compromised key left: loaded, trusting nothing (not "never loaded", which would wait for a load per request).
    const empty = cache(new FakeKeySource([records[0]!]));
    await empty.refresh(NOW_MS);
    expect(empty.loaded).toBe(true);
    expect(empty.size).toBe(0);
  });

  it('stops trusting a retiring key at its verifyUntil without waiting for a refresh', async () => {
    const ring = cache(new FakeKeySource([generateTestKey('ES256', { kid: 'r', state: SigningKeyState.Retiring, verifyUntil: NOW_S + 100 }).record]));
    await ring.refresh(NOW_MS);
    expect(ring.lookup('r', NOW_S + 99)).toBeDefined();
    expect(ring.lookup('r', NOW_S + 100)).toBeUndefined();
  });

  it('skips records it cannot use, keeping the rest of the ring', async () => {
    const good = generateTestKey('ES256', { kid: 'good' });
    const rsaAsEs = { ...generateTestKey('RS256').record, kid: 'rsa-as-es', alg: 'ES256' as const };
    const shortRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const records = [
      good.record,
      rsaAsEs,
      { ...good.record, kid: 'bad-der', publicKey: 'AAAA' },
      { ...good.record, kid: 'short-rsa', alg: 'RS256' as const, publicKey: shortRsa },
      { ...good.record, kid: 'p384', publicKey: p384 },
    ];
    const events: KeyRingEvent[] = [];
    const ring = cache(new FakeKeySource(records), events);
    await ring.refresh(NOW_MS);
    expect(ring.size).toBe(1);
    expect(ring.lookup('good', NOW_S)).toBeDefined();
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.type === 'refreshed' && event.skipped.map((s) => s.kid)).toEqual(['rsa-as-es', 'bad-der', 'short-rsa', 'p384']);
  });

  it('refreshes in the background once the interval has passed, and only once at a time', async () => {
    const source = new FakeKeySource([generateTestKey('ES256', { kid: 'a' }).record]);
    const ring = cache(source);
    await ring.refresh(NOW_MS);
    ring.refreshIfDue(NOW_MS + 59_999);
    expect(source.loads).toBe(1);
    source.records = [generateTestKey('ES256', { kid: 'b' }).record];
    ring.refreshIfDue(NOW_MS + 60_000);
    ring.refreshIfDue(NOW_MS + 60_001);
    expect(source.loads).toBe(2);
    expect(ring.lookup('b', NOW_S)).toBeUndefined();
    await ring.refresh(NOW_MS + 60_002);
    expect(source.loads).toBe(2);
    expect(ring.lookup('b', NOW_S)).toBeDefined();
    expect(ring.lookup('a', NOW_S)).toBeUndefined();
  });

  it('keeps the last ring when a refresh fails, reports it, and retries soon', async () => {
    const source = new FakeKeySource([generateTestKey('ES256', { kid: 'a' }).record]);
    const events: KeyRingEvent[] = [];
    const ring = cache(source, events);
    await ring.refresh(NOW_MS);
    source.failing = true;
    await ring.refresh(NOW_MS + 60_000);
    expect(events.map((e) => e.type)).toEqual(['refreshed', 'refresh_failed']);
    expect(ring.lookup('a', NOW_S)).toBeDefined();
    ring.refreshIfDue(NOW_MS + 60_999);
    expect(source.loads).toBe(2);
    ring.refreshIfDue(NOW_MS + 61_000);
    expect(source.loads).toBe(3);
  });

  it('reloads for an unknown kid at most once per penalty interval', async () => {
    const source = new FakeKeySource([]);
    const ring = cache(source);
    await ring.refresh(NOW_MS);
    expect(await ring.refreshForUnknownKid(NOW_MS)).toBe(true);
    expect(await ring.refreshForUnknownKid(NOW_MS + 9_999)).toBe(false);
    expect(source.loads).toBe(2);
    expect(await ring.refreshForUnknownKid(NOW_MS + 10_000)).toBe(true);
    expect(source.loads).toBe(3);
  });

  it('lets unknown kids arriving while that reload is in flight join it, without another read', async () => {
    const source = new FakeKeySource([]);
    const ring = cache(source);
    await ring.refresh(NOW_MS);
    source.records = [generateTestKey('ES256', { kid: 'new' }).record];
    const [first, second] = await Promise.all([ring.refreshForUnknownKid(NOW_MS), ring.refreshForUnknownKid(NOW_MS + 1)]);
    expect([first, second, source.loads, ring.lookup('new', NOW_S) !== undefined]).toEqual([true, true, 2, true]);
    expect(await ring.refreshForUnknownKid(NOW_MS + 2)).toBe(false);
  });

  it('before the first load, waits for a load unless one failed moments ago', async () => {
    const source = new FakeKeySource([generateTestKey('ES256', { kid: 'a' }).record]);
    source.failing = true;
    const ring = cache(source);
    await ring.ensureLoaded(NOW_MS);
    expect([ring.loaded, source.loads]).toEqual([false, 1]);
    await ring.ensureLoaded(NOW_MS + 500);
    expect(source.loads).toBe(1);
    source.failing = false;
    await ring.ensureLoaded(NOW_MS + 1_000);
    expect([ring.loaded, source.loads]).toEqual([true, 2]);
    await ring.ensureLoaded(NOW_MS + 2_000);
    expect(source.loads).toBe(2);
  });
});
