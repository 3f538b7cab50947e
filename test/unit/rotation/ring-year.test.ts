/**
 * A year of scheduled runs against the rotation core (fakes of its ports, injected clock),
 * checking the ring's promises at every step: one active key; every token the issuer can
 * have signed verifies until it expires; retired keys are scheduled for deletion; no KMS
 * key is left outside the ring without a deletion date.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Defaults } from '../../../common/defaults';
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { ringViolations } from '../../../lambda/core/rotation/key-ring';
import { isVerifying } from '../../../lambda/core/rotation/signing-keys';
import type { RotationRequest } from '../../../lambda/core/rotation/rotation-request';
import { DEFAULT_TIMING, harness, type Harness } from './fakes';
import * as Setting from '../../../common/settings';

const HOUR = 3600;
const DAY = 86_400;
const YEAR = 365 * DAY;
/** The issuer caches the ring for a few seconds: it may sign with the old key this long after a switch. */
const ISSUER_CACHE_SECONDS = 10;
const SKEW = Defaults.clockSkewSeconds;
/** Thousands of runs each: generous, since the machine running them may be busy. */
const WALK_TIMEOUT_MS = 180_000;

interface IssuedToken {
  readonly kid: string;
  readonly iat: number;
  readonly exp: number;
}

/** Drives a harness step by step and checks every invariant after each run. */
class RingWalk {
  private tokens: IssuedToken[] = [];
  private readonly service;
  /** Keys activated by a compromise, which skips the pending wait by design. */
  private readonly emergencyActivations = new Set<string>();
  activations = 0;

  constructor(readonly h: Harness) {
    this.service = h.service();
  }

  async run(request: RotationRequest, nextRunInSeconds: number): Promise<void> {
    const activeBefore = this.active()?.kid;
    await this.service.run(request);
    const now = this.h.clock.seconds();
    const activeAfter = this.active();
    if (activeAfter && activeAfter.kid !== activeBefore) {
      this.activations += 1;
      if (request.action === 'compromised') this.emergencyActivations.add(activeAfter.kid);
    }
    // The issuer signs with the active key it sees: a stale cache may still see the old one.
    if (activeBefore) this.tokens.push({ kid: activeBefore, iat: now + ISSUER_CACHE_SECONDS, exp: now + ISSUER_CACHE_SECONDS + Setting.tokenTtlSeconds.max });
    if (activeAfter) this.tokens.push({ kid: activeAfter.kid, iat: now, exp: now + Setting.tokenTtlSeconds.max });
    this.assertInvariants(now, now + nextRunInSeconds - 1);
  }

  /** The ring does not change between runs, so checking both ends of the gap covers it. */
  private assertInvariants(now: number, lastMomentBeforeNextRun: number): void {
    const keys = this.h.store.keys();
    expect(ringViolations(keys)).toEqual([]);
    expect(keys.filter((key) => key.state === SigningKeyState.Active)).toHaveLength(1);
    this.assertLiveTokensVerify(keys, now, lastMomentBeforeNextRun);
    this.assertRetiredKeysScheduledForDeletion(keys);
    this.assertNoUntrackedKmsKeys(keys);
    this.assertPublishedBeforeSigning(keys);
  }

  private assertLiveTokensVerify(keys: readonly SigningKeyRecord[], now: number, lastMoment: number): void {
    const byKid = new Map(keys.map((key) => [key.kid, key]));
    this.tokens = this.tokens.filter((token) => token.exp + SKEW >= now);
    for (const token of this.tokens) {
      const acceptedUntil = token.exp + SKEW;
      const record = byKid.get(token.kid);
      if (record?.compromisedAt !== undefined) continue;
      expect(record, `key ${token.kid} of a live token left the ring`).toBeDefined();
      for (const moment of [now, Math.min(acceptedUntil, lastMoment)]) {
        expect(isVerifying(record!, moment), `token of ${token.kid} (exp ${token.exp}) unverifiable at ${moment}`).toBe(true);
      }
    }
  }

  private assertRetiredKeysScheduledForDeletion(keys: readonly SigningKeyRecord[]): void {
    for (const key of keys.filter((record) => record.state === SigningKeyState.Retired)) {
      expect(key.deletionScheduledAt, `retired key ${key.kid} not scheduled for deletion`).toBeDefined();
      expect(this.h.kms.find(key.kmsKeyArn)?.pendingDeletion).toBe(true);
      expect(this.h.kms.find(key.kmsKeyArn)?.deletionWindowDays).toBe(DEFAULT_TIMING.deletionWindowDays);
    }
  }

  private assertNoUntrackedKmsKeys(keys: readonly SigningKeyRecord[]): void {
    const inRing = new Set(keys.map((key) => key.kmsKeyArn));
    for (const kmsKey of this.h.kms.keys) expect(inRing.has(kmsKey.kmsKeyArn) || kmsKey.pendingDeletion).toBe(true);
  }

  /** A key that replaced another on schedule was published for the whole pending window first. */
  private assertPublishedBeforeSigning(keys: readonly SigningKeyRecord[]): void {
    for (const key of keys) {
      if (key.activateAt !== undefined && key.activatedAt !== undefined && !this.emergencyActivations.has(key.kid)) {
        expect(key.activatedAt - key.createdAt).toBeGreaterThanOrEqual(DEFAULT_TIMING.pendingSeconds);
      }
    }
  }

  private active(): SigningKeyRecord | undefined {
    return this.h.store.keys().find((key) => key.state === SigningKeyState.Active);
  }
}

const SCHEDULED: RotationRequest = { action: 'step', scheduled: true };

async function walk(stepSeconds: number, horizonSeconds: number): Promise<RingWalk> {
  const h = harness();
  const ring = new RingWalk(h);
  for (let elapsed = 0; elapsed <= horizonSeconds; elapsed += stepSeconds) {
    await ring.run(SCHEDULED, stepSeconds);
    h.clock.advanceSeconds(stepSeconds);
  }
  return ring;
}

describe('a year of scheduled rotation', () => {
  it(
    'on a daily schedule: rotates every interval and keeps every invariant at every step',
    async () => {
      const ring = await walk(DAY, YEAR);
      // Bootstrap plus one activation per 30-day interval (each pending key waits for the next day's run).
      expect(ring.activations).toBe(1 + Math.floor(365 / 31));
      // Retired records leave the ring once KMS has deleted their key: it stays small.
      expect(ring.h.store.keys().length).toBeLessThanOrEqual(4);
      expect(ring.h.kms.keys.filter((key) => !key.pendingDeletion)).toHaveLength(1);
    },
    WALK_TIMEOUT_MS,
  );

  it(
    'on an hourly schedule (as deployed), for four months: the same, the pending key activating an hour after it is made',
    async () => {
      const ring = await walk(HOUR, 120 * DAY);
      expect(ring.activations).toBe(1 + 3);
      const active = ring.h.store.keys().find((key) => key.state === SigningKeyState.Active)!;
      expect(active.activatedAt! - active.createdAt).toBe(HOUR);
    },
    WALK_TIMEOUT_MS,
  );

  it(
    'with random run gaps, console rotations and compromises mixed in',
    async () => {
      const command = fc.record({
        gapSeconds: fc.integer({ min: 60, max: 3 * DAY }),
        action: fc.constantFrom('step', 'step', 'step', 'rotate', 'status', 'compromise-active', 'compromise-any'),
        pick: fc.nat(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 20, maxLength: 150 }), async (commands) => {
          const h = harness();
          const ring = new RingWalk(h);
          await ring.run(SCHEDULED, commands[0]!.gapSeconds);
          for (const [index, { action, pick }] of commands.entries()) {
            const gap = commands[index + 1]?.gapSeconds ?? DAY;
            h.clock.advanceSeconds(commands[index]!.gapSeconds);
            await ring.run(requestFor(h, action, pick), gap);
          }
        }),
        { numRuns: 40 },
      );
    },
    WALK_TIMEOUT_MS,
  );
});

function requestFor(h: Harness, action: string, pick: number): RotationRequest {
  const keys = h.store.keys();
  switch (action) {
    case 'rotate':
      return { action: 'rotate' };
    case 'status':
      return { action: 'status' };
    case 'compromise-active':
      return { action: 'compromised', kid: keys.find((key) => key.state === SigningKeyState.Active)!.kid };
    case 'compromise-any':
      return { action: 'compromised', kid: keys[pick % keys.length]!.kid };
    default:
      return SCHEDULED;
  }
}
