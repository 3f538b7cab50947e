import { describe, expect, it } from 'vitest';
import { Defaults, Limits, pendingPublicationSeconds, retiringVerificationSeconds } from '../../../common/defaults';
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import {
  assertWritable,
  generateKid,
  planRing,
  prunable,
  ringTiming,
  ringViolations,
  type NewKeyMaterial,
  type RingState,
} from '../../../lambda/core/rotation/key-ring';
import { RingInvariantViolation, UnknownSigningKey } from '../../../lambda/core/rotation/rotation-errors';
import { DEFAULT_TIMING } from './fakes';
import { RING_T0, ringKey } from './fixtures';

const T0 = RING_T0;
const DAY = 86_400;
const key = ringKey;

function ring(...keys: SigningKeyRecord[]): RingState {
  return { version: 7, keys };
}

const material: NewKeyMaterial = { kid: 'new', keySpec: 'ECC_NIST_P256', kmsKeyArn: 'arn:aws:kms:us-east-1:000000000000:key/new', publicKey: 'bmV3' };

describe('ring timing', () => {
  it('publishes a pending key longer than both the authorizer refresh and the JWKS cache, with margin', () => {
    expect(DEFAULT_TIMING.pendingSeconds).toBe(600);
    expect(DEFAULT_TIMING.pendingSeconds).toBeGreaterThan(Defaults.keyRingRefreshSeconds);
    expect(DEFAULT_TIMING.pendingSeconds).toBeGreaterThan(Defaults.jwksMaxAgeSeconds);
    expect(pendingPublicationSeconds(1200)).toBe(1500);
  });

  it('keeps a retiring key verifying for the hard maximum token lifetime plus skew plus signer lag', () => {
    expect(DEFAULT_TIMING.retiringSeconds).toBe(3600 + 30 + 60);
    expect(retiringVerificationSeconds(Limits.clockSkewSecondsMax)).toBe(3600 + 300 + 60);
  });

  it('derives the rotation interval and the prune delay from days', () => {
    const timing = ringTiming({ rotationIntervalDays: 7, keyDeletionWindowDays: 10, keyRingRefreshSeconds: 60, clockSkewSeconds: 0 });
    expect(timing.rotationIntervalSeconds).toBe(7 * DAY);
    expect(timing.deletionWindowDays).toBe(10);
    expect(timing.pruneAfterSeconds).toBe(17 * DAY);
  });
});

describe('planRing', () => {
  it('bootstraps an empty ring with an active key, skipping the pending wait', () => {
    const first = planRing({ version: 0, keys: [] }, { kind: 'step' }, T0, DEFAULT_TIMING);
    expect(first.needs).toBe(SigningKeyState.Active);

    const { needs, transition } = planRing({ version: 0, keys: [] }, { kind: 'step' }, T0, DEFAULT_TIMING, material);
    expect(needs).toBeUndefined();
    expect(transition.expectedVersion).toBe(0);
    expect(transition.activeKid).toBe('new');
    expect(transition.created).toEqual([expect.objectContaining({ kid: 'new', state: 'active', alg: 'ES256', createdAt: T0, activatedAt: T0, version: 1 })]);
    expect(transition.changes).toEqual([{ kid: 'new', to: 'active', reason: 'bootstrap: the first key of an empty ring' }]);
  });

  it('takes the algorithm from the key spec', () => {
    const rsa = { ...material, keySpec: 'RSA_2048' as const };
    const { transition } = planRing({ version: 0, keys: [] }, { kind: 'step' }, T0, DEFAULT_TIMING, rsa);
    expect(transition.created[0]).toMatchObject({ alg: 'RS256', keySpec: 'RSA_2048' });
  });

  it('does nothing while the active key is younger than the rotation interval', () => {
    const plan = planRing(ring(key('a', 'active', { activatedAt: T0 })), { kind: 'step' }, T0 + 29 * DAY, DEFAULT_TIMING);
    expect(plan.needs).toBeUndefined();
    expect(plan.transition.created).toEqual([]);
    expect(plan.transition.updated).toEqual([]);
  });

  it('starts a rotation with a pending key once the active key reaches the interval', () => {
    const now = T0 + 30 * DAY;
    const state = ring(key('a', 'active', { activatedAt: T0 }));
    expect(planRing(state, { kind: 'step' }, now, DEFAULT_TIMING).needs).toBe('pending');

    const { transition } = planRing(state, { kind: 'step' }, now, DEFAULT_TIMING, material);
    expect(transition.created).toEqual([expect.objectContaining({ kid: 'new', state: 'pending', activateAt: now + 600 })]);
    expect(transition.updated).toEqual([]);
    expect(transition.activeKid).toBe('a');
    expect(transition.changes[0]?.reason).toMatch(/active key a has been active for 30 days/);
  });

  it('starts a rotation at once on rotate, and not again while one is pending', () => {
    const state = ring(key('a', 'active', { activatedAt: T0 }));
    expect(planRing(state, { kind: 'rotate' }, T0 + 60, DEFAULT_TIMING).needs).toBe('pending');
    const pending = ring(key('a', 'active', { activatedAt: T0 }), key('b', 'pending', { activateAt: T0 + 660 }));
    const again = planRing(pending, { kind: 'rotate' }, T0 + 120, DEFAULT_TIMING);
    expect(again.needs).toBeUndefined();
    expect(again.transition.updated).toEqual([]);
  });

  it('ignores a supplied key it does not need', () => {
    const state = ring(key('a', 'active', { activatedAt: T0 }));
    const { transition } = planRing(state, { kind: 'step' }, T0 + DAY, DEFAULT_TIMING, material);
    expect(transition.created).toEqual([]);
  });

  it('activates a pending key only once it has been published for the pending window', () => {
    const state = ring(key('a', 'active', { activatedAt: T0 }), key('b', 'pending', { createdAt: T0 + 100, activateAt: T0 + 700 }));
    expect(planRing(state, { kind: 'step' }, T0 + 699, DEFAULT_TIMING).transition.updated).toEqual([]);

    const { transition } = planRing(state, { kind: 'step' }, T0 + 700, DEFAULT_TIMING);
    expect(transition.activeKid).toBe('b');
    const byKid = Object.fromEntries(transition.updated.map((update) => [update.after.kid, update]));
    expect(byKid.a?.after).toMatchObject({ state: 'retiring', retiringAt: T0 + 700, verifyUntil: T0 + 700 + 3690, version: 2 });
    expect(byKid.a?.before.version).toBe(1);
    expect(byKid.b?.after).toMatchObject({ state: 'active', activatedAt: T0 + 700, version: 2 });
  });

  it('retires a retiring key at verifyUntil, not before', () => {
    const state = ring(key('a', 'retiring', { verifyUntil: T0 + 100 }), key('b', 'active'));
    expect(planRing(state, { kind: 'step' }, T0 + 99, DEFAULT_TIMING).transition.updated).toEqual([]);
    const { transition } = planRing(state, { kind: 'step' }, T0 + 100, DEFAULT_TIMING);
    expect(transition.updated.map((update) => update.after)).toEqual([expect.objectContaining({ kid: 'a', state: 'retired', retiredAt: T0 + 100 })]);
  });

  it('on compromise of the active key with nothing pending retires it alone, needing no KMS key, and leaves the ring without an active key', () => {
    const state = ring(key('a', 'active', { activatedAt: T0 }));
    const plan = planRing(state, { kind: 'compromised', kid: 'a' }, T0 + 5, DEFAULT_TIMING);
    expect(plan.needs).toBeUndefined();
    expect(plan.transition.activeKid).toBeUndefined();
    expect(plan.transition.created).toEqual([]);
    expect(plan.transition.updated.map((update) => update.after)).toEqual([
      expect.objectContaining({ kid: 'a', state: 'retired', compromisedAt: T0 + 5, retiredAt: T0 + 5, version: 2 }),
    ]);
    // A key offered anyway is not used: the compromise is written on its own.
    expect(planRing(state, { kind: 'compromised', kid: 'a' }, T0 + 5, DEFAULT_TIMING, material).transition.created).toEqual([]);
  });

  it('after such a compromise a step makes the replacement active at once, without the pending wait', () => {
    const state = ring(key('a', 'retired', { activatedAt: T0, compromisedAt: T0 + 5, retiredAt: T0 + 5 }), key('r', 'retiring', { verifyUntil: T0 + 3000 }));
    expect(planRing(state, { kind: 'step' }, T0 + 6, DEFAULT_TIMING).needs).toBe('active');
    const { transition } = planRing(state, { kind: 'step' }, T0 + 6, DEFAULT_TIMING, material);
    expect(transition.activeKid).toBe('new');
    expect(transition.created).toEqual([expect.objectContaining({ kid: 'new', state: 'active', activatedAt: T0 + 6 })]);
    expect(transition.changes).toEqual([
      {
        kid: 'new',
        to: 'active',
        reason: 'replaces the compromised key a, which left the ring without an active key; active at once, skipping the pending wait',
      },
    ]);
  });

  it('never needs a new key for a compromise: a rotation that is due waits for the next step', () => {
    const state = ring(key('a', 'active', { activatedAt: T0 }), key('r', 'retiring', { verifyUntil: T0 + 40 * DAY }));
    const plan = planRing(state, { kind: 'compromised', kid: 'r' }, T0 + 31 * DAY, DEFAULT_TIMING);
    expect(plan.needs).toBeUndefined();
    expect(plan.transition.activeKid).toBe('a');
    expect(plan.transition.updated.map((update) => update.after.kid)).toEqual(['r']);
    expect(
      planRing(
        { version: 8, keys: plan.transition.updated.map((update) => update.after).concat(state.keys[0]!) },
        { kind: 'step' },
        T0 + 31 * DAY,
        DEFAULT_TIMING,
      ).needs,
    ).toBe('pending');
  });

  it('compromises another key while the ring has no active key, without waiting for a new one', () => {
    const state = ring(key('a', 'retired', { activatedAt: T0, compromisedAt: T0 + 5, retiredAt: T0 + 5 }), key('r', 'retiring', { verifyUntil: T0 + 3000 }));
    const plan = planRing(state, { kind: 'compromised', kid: 'r' }, T0 + 10, DEFAULT_TIMING);
    expect(plan.needs).toBeUndefined();
    expect(plan.transition.updated.map((update) => update.after)).toEqual([expect.objectContaining({ kid: 'r', state: 'retired', compromisedAt: T0 + 10 })]);
  });

  it('on compromise of the active key promotes a clean pending key instead of making another', () => {
    const state = ring(key('a', 'active'), key('b', 'pending', { activateAt: T0 + 600 }));
    const plan = planRing(state, { kind: 'compromised', kid: 'a' }, T0 + 5, DEFAULT_TIMING);
    expect(plan.needs).toBeUndefined();
    expect(plan.transition.activeKid).toBe('b');
    expect(plan.transition.created).toEqual([]);
  });

  it('on compromise of a pending or retiring key retires it and leaves the active key alone', () => {
    for (const state of ['pending', 'retiring'] as const) {
      const { transition } = planRing(
        ring(key('a', 'active'), key('b', state, { verifyUntil: T0 + 900, activateAt: T0 + 600 })),
        { kind: 'compromised', kid: 'b' },
        T0 + 5,
        DEFAULT_TIMING,
      );
      expect(transition.activeKid).toBe('a');
      expect(transition.updated.map((update) => update.after)).toEqual([expect.objectContaining({ kid: 'b', state: 'retired', compromisedAt: T0 + 5 })]);
    }
  });

  it('treats a second compromise of the same key as done', () => {
    const state = ring(key('a', 'retired', { compromisedAt: T0 }), key('b', 'active'));
    const { transition } = planRing(state, { kind: 'compromised', kid: 'a' }, T0 + 5, DEFAULT_TIMING);
    expect(transition.updated).toEqual([]);
  });

  it('refuses an unknown kid, listing the known ones', () => {
    const state = ring(key('a', 'active'));
    expect(() => planRing(state, { kind: 'compromised', kid: 'zzz' }, T0, DEFAULT_TIMING)).toThrow(UnknownSigningKey);
    expect(() => planRing(state, { kind: 'compromised', kid: 'zzz' }, T0, DEFAULT_TIMING)).toThrow(/"zzz".*known kids: a/);
    expect(() => planRing({ version: 0, keys: [] }, { kind: 'compromised', kid: 'zzz' }, T0, DEFAULT_TIMING)).toThrow(/the ring is empty/);
  });

  it('repairs a ring with two active keys, keeping the newest and letting the other verify out its tokens', () => {
    const state = ring(key('old', 'active', { activatedAt: T0 }), key('new', 'active', { activatedAt: T0 + 10 }));
    const { transition } = planRing(state, { kind: 'step' }, T0 + 20, DEFAULT_TIMING);
    expect(transition.activeKid).toBe('new');
    expect(transition.updated.map((update) => update.after)).toEqual([expect.objectContaining({ kid: 'old', state: 'retiring', verifyUntil: T0 + 20 + 3690 })]);
  });

  it('repairs a ring without an active key by activating its pending key at once', () => {
    const state = ring(key('a', 'retiring', { verifyUntil: T0 + 3000 }), key('b', 'pending', { activateAt: T0 + 600 }));
    const { transition } = planRing(state, { kind: 'step' }, T0 + 1, DEFAULT_TIMING);
    expect(transition.activeKid).toBe('b');
    expect(transition.changes).toContainEqual(expect.objectContaining({ kid: 'b', to: 'active', reason: 'repair: the ring had no active key' }));
  });

  it('gives a retiring key without verifyUntil a full verification window', () => {
    const state = ring(key('a', 'retiring'), key('b', 'active'));
    const { transition } = planRing(state, { kind: 'step' }, T0, DEFAULT_TIMING);
    expect(transition.updated[0]?.after).toMatchObject({ kid: 'a', state: 'retiring', verifyUntil: T0 + 3690 });
  });

  it('retires a key marked compromised but left verifying, and replaces it when it was active', () => {
    const state = ring(key('a', 'active', { compromisedAt: T0 }), key('b', 'pending', { activateAt: T0 + 600 }));
    const { transition } = planRing(state, { kind: 'step' }, T0 + 20, DEFAULT_TIMING);
    expect(transition.activeKid).toBe('b');
    expect(transition.updated.map((update) => update.after)).toContainEqual(
      expect.objectContaining({ kid: 'a', state: 'retired', compromisedAt: T0, retiredAt: T0 + 20 }),
    );
  });
});

describe('assertWritable', () => {
  it('refuses a ring that breaks an invariant, naming it', () => {
    expect(() => assertWritable([key('a', 'active'), key('b', 'active')])).toThrow(RingInvariantViolation);
    expect(() => assertWritable([key('a', 'active', { compromisedAt: T0 })])).toThrow(/keeps compromised key a active/);
    expect(() => assertWritable([key('a', 'active')])).not.toThrow();
  });
});

describe('ringViolations', () => {
  it('accepts an empty ring and a ring with exactly one active key', () => {
    expect(ringViolations([])).toEqual([]);
    expect(ringViolations([key('a', 'active'), key('b', 'pending'), key('c', 'retiring', { verifyUntil: T0 })])).toEqual([]);
  });

  it('accepts no active key only as a compromise leaves it: a compromised key and nothing pending', () => {
    const compromised = key('a', 'retired', { compromisedAt: T0 });
    expect(ringViolations([compromised])).toEqual([]);
    expect(ringViolations([compromised, key('r', 'retiring', { verifyUntil: T0 })])).toEqual([]);
    expect(ringViolations([compromised, key('p', 'pending')])).toEqual(['has no active key but pending key p to activate']);
    expect(ringViolations([key('a', 'retired'), key('r', 'retiring', { verifyUntil: T0 })])).toEqual(['has keys but no active key']);
  });

  it('names each broken invariant', () => {
    expect(ringViolations([key('a', 'active'), key('b', 'active')])).toEqual(['has 2 active keys (a, b)']);
    expect(ringViolations([key('a', 'retired')])).toEqual(['has keys but no active key']);
    expect(ringViolations([key('a', 'active'), key('b', 'retiring')])).toEqual(['has retiring key b without verifyUntil']);
  });
});

describe('prunable', () => {
  it('drops retired records only once KMS has certainly deleted their key', () => {
    const keys = [key('x', 'retired', { deletionScheduledAt: T0 }), key('y', 'retired'), key('a', 'active')];
    expect(prunable(keys, T0 + 37 * DAY - 1, DEFAULT_TIMING)).toEqual([]);
    expect(prunable(keys, T0 + 37 * DAY, DEFAULT_TIMING).map((record) => record.kid)).toEqual(['x']);
  });
});

describe('generateKid', () => {
  it('is the creation minute plus 32 random bits', () => {
    expect(generateKid(Date.UTC(2025, 10, 22, 8, 5, 59), () => Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toBe('20251122T0805Z-deadbeef');
    expect(generateKid(Date.now())).toMatch(/^\d{8}T\d{4}Z-[0-9a-f]{8}$/);
  });
});
