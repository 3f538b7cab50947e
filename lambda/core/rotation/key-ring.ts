/**
 * The signing-key ring as a state machine (docs/rotation.md): pending → active → retiring →
 * retired. Pure: the ring, the intent and the time come in, the write to make comes out.
 *
 * Timing rules, all in epoch seconds:
 * - a new key is `pending` (published, never signing) for `pendingSeconds`, so every
 *   authorizer (ring refresh) and every outside verifier (JWKS cache) knows it before the
 *   first token it signs arrives;
 * - the old active key becomes `retiring` at that moment and verifies until `verifyUntil`
 *   = retiringAt + `retiringSeconds` (longest token lifetime + skew + signer lag), so no
 *   token it signed can outlive its key;
 * - then `retired`; its KMS key is scheduled for deletion and, once KMS has deleted it,
 *   its record leaves the ring;
 * - exactly one key is active once the ring holds any key, except right after the active
 *   key was compromised when no clean pending key could replace it: the compromise is
 *   written on its own (it must never wait on KMS), and the replacement, which needs a new
 *   KMS key, is the next transition.
 */
import { randomBytes } from 'node:crypto';
import { pendingPublicationSeconds, retiringVerificationSeconds, SECONDS_PER_DAY } from '../../../common/defaults';
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { SIGNING_ALGORITHMS, type KeySpec } from '../../../common/tokens';
import { RingInvariantViolation, UnknownSigningKey } from './rotation-errors';

/** KMS deletes a key when its waiting period ends; a week later the record is only history. */
const PRUNE_GRACE_DAYS = 7;

export interface RingTimingInput {
  readonly rotationIntervalDays: number;
  readonly keyDeletionWindowDays: number;
  /** The authorizers' ring refresh interval. */
  readonly keyRingRefreshSeconds: number;
  /** The verifiers' leeway on `exp`. */
  readonly clockSkewSeconds: number;
  /** Replaces the default pending window (local mode); the caller has checked its floor. */
  readonly pendingSecondsOverride?: number;
}

export interface RingTiming {
  /** A pending key activates no earlier than this long after it was published. */
  readonly pendingSeconds: number;
  /** A retiring key verifies this long after it stopped signing. */
  readonly retiringSeconds: number;
  /** An active key is replaced once it has been active this long. */
  readonly rotationIntervalSeconds: number;
  /** KMS waiting period before a retired key's material is destroyed (7–30). */
  readonly deletionWindowDays: number;
  /** A retired key's record leaves the ring this long after its deletion was scheduled. */
  readonly pruneAfterSeconds: number;
}

export function ringTiming(input: RingTimingInput): RingTiming {
  return {
    pendingSeconds: input.pendingSecondsOverride ?? pendingPublicationSeconds(input.keyRingRefreshSeconds),
    retiringSeconds: retiringVerificationSeconds(input.clockSkewSeconds),
    rotationIntervalSeconds: input.rotationIntervalDays * SECONDS_PER_DAY,
    deletionWindowDays: input.keyDeletionWindowDays,
    pruneAfterSeconds: (input.keyDeletionWindowDays + PRUNE_GRACE_DAYS) * SECONDS_PER_DAY,
  };
}

export interface RingState {
  /** Optimistic-lock version of the ring head; 0 before the ring was first written. */
  readonly version: number;
  readonly keys: readonly SigningKeyRecord[];
}

/** What an invocation asks of the ring. */
export type RingIntent = { readonly kind: 'step' } | { readonly kind: 'rotate' } | { readonly kind: 'compromised'; readonly kid: string };

/** A KMS key made for the ring and not yet written to it. */
export interface NewKeyMaterial {
  readonly kid: string;
  readonly keySpec: KeySpec;
  readonly kmsKeyArn: string;
  /** Base64 DER SubjectPublicKeyInfo. */
  readonly publicKey: string;
}

/** The state a new key enters the ring in: pending normally, active on bootstrap or after a compromise. */
export type NewKeyRole = typeof SigningKeyState.Pending | typeof SigningKeyState.Active;

export interface StateChange {
  readonly kid: string;
  /** Absent when the key was created by this transition. */
  readonly from?: SigningKeyState;
  readonly to: SigningKeyState;
  readonly reason: string;
}

export interface KeyUpdate {
  readonly before: SigningKeyRecord;
  /** The whole new record, `version` one above `before.version`. */
  readonly after: SigningKeyRecord;
}

/** One atomic write to the ring: conditional on the head's version and on every item touched. */
export interface RingTransition {
  readonly expectedVersion: number;
  readonly activeKid: string | undefined;
  readonly created: readonly SigningKeyRecord[];
  readonly updated: readonly KeyUpdate[];
  readonly changes: readonly StateChange[];
}

export interface RingPlan {
  /** Set when the plan needs a new KMS key and none was supplied: make one and plan again. */
  readonly needs?: NewKeyRole;
  readonly transition: RingTransition;
}

/**
 * Plans the next write. Without `newKey`, `needs` says whether (and in which role) a new
 * key would be used; with it, the plan uses the key if, and only if, it still needs one.
 *
 * A `compromised` plan never needs a new key: the compromise is what must take effect now,
 * and KMS CreateKey (a low per-account quota, the first thing to throttle when things go
 * wrong) must not be able to hold it back. Whatever the ring still needs afterwards (a new
 * active key when no clean pending key could take over) is planned by a `step`.
 */
export function planRing(ring: RingState, intent: RingIntent, nowSeconds: number, timing: RingTiming, newKey?: NewKeyMaterial): RingPlan {
  const draft = new RingDraft(ring.keys, nowSeconds, timing);
  const replacing = retireCompromised(draft, intent.kind === 'compromised' ? intent.kid : undefined);
  demoteExtraActives(draft);
  retireExpired(draft);
  const compromise = intent.kind === 'compromised';
  const usable = compromise ? undefined : newKey;
  const wanted = ensureActive(draft, usable, replacing) ?? startRotation(draft, intent, usable);
  const needs = compromise ? undefined : wanted;
  const transition = draft.transition(ring.version);
  if (!needs && !isEmptyTransition(transition)) assertWritable(draft.keys());
  return needs ? { needs, transition } : { transition };
}

export function isEmptyTransition(transition: RingTransition): boolean {
  return transition.created.length === 0 && transition.updated.length === 0;
}

/** Whether the transition writes the new key `kid` (a plan drops a key it no longer needs). */
export function usesNewKey(transition: RingTransition, kid: string): boolean {
  return transition.created.some((record) => record.kid === kid);
}

/**
 * Retires the compromised key `kid` (if given) and any key marked compromised but still
 * verifying (only a manual edit leaves one). Returns why the active key is being replaced
 * when one of them was the active key.
 */
function retireCompromised(draft: RingDraft, kid: string | undefined): string | undefined {
  if (kid !== undefined && !draft.get(kid))
    throw new UnknownSigningKey(
      kid,
      draft.keys().map((key) => key.kid),
    );
  const victims = draft
    .keys()
    .filter((key) => (key.kid === kid && key.compromisedAt === undefined) || (key.compromisedAt !== undefined && key.state !== SigningKeyState.Retired));
  let replacing: string | undefined;
  for (const victim of victims) {
    if (victim.state === SigningKeyState.Active) replacing = `replaces the compromised key ${victim.kid} at once, skipping the pending wait`;
    draft.update(
      victim.kid,
      { state: SigningKeyState.Retired, compromisedAt: victim.compromisedAt ?? draft.now, retiredAt: victim.retiredAt ?? draft.now },
      'compromised: no longer trusted; every token it signed is revoked',
    );
  }
  return replacing;
}

/** Repairs a ring with several active keys (only a manual edit makes one): the newest stays. */
function demoteExtraActives(draft: RingDraft): void {
  const [, ...older] = draft.inState(SigningKeyState.Active).sort((a, b) => activeSince(b) - activeSince(a));
  for (const record of older) draft.startRetiring(record.kid, 'repair: the ring had more than one active key');
}

function retireExpired(draft: RingDraft): void {
  for (const record of draft.inState(SigningKeyState.Retiring)) {
    if (record.verifyUntil === undefined) {
      draft.update(record.kid, { verifyUntil: draft.now + draft.timing.retiringSeconds }, 'repair: retiring key had no verifyUntil');
    } else if (draft.now >= record.verifyUntil) {
      draft.update(record.kid, { state: SigningKeyState.Retired, retiredAt: draft.now }, 'every token it signed has expired');
    }
  }
}

function ensureActive(draft: RingDraft, newKey: NewKeyMaterial | undefined, replacing: string | undefined): NewKeyRole | undefined {
  const active = draft.inState(SigningKeyState.Active)[0];
  const pending = draft.inState(SigningKeyState.Pending).sort((a, b) => (a.activateAt ?? 0) - (b.activateAt ?? 0));
  if (!active) {
    const next = pending[0];
    if (next) {
      draft.activate(next.kid, replacing ?? 'repair: the ring had no active key');
      return undefined;
    }
    if (!newKey) return SigningKeyState.Active;
    draft.create(newRecord(newKey, SigningKeyState.Active, draft), replacing ?? missingActiveReason(draft.keys()));
    return undefined;
  }
  const due = pending.find((record) => draft.now >= (record.activateAt ?? 0));
  if (due) {
    draft.startRetiring(active.kid, `replaced by ${due.kid}`);
    draft.activate(due.kid, `published since ${iso(due.createdAt)}: every verifier knows it`);
  }
  return undefined;
}

/** Why a new key becomes active at once, skipping the pending wait, in a ring without an active key. */
function missingActiveReason(keys: readonly SigningKeyRecord[]): string {
  if (keys.length === 0) return 'bootstrap: the first key of an empty ring';
  const victim = lastCompromisedActive(keys);
  if (victim) return `replaces the compromised key ${victim.kid}, which left the ring without an active key; active at once, skipping the pending wait`;
  return 'repair: the ring had no active key; active at once, skipping the pending wait';
}

/** The most recently compromised key that was the active key when it was compromised. */
function lastCompromisedActive(keys: readonly SigningKeyRecord[]): SigningKeyRecord | undefined {
  // Activated and never retiring: it was signing when the compromise retired it.
  const victims = keys.filter((key) => key.compromisedAt !== undefined && key.activatedAt !== undefined && key.retiringAt === undefined);
  return victims.sort((a, b) => (b.compromisedAt ?? 0) - (a.compromisedAt ?? 0))[0];
}

function startRotation(draft: RingDraft, intent: RingIntent, newKey: NewKeyMaterial | undefined): NewKeyRole | undefined {
  if (draft.inState(SigningKeyState.Pending).length > 0 || draft.activeChanged()) return undefined;
  const active = draft.inState(SigningKeyState.Active)[0];
  if (!active) return undefined;
  const ageDays = Math.floor((draft.now - activeSince(active)) / SECONDS_PER_DAY);
  const due = intent.kind === 'rotate' || draft.now - activeSince(active) >= draft.timing.rotationIntervalSeconds;
  if (!due) return undefined;
  if (!newKey) return SigningKeyState.Pending;
  const reason = intent.kind === 'rotate' ? 'rotation requested' : `active key ${active.kid} has been active for ${ageDays} days`;
  draft.create(newRecord(newKey, SigningKeyState.Pending, draft), `${reason}; activates after ${draft.timing.pendingSeconds} s of publication`);
  return undefined;
}

function newRecord(key: NewKeyMaterial, role: NewKeyRole, draft: RingDraft): SigningKeyRecord {
  const base = {
    kid: key.kid,
    alg: SIGNING_ALGORITHMS[key.keySpec].alg,
    keySpec: key.keySpec,
    kmsKeyArn: key.kmsKeyArn,
    publicKey: key.publicKey,
    createdAt: draft.now,
    version: 1,
  };
  return role === SigningKeyState.Active
    ? { ...base, state: SigningKeyState.Active, activatedAt: draft.now }
    : { ...base, state: SigningKeyState.Pending, activateAt: draft.now + draft.timing.pendingSeconds };
}

/** When the key started signing (seeded keys may lack `activatedAt`). */
export function activeSince(record: SigningKeyRecord): number {
  return record.activatedAt ?? record.createdAt;
}

/** The working copy of a ring during planning, recording every change it makes. */
class RingDraft {
  private readonly original: ReadonlyMap<string, SigningKeyRecord>;
  private readonly current: Map<string, SigningKeyRecord>;
  private readonly createdKids = new Set<string>();
  private readonly changes: StateChange[] = [];

  constructor(
    keys: readonly SigningKeyRecord[],
    readonly now: number,
    readonly timing: RingTiming,
  ) {
    this.original = new Map(keys.map((key) => [key.kid, key]));
    this.current = new Map(this.original);
  }

  get(kid: string): SigningKeyRecord | undefined {
    return this.current.get(kid);
  }

  keys(): SigningKeyRecord[] {
    return [...this.current.values()];
  }

  inState(state: SigningKeyState): SigningKeyRecord[] {
    return this.keys().filter((key) => key.state === state);
  }

  activeChanged(): boolean {
    return this.changes.some((change) => change.to === SigningKeyState.Active || change.from === SigningKeyState.Active);
  }

  update(kid: string, patch: Partial<SigningKeyRecord>, reason: string): void {
    const before = this.current.get(kid)!;
    const after = { ...before, ...patch };
    this.current.set(kid, after);
    this.changes.push({ kid, from: before.state, to: after.state, reason });
  }

  activate(kid: string, reason: string): void {
    this.update(kid, { state: SigningKeyState.Active, activatedAt: this.now }, reason);
  }

  startRetiring(kid: string, reason: string): void {
    this.update(kid, { state: SigningKeyState.Retiring, retiringAt: this.now, verifyUntil: this.now + this.timing.retiringSeconds }, reason);
  }

  create(record: SigningKeyRecord, reason: string): void {
    this.current.set(record.kid, record);
    this.createdKids.add(record.kid);
    this.changes.push({ kid: record.kid, to: record.state, reason });
  }

  transition(expectedVersion: number): RingTransition {
    const created = [...this.createdKids].map((kid) => this.current.get(kid)!);
    const updated: KeyUpdate[] = [];
    for (const [kid, before] of this.original) {
      const after = this.current.get(kid)!;
      if (after !== before) updated.push({ before, after: { ...after, version: before.version + 1 } });
    }
    const activeKid = this.inState(SigningKeyState.Active)[0]?.kid;
    return { expectedVersion, activeKid, created, updated, changes: [...this.changes] };
  }
}

/**
 * The ring invariants (docs/rotation.md): what the authorizers and the issuer rely on. Empty
 * when the ring is sound.
 */
export function ringViolations(keys: readonly SigningKeyRecord[]): string[] {
  const violations: string[] = [];
  const active = keys.filter((key) => key.state === SigningKeyState.Active);
  if (active.length > 1) violations.push(`has ${active.length} active keys (${active.map((key) => key.kid).join(', ')})`);
  if (keys.length > 0 && active.length === 0) violations.push(...missingActiveViolations(keys));
  for (const key of keys) {
    if (key.compromisedAt !== undefined && key.state !== SigningKeyState.Retired) violations.push(`keeps compromised key ${key.kid} ${key.state}`);
    if (key.state === SigningKeyState.Retiring && key.verifyUntil === undefined) violations.push(`has retiring key ${key.kid} without verifyUntil`);
  }
  return violations;
}

/**
 * A ring without an active key is sound only in the state a compromise leaves while its
 * replacement waits for KMS: a compromised key in the ring and no pending key (a pending key
 * would have been activated in the compromise's own transition, needing no KMS call).
 */
function missingActiveViolations(keys: readonly SigningKeyRecord[]): string[] {
  const pending = keys.filter((key) => key.state === SigningKeyState.Pending);
  if (pending.length > 0) return [`has no active key but pending key ${pending.map((key) => key.kid).join(', ')} to activate`];
  if (!keys.some((key) => key.compromisedAt !== undefined)) return ['has keys but no active key'];
  return [];
}

/** The last guard before a write: a ring that breaks an invariant is never written. */
export function assertWritable(keys: readonly SigningKeyRecord[]): void {
  const violations = ringViolations(keys);
  if (violations.length > 0) throw new RingInvariantViolation(violations);
}

/** Retired keys whose KMS key still has to be scheduled for deletion. */
export function awaitingDeletion(keys: readonly SigningKeyRecord[]): SigningKeyRecord[] {
  return keys.filter((key) => key.state === SigningKeyState.Retired && key.deletionScheduledAt === undefined);
}

export function deletionScheduled(record: SigningKeyRecord, nowSeconds: number): KeyUpdate {
  return { before: record, after: { ...record, deletionScheduledAt: nowSeconds, version: record.version + 1 } };
}

/** Retired records whose KMS key is certainly deleted by now. */
export function prunable(keys: readonly SigningKeyRecord[], nowSeconds: number, timing: RingTiming): SigningKeyRecord[] {
  return keys.filter(
    (key) => key.state === SigningKeyState.Retired && key.deletionScheduledAt !== undefined && nowSeconds >= key.deletionScheduledAt + timing.pruneAfterSeconds,
  );
}

/**
 * A new key id: creation minute (sortable, readable in the console and in JWT headers)
 * plus 32 random bits, so two invocations in the same minute cannot collide in practice.
 */
export function generateKid(nowMs: number, random: (bytes: number) => Buffer = randomBytes): string {
  const minute = new Date(nowMs).toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `${minute}Z-${random(4).toString('hex')}`;
}

/** ISO 8601 of epoch seconds, for reports and reasons. */
export function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
