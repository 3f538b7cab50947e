import { describe, expect, it } from 'vitest';
import { CachedRing, ISSUER_RING_CACHE_MS } from '../../../lambda/core/issuance/issuing-key';
import { jwkSet } from '../../../lambda/core/issuance/jwks';
import { ringViolations } from '../../../lambda/core/rotation/key-ring';
import { SigningKeyState } from '../../../common/signing-key-items';
import { ecSigningKey, FakeRing } from './fakes';

describe('CachedRing', () => {
  it('serves the ring from memory within the cache window and re-reads after it', async () => {
    const source = new FakeRing([ecSigningKey().record]);
    let now = 0;
    const ring = new CachedRing(source, () => now);
    await ring.load();
    now = ISSUER_RING_CACHE_MS - 1;
    await ring.load();
    expect(source.loads).toBe(1);
    now = ISSUER_RING_CACHE_MS;
    await ring.load();
    expect(source.loads).toBe(2);
  });

  it('shares one in-flight read between concurrent callers and retries after a failure', async () => {
    const source = new FakeRing([]);
    const ring = new CachedRing(source, () => 0);
    await Promise.all([ring.load(), ring.load(), ring.load()]);
    expect(source.loads).toBe(1);

    const failing = new CachedRing({ load: async () => Promise.reject(new Error('down')) }, () => 0);
    await expect(failing.load()).rejects.toThrow('down');
    await expect(failing.load()).rejects.toThrow('down');
  });
});

describe('jwkSet', () => {
  it('publishes pending, active and retiring keys with kid, alg and use; never retired or compromised ones', () => {
    const keys = ['p', 'a', 'r', 'x', 'c'].map((kid) => ecSigningKey(kid).record);
    const records = [
      { ...keys[0]!, state: SigningKeyState.Pending },
      keys[1]!,
      { ...keys[2]!, state: SigningKeyState.Retiring, verifyUntil: 2_000 },
      { ...keys[3]!, state: SigningKeyState.Retired },
      { ...keys[4]!, compromisedAt: 10 },
    ];
    const { set, skipped } = jwkSet(records, 1_500);
    expect(set.keys.map((k) => k.kid)).toEqual(['p', 'a', 'r']);
    expect(set.keys[0]).toEqual({ kid: 'p', alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
    expect(skipped).toEqual([]);
    expect(jwkSet(records, 2_000).set.keys.map((k) => k.kid)).toEqual(['p', 'a']);
  });

  it('publishes a ring a compromise left without an active key: the retiring key, never the compromised one', () => {
    const records = [
      { ...ecSigningKey('c').record, state: SigningKeyState.Retired, compromisedAt: 1_000, retiredAt: 1_000 },
      { ...ecSigningKey('r').record, state: SigningKeyState.Retiring, verifyUntil: 2_000 },
    ];
    expect(ringViolations(records)).toEqual([]);
    expect(jwkSet(records, 1_500).set.keys.map((k) => k.kid)).toEqual(['r']);
    // Once the retiring key expires too the set is empty, and still a valid JWK Set.
    expect(jwkSet(records, 2_000)).toEqual({ set: { keys: [] }, skipped: [] });
  });

  it('leaves out, and reports by kid, a verifying record whose public key does not parse; the rest is published', () => {
    const good = ecSigningKey('good').record;
    const records = [
      { ...ecSigningKey('bad-der').record, state: SigningKeyState.Pending, publicKey: Buffer.from('not a key').toString('base64') },
      good,
      { ...ecSigningKey('bad-empty').record, state: SigningKeyState.Retiring, verifyUntil: 2_000, publicKey: '' },
      // Not verifying, so never parsed and never reported.
      { ...ecSigningKey('retired').record, state: SigningKeyState.Retired, publicKey: 'garbage' },
    ];
    const { set, skipped } = jwkSet(records, 1_500);
    expect(set.keys.map((k) => k.kid)).toEqual(['good']);
    expect(skipped).toEqual([
      { kid: 'bad-der', problem: expect.any(String) },
      { kid: 'bad-empty', problem: expect.any(String) },
    ]);
  });
});

describe('CachedRing.loadOrLastGood (the JWKS)', () => {
  it('serves the last good ring when a read fails, without waiting on the source again for one cache window', async () => {
    const source = new FakeRing([ecSigningKey('k1').record]);
    let now = 0;
    let down = false;
    const ring = new CachedRing({ load: () => (down ? Promise.reject(Object.assign(new Error('hung'), { name: 'TimeoutError' })) : source.load()) }, () => now);
    expect(await ring.loadOrLastGood()).toEqual({ records: [expect.objectContaining({ kid: 'k1' })], stale: false });

    down = true;
    now = ISSUER_RING_CACHE_MS;
    const first = await ring.loadOrLastGood();
    expect(first).toMatchObject({ stale: true, records: [expect.objectContaining({ kid: 'k1' })] });
    expect((first.failure as Error).name).toBe('TimeoutError');
    const loadsAfterFailure = source.loads;
    // Within a cache window of the failure: the last good ring at once, no read, nothing to log.
    now += ISSUER_RING_CACHE_MS - 1;
    expect(await ring.loadOrLastGood()).toEqual({ records: first.records, stale: true });
    // The issuer still gets the failure: it never signs with a stale ring.
    await expect(ring.load()).rejects.toThrow('hung');

    down = false;
    now += ISSUER_RING_CACHE_MS;
    expect(await ring.loadOrLastGood()).toMatchObject({ stale: false });
    expect(source.loads).toBe(loadsAfterFailure + 1);
  });

  it('rejects when no read ever succeeded', async () => {
    const ring = new CachedRing({ load: () => Promise.reject(new Error('down')) }, () => 0);
    await expect(ring.loadOrLastGood()).rejects.toThrow('down');
  });
});
