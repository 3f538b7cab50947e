import { describe, expect, it } from 'vitest';
import { HygieneEvent } from '../../../common/names';
import { SigningKeyState } from '../../../common/signing-key-items';
import { ORPHAN_MIN_AGE_SECONDS, RECONCILE_INTERVAL_SECONDS, RECONCILE_MAX_KEYS } from '../../../lambda/core/rotation/rotation-reconcile';
import {
  CompromiseNotApplied,
  CompromiseUnreported,
  CompromiseNotReplaced,
  RingConflict,
  RotationStepFailed,
  UnknownSigningKey,
} from '../../../lambda/core/rotation/rotation-errors';
import { ringViolations } from '../../../lambda/core/rotation/key-ring';
import { activeSigningKey } from '../../../lambda/core/issuance/issuing-key';
import { isVerifying } from '../../../lambda/core/rotation/signing-keys';
import type { KeyManager } from '../../../lambda/core/rotation/rotation-ports';
import { RotationMetric } from '../../../lambda/core/rotation/rotation-service';
import { HygieneMetric } from '../../../lambda/core/rotation/rotation-hygiene';
import { harness, START_MS, type Harness } from './fakes';

const DAY = 86_400;
const STEP = { action: 'step', scheduled: true } as const;

async function bootstrapped(): Promise<Harness> {
  const h = harness();
  await h.service().run(STEP);
  return h;
}

function activeKid(h: Harness): string {
  return h.store.keys().find((key) => key.state === SigningKeyState.Active)!.kid;
}

describe('rotation service: ring runs', () => {
  it('bootstraps an empty ring with one active key and reports it', async () => {
    const h = harness();
    const report = await h.service().run(STEP);

    expect(h.kms.keys).toHaveLength(1);
    expect(report.ring.activeKid).toBe('kid-1');
    expect(report.ring.keys).toEqual([
      expect.objectContaining({ kid: 'kid-1', state: 'active', verifying: true, compromised: false, createdAt: '2025-01-01T00:00:00.000Z' }),
    ]);
    expect(report.changes).toEqual([{ kind: 'state', kid: 'kid-1', to: 'active', reason: 'bootstrap: the first key of an empty ring' }]);
    expect(report.next).toEqual({ action: 'rotate', kid: 'kid-1', at: '2025-01-31T00:00:00.000Z' });
    expect(report).toMatchObject({ action: 'step', scheduled: true, at: '2025-01-01T00:00:00.000Z', problems: [] });
  });

  it('is idempotent: a second step at the same moment changes nothing', async () => {
    const h = await bootstrapped();
    const writes = h.store.writes;
    const report = await h.service().run(STEP);
    expect(report.changes).toEqual([]);
    expect(h.kms.keys).toHaveLength(1);
    // Only the once-per-period claims were written, no key.
    expect(h.store.writes - writes).toBeLessThanOrEqual(1);
  });

  it('rotate makes a pending key that the first step after the pending window activates', async () => {
    const h = await bootstrapped();
    const rotated = await h.service().run({ action: 'rotate' });
    expect(rotated.changes).toEqual([expect.objectContaining({ kid: 'kid-2', to: 'pending' })]);
    expect(rotated.next).toEqual({ action: 'activate', kid: 'kid-2', at: '2025-01-01T00:10:00.000Z' });

    h.clock.advanceSeconds(599);
    expect((await h.service().run(STEP)).changes).toEqual([]);
    h.clock.advanceSeconds(1);
    const activated = await h.service().run(STEP);
    expect(activated.ring.activeKid).toBe('kid-2');
    expect(activated.ring.keys.find((key) => key.kid === 'kid-1')).toMatchObject({
      state: 'retiring',
      verifying: true,
      verifyUntil: '2025-01-01T01:11:30.000Z',
    });
    expect(activated.next).toEqual({ action: 'retire', kid: 'kid-1', at: '2025-01-01T01:11:30.000Z' });
  });

  it('a second rotate while a key is pending makes no other key', async () => {
    const h = await bootstrapped();
    await h.service().run({ action: 'rotate' });
    const again = await h.service().run({ action: 'rotate' });
    expect(again.changes).toEqual([]);
    expect(h.kms.keys).toHaveLength(2);
  });

  it('retires, schedules KMS deletion and later prunes the old key', async () => {
    const h = await bootstrapped();
    await h.service().run({ action: 'rotate' });
    h.clock.advanceSeconds(600);
    await h.service().run(STEP);
    h.clock.advanceSeconds(3690);
    const retired = await h.service().run(STEP);

    expect(retired.changes).toEqual([
      expect.objectContaining({ kind: 'state', kid: 'kid-1', from: 'retiring', to: 'retired' }),
      expect.objectContaining({ kind: 'kms-deletion-scheduled', kid: 'kid-1', reason: 'retired; KMS destroys it after 30 days' }),
    ]);
    expect(h.kms.keys[0]).toMatchObject({ pendingDeletion: true, deletionWindowDays: 30 });
    expect(h.metrics.last(RotationMetric.kmsDeletionsScheduled)).toBe(1);

    h.clock.advanceSeconds(37 * DAY);
    const pruned = await h.service().run(STEP);
    expect(pruned.changes).toContainEqual({ kind: 'record-pruned', kid: 'kid-1', reason: 'its KMS key has been deleted' });
    expect(h.store.keys().map((key) => key.kid)).not.toContain('kid-1');
  });

  it('status reads the ring and writes nothing', async () => {
    const h = await bootstrapped();
    const writes = h.store.writes;
    h.clock.advanceSeconds(40 * DAY);
    const report = await h.service().run({ action: 'status' });
    expect(report.changes).toEqual([]);
    expect(report.reconciliation).toBeNull();
    expect(h.store.writes).toBe(writes);
    expect(h.kms.keys).toHaveLength(1);
    expect(report.next).toEqual({ action: 'rotate', kid: 'kid-1', at: '2025-01-31T00:00:00.000Z' });
  });

  it('records the active key age and the problem count as metrics', async () => {
    const h = await bootstrapped();
    h.clock.advanceSeconds(3 * DAY);
    await h.service().run({ action: 'status' });
    expect(h.metrics.last(RotationMetric.activeKeyAgeSeconds)).toBe(3 * DAY);
    expect(h.metrics.last(RotationMetric.problems)).toBe(0);
  });
});

describe('rotation service: compromise', () => {
  it('retires the compromised active key, activates a new one at once and schedules the old KMS key for deletion', async () => {
    const h = await bootstrapped();
    h.clock.advanceSeconds(60);
    const report = await h.service().run({ action: 'compromised', kid: 'kid-1' });

    expect(report.ring.activeKid).toBe('kid-2');
    expect(report.ring.keys.find((key) => key.kid === 'kid-1')).toMatchObject({
      state: 'retired',
      compromised: true,
      verifying: false,
      compromisedAt: '2025-01-01T00:01:00.000Z',
    });
    expect(h.store.items.get('kid-1')?.compromisedAt).toBe(START_MS / 1000 + 60);
    expect(h.kms.keys[0]?.pendingDeletion).toBe(true);
    // The compromise is written and the KMS key scheduled for deletion before the replacement is made.
    expect(report.changes).toEqual([
      expect.objectContaining({ kind: 'state', kid: 'kid-1', from: 'active', to: 'retired' }),
      expect.objectContaining({ kind: 'kms-deletion-scheduled', kid: 'kid-1' }),
      expect.objectContaining({ kind: 'state', kid: 'kid-2', to: 'active', reason: expect.stringMatching(/^replaces the compromised key kid-1/) }),
    ]);
    expect(report.problems).toEqual([]);
  });

  it('is idempotent', async () => {
    const h = await bootstrapped();
    await h.service().run({ action: 'compromised', kid: 'kid-1' });
    const again = await h.service().run({ action: 'compromised', kid: 'kid-1' });
    expect(again.changes).toEqual([]);
    expect(h.kms.keys).toHaveLength(2);
  });

  it('refuses an unknown kid and changes nothing', async () => {
    const h = await bootstrapped();
    const writes = h.store.writes;
    await expect(h.service().run({ action: 'compromised', kid: 'nope' })).rejects.toThrow(UnknownSigningKey);
    expect(h.store.writes).toBe(writes);
    expect(h.kms.keys).toHaveLength(1);
  });
});

const THROTTLED = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
/** The refusal docs/deploy.md describes: the rotation role's NeverTagExistingKeys Deny holding inside CreateKey. */
const TAG_DENIED = Object.assign(new Error('User: arn:aws:sts::…:assumed-role/rotation is not authorized to perform: kms:TagResource with an explicit deny'), {
  name: 'AccessDeniedException',
});

/** The harness's KMS with CreateKey refused. */
function refusingCreateKey(h: Harness, refusal: Error = THROTTLED): KeyManager {
  return {
    createKey: async () => {
      throw refusal;
    },
    scheduleDeletion: h.kms.scheduleDeletion.bind(h.kms),
    listRingKeys: h.kms.listRingKeys.bind(h.kms),
  };
}

async function failure(run: Promise<unknown>): Promise<Error> {
  return run.then(
    () => expect.fail('the run succeeded'),
    (error: unknown) => error as Error,
  );
}

describe('rotation service: compromise while KMS cannot make the replacement', () => {
  // The review's repro (compromise-needs-createkey): before, nothing was written and kid-1 stayed active and trusted.
  it.each([THROTTLED, TAG_DENIED])(
    'takes the compromised key out of trust anyway when CreateKey fails with $name, schedules its deletion, and says the ring has no active key',
    async (refusal) => {
      const h = await bootstrapped();
      h.clock.advanceSeconds(60);
      const error = await failure(h.service({ keys: refusingCreateKey(h, refusal) }).run({ action: 'compromised', kid: 'kid-1' }));

      expect(error).toBeInstanceOf(CompromiseNotReplaced);
      expect(error.message).toMatch(
        /^the compromise of kid-1 took effect: it no longer signs or verifies, every token it signed is revoked, its KMS key is scheduled for deletion\./,
      );
      expect(error.message).toContain(
        `making the ring's next active key failed (KMS CreateKey/GetPublicKey failed (${refusal.name}: ${refusal.message})), so, unless another run has made one since, the ring has`,
      );
      expect(error.message).toMatch(/no active key and the token endpoint answers 503 temporarily_unavailable with Retry-After until one exists/);
      expect(error.message).toMatch(/The next scheduled step \(hourly\) makes it; to make it now, invoke \{"action":"step"\}$/);
      const kid1 = h.store.items.get('kid-1')!;
      expect(kid1).toMatchObject({ state: SigningKeyState.Retired, compromisedAt: START_MS / 1000 + 60, deletionScheduledAt: START_MS / 1000 + 60 });
      expect(isVerifying(kid1, h.clock.seconds())).toBe(false);
      expect(activeSigningKey(h.store.keys())).toBeUndefined();
      expect(h.kms.find(kid1.kmsKeyArn)?.pendingDeletion).toBe(true);
      expect((await h.store.snapshot()).head.activeKid).toBeUndefined();
      expect(ringViolations(h.store.keys())).toEqual([]);
    },
  );

  it('the next scheduled step makes the missing active key, skipping the pending wait', async () => {
    const h = await bootstrapped();
    await failure(h.service({ keys: refusingCreateKey(h) }).run({ action: 'compromised', kid: 'kid-1' }));
    const status = await h.service().run({ action: 'status' });
    expect(status.ring.activeKid).toBeNull();
    expect(status.next).toMatchObject({ action: 'create-active' });

    h.clock.advanceSeconds(3600);
    const report = await h.service().run(STEP);
    // kid-2 was the id of the key KMS refused to make.
    expect(report.ring.activeKid).toBe('kid-3');
    expect(report.changes).toEqual([
      {
        kind: 'state',
        kid: 'kid-3',
        to: 'active',
        reason: 'replaces the compromised key kid-1, which left the ring without an active key; active at once, skipping the pending wait',
      },
    ]);
    expect(activeSigningKey(h.store.keys())?.kid).toBe('kid-3');
    expect((await h.store.snapshot()).head.activeKid).toBe('kid-3');
  });

  it('invoking the compromise again makes the missing active key too, changing nothing else', async () => {
    const h = await bootstrapped();
    await failure(h.service({ keys: refusingCreateKey(h) }).run({ action: 'compromised', kid: 'kid-1' }));
    const before = h.store.items.get('kid-1');
    const report = await h.service().run({ action: 'compromised', kid: 'kid-1' });
    expect(report.ring.activeKid).toBe('kid-3');
    expect(report.changes.map((change) => change.kid)).toEqual(['kid-3']);
    expect(h.store.items.get('kid-1')).toBe(before);
  });

  it('says so when the compromised key could not be scheduled for deletion either, and a failing step still schedules it', async () => {
    const h = await bootstrapped();
    h.kms.deletionFailure = Object.assign(new Error('KMS is unavailable'), { name: 'KMSInternalException' });
    const error = await failure(h.service({ keys: refusingCreateKey(h) }).run({ action: 'compromised', kid: 'kid-1' }));
    expect(error).toBeInstanceOf(CompromiseNotReplaced);
    expect(error.message).toMatch(/every token it signed is revoked, scheduling its KMS key for deletion failed too/);
    expect(h.store.items.get('kid-1')).toMatchObject({ state: SigningKeyState.Retired, compromisedAt: expect.any(Number) });
    expect(h.store.items.get('kid-1')?.deletionScheduledAt).toBeUndefined();

    // KMS deletes again but still makes no keys: the step fails on the new key, not before scheduling the deletion.
    h.kms.deletionFailure = undefined;
    h.clock.advanceSeconds(3600);
    await expect(h.service({ keys: refusingCreateKey(h) }).run(STEP)).rejects.toThrow(RotationStepFailed);
    expect(h.store.items.get('kid-1')?.deletionScheduledAt).toBe(h.clock.seconds());
    expect(h.kms.find(h.store.items.get('kid-1')!.kmsKeyArn)?.pendingDeletion).toBe(true);
    expect(activeSigningKey(h.store.keys())).toBeUndefined();
  });

  it('a compromise of a key that is not the active one needs no new key, even with a rotation due', async () => {
    const h = await bootstrapped();
    await h.service().run({ action: 'rotate' });
    h.clock.advanceSeconds(31 * DAY);
    const report = await h.service({ keys: refusingCreateKey(h) }).run({ action: 'compromised', kid: 'kid-2' });
    expect(report.ring.activeKid).toBe('kid-1');
    expect(report.changes.map((change) => [change.kind, change.kid])).toEqual([
      ['state', 'kid-2'],
      ['kms-deletion-scheduled', 'kid-2'],
    ]);
    expect(report.next).toMatchObject({ action: 'rotate', kid: 'kid-1' });
  });

  it('a compromise whose write fails says it was not applied and how to apply it', async () => {
    const h = await bootstrapped();
    h.store.commit = async () => {
      throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
    };
    const error = await failure(h.service().run({ action: 'compromised', kid: 'kid-1' }));
    expect(error).toBeInstanceOf(CompromiseNotApplied);
    expect(error.message).toBe(
      'the compromise of kid-1 was NOT applied (writing the signing-key ring failed (ProvisionedThroughputExceededException: Throughput exceeds the current capacity)): ' +
        'kid-1 is still trusted and may still sign; nothing retries a compromise by itself, invoke {"action":"compromised","kid":"kid-1"} again',
    );
    expect(h.store.items.get('kid-1')).toMatchObject({ state: SigningKeyState.Active });
    expect(h.store.items.get('kid-1')?.compromisedAt).toBeUndefined();
  });

  it('a compromise whose write fails and whose ring cannot be read says it may not have been applied', async () => {
    const h = await bootstrapped();
    const snapshot = h.store.snapshot.bind(h.store);
    let reads = 0;
    h.store.snapshot = async () => {
      reads += 1;
      if (reads > 1) throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
      return snapshot();
    };
    h.store.commit = async () => {
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };
    const error = await failure(h.service().run({ action: 'compromised', kid: 'kid-1' }));
    expect(error).toBeInstanceOf(CompromiseNotApplied);
    expect(error.message).toMatch(
      /^the compromise of kid-1 may NOT have been applied \(.*socket hang up.*\), and the ring could not be read to check: invoke \{"action":"status"\}/,
    );
  });

  it('a compromise whose ring reads fail once it landed says it took effect, not that nothing happened', async () => {
    const h = await bootstrapped();
    // A clean pending key: the compromise activates it in its own transaction.
    await h.service().run({ action: 'rotate' });
    const snapshot = h.store.snapshot.bind(h.store);
    const commit = h.store.commit.bind(h.store);
    let landed = false;
    h.store.commit = async (...args: Parameters<typeof commit>) => {
      const result = await commit(...args);
      landed = true;
      return result;
    };
    h.store.snapshot = async () => {
      if (landed) throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
      return snapshot();
    };
    const error = await failure(h.service().run({ action: 'compromised', kid: 'kid-1' }));
    expect(error).toBeInstanceOf(CompromiseUnreported);
    expect(error.message).toMatch(/^the compromise of kid-1 took effect .*invoke \{"action":"status"\}/);
    expect(h.store.items.get('kid-1')).toMatchObject({ state: SigningKeyState.Retired, compromisedAt: expect.any(Number) });
    expect(h.store.items.get('kid-2')?.state).toBe(SigningKeyState.Active);
  });

  it('a compromise whose write landed but whose reply was lost goes on to the replacement', async () => {
    const h = await bootstrapped();
    h.store.failAfterCommit = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    const report = await h.service().run({ action: 'compromised', kid: 'kid-1' });
    expect(report.ring.activeKid).toBe('kid-2');
    expect(report.problems).toEqual([
      expect.stringMatching(/^writing the compromise of kid-1 reported RotationStepFailed: .*socket hang up.*, but the ring shows it applied$/),
    ]);
    expect(h.kms.keys.filter((key) => !key.pendingDeletion)).toHaveLength(1);
    expect(h.store.items.get('kid-1')).toMatchObject({
      state: SigningKeyState.Retired,
      compromisedAt: expect.any(Number),
      deletionScheduledAt: expect.any(Number),
    });
  });
});

describe('rotation service: overlapping runs', () => {
  it('the loser of a race re-plans on the new ring and deletes the KMS key it no longer needs', async () => {
    const h = await bootstrapped();
    const winner = h.service();
    h.store.beforeCommit = async () => {
      await winner.run({ action: 'rotate' });
    };
    const loser = await h.service().run({ action: 'rotate' });

    const pending = h.store.keys().filter((key) => key.state === SigningKeyState.Pending);
    expect(pending).toHaveLength(1);
    expect(h.kms.keys).toHaveLength(3);
    const spare = h.kms.keys.find((key) => key.kmsKeyArn !== pending[0]!.kmsKeyArn && key.kid !== 'kid-1')!;
    expect(spare.pendingDeletion).toBe(true);
    expect(loser.changes).toEqual([
      expect.objectContaining({ kind: 'kms-deletion-scheduled', kid: spare.kid, reason: 'made for a ring write that another run won; not needed' }),
    ]);
  });

  it('gives up after repeated conflicts with a RingConflict, deleting its unused key', async () => {
    const h = await bootstrapped();
    const originalCommit = h.store.commit.bind(h.store);
    h.store.commit = async () => {
      throw new RingConflict(1);
    };
    await expect(h.service().run({ action: 'rotate' })).rejects.toThrow(RingConflict);
    h.store.commit = originalCommit;
    expect(h.kms.keys[1]?.pendingDeletion).toBe(true);
    expect(h.store.keys()).toHaveLength(1);
  });

  it('keeps a key whose ring write succeeded although its reply was lost', async () => {
    const h = await bootstrapped();
    h.store.failAfterCommit = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    await expect(h.service().run({ action: 'rotate' })).rejects.toThrow(RotationStepFailed);
    const pending = h.store.keys().find((key) => key.state === SigningKeyState.Pending)!;
    expect(h.kms.find(pending.kmsKeyArn)?.pendingDeletion).toBe(false);
  });

  it('a failed ring read changes nothing and says the next run retries', async () => {
    const h = await bootstrapped();
    h.store.snapshot = async () => {
      throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
    };
    await expect(h.service().run({ action: 'rotate' })).rejects.toThrow(
      /reading the signing-key ring failed \(ProvisionedThroughputExceededException: .*\); the ring is still valid and the next run retries/,
    );
    expect(h.kms.keys).toHaveLength(1);
  });
});

describe('rotation service: crash between CreateKey and the ring write', () => {
  it('leaves an orphan that reconciliation schedules for deletion once it is old enough', async () => {
    const h = await bootstrapped();
    h.kms.crashAfterCreate = true;
    h.clock.advanceSeconds(RECONCILE_INTERVAL_SECONDS);
    await expect(h.service().run({ action: 'rotate' })).rejects.toThrow(/KMS CreateKey\/GetPublicKey failed/);
    h.kms.crashAfterCreate = false;
    const orphan = h.kms.keys[1]!;
    expect(h.store.keys().map((key) => key.kmsKeyArn)).not.toContain(orphan.kmsKeyArn);

    // Too young: it may belong to a run still in flight.
    h.clock.advanceSeconds(RECONCILE_INTERVAL_SECONDS);
    await h.service().run(STEP);
    expect(orphan.pendingDeletion).toBe(false);

    h.clock.advanceSeconds(ORPHAN_MIN_AGE_SECONDS);
    const report = await h.service().run(STEP);
    expect(orphan.pendingDeletion).toBe(true);
    expect(report.reconciliation).toEqual({ ran: true, orphansScheduledForDeletion: 1 });
    expect(report.changes).toContainEqual(expect.objectContaining({ kind: 'kms-deletion-scheduled', kmsKeyArn: orphan.kmsKeyArn, kid: orphan.kid }));
  });

  it('reconciles at most once per interval, in bounded passes that resume where they stopped', async () => {
    const h = await bootstrapped();
    for (let i = 0; i < RECONCILE_MAX_KEYS + 5; i += 1) await h.kms.createKey({ kid: `stray-${i}`, keySpec: 'ECC_NIST_P256' });
    h.clock.advanceSeconds(ORPHAN_MIN_AGE_SECONDS);

    const first = await h.service().run(STEP);
    expect(first.reconciliation).toEqual({ ran: true, orphansScheduledForDeletion: RECONCILE_MAX_KEYS - 1, continuesFrom: 'next run' });
    const sameInterval = await h.service().run(STEP);
    expect(sameInterval.reconciliation).toEqual({ ran: false, orphansScheduledForDeletion: 0 });

    h.clock.advanceSeconds(RECONCILE_INTERVAL_SECONDS);
    const second = await h.service().run(STEP);
    expect(second.reconciliation).toEqual({ ran: true, orphansScheduledForDeletion: 6 });
    expect(h.kms.keys.filter((key) => !key.pendingDeletion).map((key) => key.kid)).toEqual([activeKid(h)]);
  });

  it('a failed reconciliation is reported, does not block the ring, and is retried by the next run', async () => {
    const h = await bootstrapped();
    const list = h.kms.listRingKeys.bind(h.kms);
    h.kms.listRingKeys = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };
    h.clock.advanceSeconds(30 * DAY);
    const failed = await h.service().run(STEP);
    expect(failed.problems).toEqual(['reconciling KMS keys failed (ThrottlingException: Rate exceeded); the next run retries']);
    expect(failed.changes).toEqual([expect.objectContaining({ to: 'pending' })]);
    expect(h.warnings.messages).toEqual(failed.problems);

    h.kms.listRingKeys = list;
    expect((await h.service().run(STEP)).reconciliation?.ran).toBe(true);
  });

  it('rotate leaves reconciliation to the schedule, so the admin API gets its answer quickly', async () => {
    const h = await bootstrapped();
    h.clock.advanceSeconds(RECONCILE_INTERVAL_SECONDS);
    let listed = false;
    h.kms.listRingKeys = async () => {
      listed = true;
      return { keys: [] };
    };
    expect((await h.service().run({ action: 'rotate' })).reconciliation).toBeNull();
    expect(listed).toBe(false);
  });
});

describe('rotation service: KMS deletion failures', () => {
  it('leave the key retired without a deletion date and are retried by the next run', async () => {
    const h = await bootstrapped();
    h.kms.deletionFailure = Object.assign(new Error('KMS is unavailable'), { name: 'KMSInternalException' });
    const report = await h.service().run({ action: 'compromised', kid: 'kid-1' });
    expect(report.problems).toEqual(['scheduling deletion of retired key kid-1 failed (KMSInternalException: KMS is unavailable); the next run retries']);
    expect(report.next).toMatchObject({ action: 'schedule-deletion', kid: 'kid-1' });
    expect(h.store.items.get('kid-1')?.deletionScheduledAt).toBeUndefined();
    expect(h.metrics.last(RotationMetric.problems)).toBe(1);

    h.kms.deletionFailure = undefined;
    await h.service().run(STEP);
    expect(h.store.items.get('kid-1')?.deletionScheduledAt).toBeDefined();
    expect(h.kms.keys[0]?.pendingDeletion).toBe(true);
  });
});

describe('rotation service: credential hygiene', () => {
  const now = START_MS / 1000;

  function seedFindings(h: Harness): void {
    h.hygiene.expiring = [
      { keyId: 'key_aaaaaaaaaaaaaaaaaaaa', clientId: 'orders-app', expiresAt: now + 3 * DAY + 5 },
      { keyId: 'key_bbbbbbbbbbbbbbbbbbbb', clientId: 'orders-app', expiresAt: now + 20 * DAY },
    ];
    h.hygiene.stale = [
      { keyId: 'key_cccccccccccccccccccc', clientId: 'billing', lastUsedAt: now - 100 * DAY },
      { keyId: 'key_dddddddddddddddddddd', clientId: 'billing', lastUsedAt: now - 10 * DAY },
    ];
  }

  it('a step finds expiring and stale keys, counts them and publishes them once per UTC day', async () => {
    const h = harness();
    seedFindings(h);
    const report = await h.service().run(STEP);

    expect(report.hygiene).toEqual({
      expiringWithinDays: 14,
      unusedForDays: 90,
      expiring: [{ keyId: 'key_aaaaaaaaaaaaaaaaaaaa', clientId: 'orders-app', expiresAt: '2025-01-04T00:00:05.000Z' }],
      stale: [{ keyId: 'key_cccccccccccccccccccc', clientId: 'billing', lastUsedAt: '2024-09-23T00:00:00.000Z' }],
      truncated: false,
      events: 2,
    });
    expect(h.events.published).toEqual([
      [
        {
          detailType: HygieneEvent.keyExpiring,
          detail: { keyId: 'key_aaaaaaaaaaaaaaaaaaaa', clientId: 'orders-app', expiresAt: now + 3 * DAY + 5, expiresInDays: 3 },
          time: now,
        },
        {
          detailType: HygieneEvent.keyStale,
          detail: { keyId: 'key_cccccccccccccccccccc', clientId: 'billing', lastUsedAt: now - 100 * DAY, unusedDays: 100 },
          time: now,
        },
      ],
    ]);
    expect(h.metrics.last(HygieneMetric.expiring)).toBe(1);
    expect(h.metrics.last(HygieneMetric.stale)).toBe(1);
    expect(h.metrics.last(HygieneMetric.eventsPublished)).toBe(2);

    h.clock.advanceSeconds(23 * 3600);
    expect((await h.service().run(STEP)).hygiene?.events).toBe('published earlier today');
    h.clock.advanceSeconds(3600);
    expect((await h.service().run(STEP)).hygiene?.events).toBe(2);
    expect(h.events.published).toHaveLength(2);
  });

  it('status and rotate report findings without publishing', async () => {
    const h = harness();
    seedFindings(h);
    await h.service().run({ action: 'rotate' });
    const status = await h.service().run({ action: 'status' });
    expect(status.hygiene?.events).toBe('only on step');
    expect(status.hygiene?.expiring).toHaveLength(1);
    expect(h.events.published).toEqual([]);
  });

  it('a failed publication is reported and retried by the next run the same day', async () => {
    const h = harness();
    seedFindings(h);
    h.events.failure = Object.assign(new Error('EventBridge refused 2 event(s): ThrottlingException'), { name: 'EventPublishFailed' });
    const failed = await h.service().run(STEP);
    expect(failed.hygiene?.events).toBe('failed');
    expect(failed.problems).toEqual([
      'publishing 2 hygiene event(s) failed (EventPublishFailed: EventBridge refused 2 event(s): ThrottlingException); the next run retries',
    ]);

    h.events.failure = undefined;
    h.clock.advanceSeconds(3600);
    expect((await h.service().run(STEP)).hygiene?.events).toBe(2);
  });

  it('a failed index read is a problem of the report, not a failed run', async () => {
    const h = harness();
    h.hygiene.failure = Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' });
    const report = await h.service().run(STEP);
    expect(report.hygiene).toBeNull();
    expect(report.ring.activeKid).toBe('kid-1');
    expect(report.problems).toEqual(['reading API-key hygiene failed (ResourceNotFoundException: Requested resource not found); the next run retries']);
  });
});
