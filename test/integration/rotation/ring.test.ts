/**
 * The rotation function against DynamoDB Local and the local KMS endpoint over real HTTP,
 * with the real SDK clients and adapters and an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { GetPublicKeyCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { createPublicKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { Defaults } from '../../../common/defaults';
import { RING_HEAD_KID, SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { KMS_TAG_APPLICATION_VALUE, KmsTag, type KeySpec } from '../../../common/tokens';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import { KmsKeyManager } from '../../../lambda/adapters/kms-key-manager';
import { ringViolations, type RingTransition } from '../../../lambda/core/rotation/key-ring';
import { CompromiseNotReplaced, RingConflict, UnknownSigningKey } from '../../../lambda/core/rotation/rotation-errors';
import { ORPHAN_MIN_AGE_SECONDS, RECONCILE_INTERVAL_SECONDS } from '../../../lambda/core/rotation/rotation-reconcile';
import type { KeyManager } from '../../../lambda/core/rotation/rotation-ports';
import { isVerifying, verificationKeys } from '../../../lambda/core/rotation/signing-keys';
import { freshTables, kmsClient, type TestTables } from '../../support/aws';
import { ringKey } from '../../unit/rotation/fixtures';
import { kmsKeyState, rotationApp, signAccessToken, TestClock, TOKEN_AUDIENCE, TOKEN_ISSUER } from './support';
import * as Setting from '../../../common/settings';

const PENDING = 600;
const RETIRING = Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds + 60;

function store(tables: TestTables): DynamoSigningKeyStore {
  return new DynamoSigningKeyStore(tables.doc, tables.names.signingKeys);
}

async function activeKey(tables: TestTables): Promise<SigningKeyRecord> {
  const keys = await store(tables).load();
  return keys.find((key) => key.state === SigningKeyState.Active)!;
}

/** A fresh ring after its first step, and the key that step made active. */
async function bootstrappedRing() {
  const tables = await freshTables();
  const clock = new TestClock();
  const app = rotationApp(tables, clock);
  await app.handle({ action: 'step' });
  return { tables, kms: kmsClient(), clock, app, victim: await activeKey(tables) };
}

/** Records every KMS key made through the port, so a test can account for each one. */
function recordingKeys(made: string[]): (real: KeyManager) => KeyManager {
  return (real) => ({
    createKey: async (request) => {
      const created = await real.createKey(request);
      made.push(created.kmsKeyArn);
      return created;
    },
    scheduleDeletion: (arn, days) => real.scheduleDeletion(arn, days),
    listRingKeys: (request) => real.listRingKeys(request),
  });
}

describe('ring store (DynamoDB Local)', () => {
  const record = (kid: string, state: SigningKeyState) => ringKey(kid, state);
  const transition = (expectedVersion: number, created: SigningKeyRecord[], updated: RingTransition['updated'] = []): RingTransition => ({
    expectedVersion,
    activeKid: created.find((key) => key.state === 'active')?.kid ?? updated.find((u) => u.after.state === 'active')?.after.kid,
    created,
    updated,
    changes: [],
  });

  it('commits a transition atomically and refuses one planned on an older version, changing nothing', async () => {
    const tables = await freshTables();
    const ring = store(tables);
    await ring.commit(transition(0, [record('a', SigningKeyState.Active)]));
    expect(await ring.snapshot()).toMatchObject({ version: 1, head: { version: 1, activeKid: 'a' } });

    await expect(ring.commit(transition(0, [record('b', SigningKeyState.Active)]))).rejects.toThrow(RingConflict);
    const a = record('a', SigningKeyState.Active);
    const stale = { before: { ...a, version: 7 }, after: { ...a, state: SigningKeyState.Retiring, version: 8 } };
    await expect(ring.commit(transition(1, [record('c', SigningKeyState.Pending)], [stale]))).rejects.toThrow(RingConflict);
    await expect(ring.commit(transition(1, [record('a', SigningKeyState.Pending)]))).rejects.toThrow(RingConflict);

    expect((await ring.load()).map((key) => key.kid)).toEqual(['a']);
    expect((await ring.snapshot()).version).toBe(1);
  });

  it('keeps load() to the keys: the head item never reaches the issuer or the authorizer', async () => {
    const tables = await freshTables();
    const ring = store(tables);
    await ring.commit(transition(0, [record('a', SigningKeyState.Active)]));
    await ring.claimPeriod('hygiene', 5);
    const loaded = await ring.load();
    expect(loaded.map((key) => key.kid)).toEqual(['a']);
    expect(loaded[0]).not.toHaveProperty('ring');
    expect(loaded.some((key) => key.kid === RING_HEAD_KID)).toBe(false);
  });

  it('replaces and removes a key only if it is unchanged since it was read', async () => {
    const tables = await freshTables();
    const ring = store(tables);
    const a = record('a', SigningKeyState.Active);
    await ring.commit(transition(0, [a]));
    expect(await ring.replaceKey({ before: a, after: { ...a, deletionScheduledAt: 1, version: 2 } })).toBe(true);
    expect(await ring.replaceKey({ before: a, after: { ...a, deletionScheduledAt: 2, version: 2 } })).toBe(false);
    expect(await ring.removeKey(a)).toBe(false);
    expect(await ring.removeKey({ ...a, version: 2 })).toBe(true);
    expect(await ring.load()).toEqual([]);
  });

  it('lets one run claim a periodic job per period, and gives a released claim back', async () => {
    const tables = await freshTables();
    const ring = store(tables);
    expect(await ring.claimPeriod('reconcile', 10)).toBe(true);
    expect(await ring.claimPeriod('reconcile', 10)).toBe(false);
    expect(await ring.claimPeriod('hygiene', 10)).toBe(true);
    await ring.releasePeriod('reconcile', 10);
    expect(await ring.claimPeriod('reconcile', 10)).toBe(true);
    expect(await ring.claimPeriod('reconcile', 11)).toBe(true);
    // The claims live on the head without giving it a version: the first transition still starts at 0.
    await ring.commit(transition(0, [record('a', SigningKeyState.Active)]));
    await ring.saveReconcileCursor('marker-1');
    expect((await ring.snapshot()).head).toEqual({ version: 1, activeKid: 'a', reconcileCursor: 'marker-1' });
    await ring.saveReconcileCursor(undefined);
    expect((await ring.snapshot()).head).toEqual({ version: 1, activeKid: 'a' });
  });
});

describe('rotation function (DynamoDB Local + local KMS)', () => {
  it.each(['ECC_NIST_P256', 'RSA_2048'] as const)('bootstraps a %s key, tagged as the ring’s, with its public key stored', async (keySpec) => {
    const tables = await freshTables();
    const kms = kmsClient();
    const report = await rotationApp(tables, new TestClock(), { env: { [Setting.keySpec.env]: keySpec } }).handle({ action: 'step' });

    const key = await activeKey(tables);
    expect(report.ring.activeKid).toBe(key.kid);
    expect(key).toMatchObject({ keySpec, alg: keySpec === 'RSA_2048' ? 'RS256' : 'ES256', version: 1 });
    const { PublicKey, KeyUsage } = await kms.send(new GetPublicKeyCommand({ KeyId: key.kmsKeyArn }));
    expect(KeyUsage).toBe('SIGN_VERIFY');
    expect(key.publicKey).toBe(Buffer.from(PublicKey!).toString('base64'));
    expect(createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' }).type).toBe('public');
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: key.kmsKeyArn }));
    expect(Object.fromEntries(Tags!.map((tag) => [tag.TagKey, tag.TagValue]))).toEqual({
      [KmsTag.application]: KMS_TAG_APPLICATION_VALUE,
      [KmsTag.ring]: tables.names.signingKeys,
      [KmsTag.kid]: key.kid,
    });
  });

  it('100 rounds of two overlapping invocations leave exactly one active key and no orphaned KMS key', async () => {
    const tables = await freshTables();
    const kms = kmsClient();
    const clock = new TestClock();
    const made: string[] = [];
    const [first, second] = [0, 1].map(() => rotationApp(tables, clock, { keyManager: recordingKeys(made) }));
    await first!.handle({ action: 'step' });
    const pairs: [object, object][] = [
      [{ action: 'rotate' }, { action: 'rotate' }],
      [{ action: 'step' }, { action: 'rotate' }],
      [{ action: 'step' }, { action: 'step' }],
      [{ action: 'rotate' }, { action: 'status' }],
    ];
    let compromises = 0;
    const deleting = new Set<string>();

    for (let round = 0; round < 100; round += 1) {
      clock.advance(200);
      let pair = pairs[round % pairs.length]!;
      if (round % 25 === 24) {
        const kid = (await activeKey(tables)).kid;
        pair = [
          { action: 'compromised', kid },
          { action: 'compromised', kid },
        ];
        compromises += 1;
      }
      await Promise.all([first!.handle(pair[0]), second!.handle(pair[1])]);

      const keys = await store(tables).load();
      expect(ringViolations(keys), `round ${round}`).toEqual([]);
      expect(
        keys.filter((key) => key.state === SigningKeyState.Active),
        `round ${round}`,
      ).toHaveLength(1);
      const inRing = new Set(keys.map((key) => key.kmsKeyArn));
      for (const arn of made.filter((candidate) => !inRing.has(candidate) && !deleting.has(candidate))) {
        expect(await kmsKeyState(kms, arn), `round ${round}: ${arn} is orphaned`).toBe('PendingDeletion');
        // Nothing cancels a deletion, so a key seen pending deletion need not be asked about again.
        deleting.add(arn);
      }
    }

    // The races happened: more keys were made than the ring ever held, and the extras are scheduled for deletion.
    const keys = await store(tables).load();
    expect(made.length).toBeGreaterThan(new Set(keys.map((key) => key.kmsKeyArn)).size);
    expect(keys.filter((key) => key.compromisedAt !== undefined)).toHaveLength(compromises);
    // Tag-based view of the same: every live KMS key of this ring is in the ring.
    const tagged = await new KmsKeyManager(kms, tables.names.signingKeys, Setting.keyDeletionWindowDays.default).listRingKeys({ maxKeys: 100_000 });
    const inRing = new Set(keys.map((key) => key.kmsKeyArn));
    expect(tagged.keys.filter((key) => !key.pendingDeletion && !inRing.has(key.kmsKeyArn))).toEqual([]);
    expect(tagged.keys.map((key) => key.kmsKeyArn).sort()).toEqual([...made].sort());
  }, 300_000);

  it.each(['ECC_NIST_P256', 'RSA_2048'] as const)(
    'a %s token issued just before a rotation verifies against the ring through its whole lifetime',
    async (keySpec: KeySpec) => {
      const tables = await freshTables();
      const kms = kmsClient();
      const clock = new TestClock();
      const app = rotationApp(tables, clock, { env: { [Setting.keySpec.env]: keySpec } });
      await app.handle({ action: 'step' });
      const signer = await activeKey(tables);
      const iat = clock.seconds();
      const token = await signAccessToken(kms, signer, iat, Setting.tokenTtlSeconds.max);
      const exp = iat + Setting.tokenTtlSeconds.max;

      clock.advance(1);
      await app.handle({ action: 'rotate' });
      clock.advance(PENDING);
      const switched = await app.handle({ action: 'step' });
      expect(switched.ring.activeKid).not.toBe(signer.kid);

      const moments = [iat + PENDING + 1, iat + 1800, exp - 1, exp, exp + Defaults.clockSkewSeconds - 1];
      for (const moment of moments) {
        clock.set(moment);
        await app.handle({ action: 'step' });
        const { keys } = verificationKeys(await store(tables).load(), moment);
        const key = keys.get(signer.kid);
        expect(key, `no verifying key for ${signer.kid} at exp${moment - exp >= 0 ? '+' : ''}${moment - exp}`).toBeDefined();
        const verified = await jwtVerify(token, key!.key, {
          algorithms: [key!.alg],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          typ: 'at+jwt',
          currentDate: new Date(moment * 1000),
          clockTolerance: Defaults.clockSkewSeconds,
        });
        expect(verified.protectedHeader.kid).toBe(signer.kid);
      }

      // Once every token it signed has expired, the old key retires and its KMS key is scheduled for deletion.
      clock.set(iat + 1 + PENDING + RETIRING);
      await app.handle({ action: 'step' });
      const retired = (await store(tables).load()).find((key) => key.kid === signer.kid)!;
      expect(retired.state).toBe(SigningKeyState.Retired);
      expect(isVerifying(retired, clock.seconds())).toBe(false);
      expect(await kmsKeyState(kms, signer.kmsKeyArn)).toBe('PendingDeletion');
    },
    60_000,
  );

  it('compromised sets compromisedAt, activates a new key at once, and the old kid stops verifying', async () => {
    const { tables, kms, clock, app, victim } = await bootstrappedRing();
    const token = await signAccessToken(kms, victim, clock.seconds(), 900);
    expect(verificationKeys(await store(tables).load(), clock.seconds()).keys.has(victim.kid)).toBe(true);

    clock.advance(30);
    const report = await app.handle({ action: 'compromised', kid: victim.kid });

    const keys = await store(tables).load();
    const old = keys.find((key) => key.kid === victim.kid)!;
    expect(old).toMatchObject({ state: SigningKeyState.Retired, compromisedAt: clock.seconds() });
    expect(isVerifying(old, clock.seconds())).toBe(false);
    const replacement = keys.find((key) => key.state === SigningKeyState.Active)!;
    expect(replacement.kid).not.toBe(victim.kid);
    expect(replacement.activatedAt).toBe(clock.seconds());
    expect(report.ring.activeKid).toBe(replacement.kid);
    expect(verificationKeys(keys, clock.seconds()).keys.has(victim.kid)).toBe(false);
    // The key cannot sign anything more either: KMS refuses a key pending deletion.
    expect(await kmsKeyState(kms, victim.kmsKeyArn)).toBe('PendingDeletion');
    await expect(signAccessToken(kms, victim, clock.seconds(), 900)).rejects.toThrow(/pending deletion/);
    expect(token.split('.')).toHaveLength(3);
  });

  it('compromised after an operator already scheduled the key for deletion in KMS: found scheduled, recorded, no problem', async () => {
    const { tables, kms, clock, app, victim } = await bootstrappedRing();
    // The operator's first move in the console; the run then meets KMS's invalid-state refusal
    // through the function's own (bounded) client, which reports it as a dependency failure.
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: victim.kmsKeyArn, PendingWindowInDays: 7 }));

    clock.advance(30);
    const report = await app.handle({ action: 'compromised', kid: victim.kid });

    expect(report.problems).toEqual([]);
    expect(report.changes).toContainEqual(
      expect.objectContaining({ kind: 'kms-deletion-scheduled', kid: victim.kid, reason: 'retired; KMS reported it already-scheduled' }),
    );
    const old = (await store(tables).load()).find((key) => key.kid === victim.kid)!;
    expect(old).toMatchObject({ state: SigningKeyState.Retired, compromisedAt: clock.seconds(), deletionScheduledAt: clock.seconds() });
    expect(await kmsKeyState(kms, victim.kmsKeyArn)).toBe('PendingDeletion');
  });

  it('compromised while KMS refuses CreateKey: the compromise is written alone, the head loses its active kid, the next step replaces it', async () => {
    const tables = await freshTables();
    const kms = kmsClient();
    const clock = new TestClock();
    await rotationApp(tables, clock).handle({ action: 'step' });
    const victim = await activeKey(tables);
    const refusing = rotationApp(tables, clock, {
      keyManager: (real) => ({
        createKey: async () => {
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        },
        scheduleDeletion: (arn, days) => real.scheduleDeletion(arn, days),
        listRingKeys: (request) => real.listRingKeys(request),
      }),
    });

    clock.advance(30);
    const error = await refusing.handle({ action: 'compromised', kid: victim.kid }).then(
      () => expect.fail('the run succeeded'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(CompromiseNotReplaced);
    expect(error.message).toMatch(
      new RegExp(`^the compromise of ${victim.kid} took effect: .*its KMS key is scheduled for deletion\\. But making the ring's next active key failed`),
    );
    const after = await store(tables).snapshot();
    expect(after.head.activeKid).toBeUndefined();
    expect(after.keys).toEqual([
      expect.objectContaining({ kid: victim.kid, state: SigningKeyState.Retired, compromisedAt: clock.seconds(), deletionScheduledAt: clock.seconds() }),
    ]);
    expect(ringViolations(after.keys)).toEqual([]);
    expect(verificationKeys(after.keys, clock.seconds()).keys.size).toBe(0);
    expect(await kmsKeyState(kms, victim.kmsKeyArn)).toBe('PendingDeletion');

    clock.advance(3_600);
    const report = await rotationApp(tables, clock).handle({ action: 'step' });
    const replacement = await activeKey(tables);
    expect(replacement.activatedAt).toBe(clock.seconds());
    expect(report.ring.activeKid).toBe(replacement.kid);
    expect((await store(tables).snapshot()).head.activeKid).toBe(replacement.kid);
    expect(await kmsKeyState(kms, replacement.kmsKeyArn)).toBe('Enabled');
  });

  it('compromised with an unknown kid fails with a clear error and changes nothing', async () => {
    const tables = await freshTables();
    const app = rotationApp(tables, new TestClock());
    await app.handle({ action: 'step' });
    const before = await store(tables).snapshot();
    await expect(app.handle({ action: 'compromised', kid: 'no-such-kid' })).rejects.toThrow(UnknownSigningKey);
    await expect(app.handle({ action: 'compromised', kid: 'no-such-kid' })).rejects.toThrow(/no signing key with kid "no-such-kid"/);
    expect(await store(tables).snapshot()).toEqual(before);
  });

  it('a crash between CreateKey and the ring write leaves an orphan that a later run schedules for deletion', async () => {
    const tables = await freshTables();
    const kms = kmsClient();
    const clock = new TestClock();
    await rotationApp(tables, clock).handle({ action: 'step' });
    const orphans: string[] = [];
    const crashing = rotationApp(tables, clock, {
      keyManager: (real) => ({
        ...real,
        createKey: async (request) => {
          orphans.push((await real.createKey(request)).kmsKeyArn);
          throw Object.assign(new Error('Task timed out after 30.00 seconds'), { name: 'Sandbox.Timedout' });
        },
        scheduleDeletion: (arn, days) => real.scheduleDeletion(arn, days),
        listRingKeys: (request) => real.listRingKeys(request),
      }),
    });
    await expect(crashing.handle({ action: 'rotate' })).rejects.toThrow(/KMS CreateKey\/GetPublicKey failed \(Sandbox.Timedout/);
    const [orphan] = orphans;
    expect(await kmsKeyState(kms, orphan!)).toBe('Enabled');
    expect((await store(tables).load()).map((key) => key.kmsKeyArn)).not.toContain(orphan);

    const app = rotationApp(tables, clock);
    clock.advance(ORPHAN_MIN_AGE_SECONDS);
    // The local KMS holds every test's keys; a pass inspects a bounded number, so let passes run to the end.
    for (let pass = 0; pass < 20; pass += 1) {
      clock.advance(RECONCILE_INTERVAL_SECONDS);
      const report = await app.handle({ action: 'step' });
      if (report.reconciliation?.ran && !report.reconciliation.continuesFrom) break;
    }
    expect(await kmsKeyState(kms, orphan!)).toBe('PendingDeletion');
    const keys = await store(tables).load();
    expect(keys).toHaveLength(1);
    expect(await kmsKeyState(kms, keys[0]!.kmsKeyArn)).toBe('Enabled');
  }, 120_000);
});
