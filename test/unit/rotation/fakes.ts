/**
 * In-memory fakes of the rotation core's own ports, with the same conditional semantics
 * as the DynamoDB and KMS adapters (which the integration tests run for real).
 */
import type { SigningKeyRecord } from '../../../common/signing-key-items';
import type { KeySpec } from '../../../common/tokens';
import { ringTiming, type KeyUpdate, type RingTransition } from '../../../lambda/core/rotation/key-ring';
import { RingConflict } from '../../../lambda/core/rotation/rotation-errors';
import type {
  ApiKeyHygieneSource,
  BoundedList,
  CreatedKmsKey,
  DeletionOutcome,
  EventPublisher,
  ExpiringApiKey,
  HygieneEventEntry,
  KeyManager,
  MetricUnit,
  MetricsSink,
  PeriodicJob,
  RingKmsKey,
  RingSnapshot,
  RingStore,
  StaleApiKey,
  WarningLog,
} from '../../../lambda/core/rotation/rotation-ports';
import { createRotationService, type RotationDependencies, type RotationService } from '../../../lambda/core/rotation/rotation-service';
import { Defaults } from '../../../common/defaults';
import * as Setting from '../../../common/settings';

export class MemoryRingStore implements RingStore {
  private version = 0;
  private activeKid: string | undefined;
  private cursor: string | undefined;
  private readonly periods = new Map<PeriodicJob, number>();
  readonly items = new Map<string, SigningKeyRecord>();
  writes = 0;
  /** Runs just before a commit is applied (to interleave another run). */
  beforeCommit: (() => Promise<void>) | undefined;
  /** Fails the next commit with this error after applying it (a lost reply). */
  failAfterCommit: Error | undefined;

  async snapshot(): Promise<RingSnapshot> {
    const keys = [...this.items.values()];
    return {
      version: this.version,
      keys,
      head: { version: this.version, ...(this.activeKid && { activeKid: this.activeKid }), ...(this.cursor && { reconcileCursor: this.cursor }) },
    };
  }

  async commit(transition: RingTransition): Promise<void> {
    const hook = this.beforeCommit;
    this.beforeCommit = undefined;
    if (hook) await hook();
    const conflict =
      transition.expectedVersion !== this.version ||
      transition.created.some((record) => this.items.has(record.kid)) ||
      transition.updated.some((update) => !this.unchanged(update.before));
    if (conflict) throw new RingConflict(1);
    this.writes += 1;
    this.version += 1;
    this.activeKid = transition.activeKid;
    for (const record of transition.created) this.items.set(record.kid, record);
    for (const update of transition.updated) this.items.set(update.after.kid, update.after);
    const lost = this.failAfterCommit;
    this.failAfterCommit = undefined;
    if (lost) throw lost;
  }

  async replaceKey(update: KeyUpdate): Promise<boolean> {
    if (!this.unchanged(update.before)) return false;
    this.writes += 1;
    this.items.set(update.after.kid, update.after);
    return true;
  }

  async removeKey(record: SigningKeyRecord): Promise<boolean> {
    if (!this.unchanged(record)) return false;
    this.writes += 1;
    this.items.delete(record.kid);
    return true;
  }

  async claimPeriod(job: PeriodicJob, period: number): Promise<boolean> {
    const current = this.periods.get(job);
    if (current !== undefined && current >= period) return false;
    this.writes += 1;
    this.periods.set(job, period);
    return true;
  }

  async releasePeriod(job: PeriodicJob, period: number): Promise<void> {
    if (this.periods.get(job) === period) this.periods.set(job, period - 1);
  }

  async saveReconcileCursor(cursor: string | undefined): Promise<void> {
    this.cursor = cursor;
  }

  keys(): SigningKeyRecord[] {
    return [...this.items.values()];
  }

  private unchanged(before: SigningKeyRecord): boolean {
    const current = this.items.get(before.kid);
    return current !== undefined && current.version === before.version && current.state === before.state;
  }
}

export interface FakeKmsKey {
  readonly kmsKeyArn: string;
  readonly kid: string;
  readonly keySpec: KeySpec;
  readonly createdAt: number;
  pendingDeletion: boolean;
  deletionWindowDays?: number;
}

export class MemoryKeyManager implements KeyManager {
  readonly keys: FakeKmsKey[] = [];
  private serial = 0;
  /** Fails every ScheduleKeyDeletion while set. */
  deletionFailure: Error | undefined;
  /** Creates the key, then throws: a crash between CreateKey and the ring write. */
  crashAfterCreate = false;

  constructor(private readonly clockSeconds: () => number) {}

  async createKey(request: { readonly kid: string; readonly keySpec: KeySpec }): Promise<CreatedKmsKey> {
    this.serial += 1;
    const kmsKeyArn = `arn:aws:kms:us-east-1:000000000000:key/fake-${this.serial}`;
    this.keys.push({ kmsKeyArn, kid: request.kid, keySpec: request.keySpec, createdAt: this.clockSeconds(), pendingDeletion: false });
    if (this.crashAfterCreate) throw new Error('Runtime.ExitError: the function crashed');
    return { kmsKeyArn, publicKey: Buffer.from(`spki-${this.serial}`).toString('base64') };
  }

  async scheduleDeletion(kmsKeyArn: string, pendingWindowInDays: number): Promise<DeletionOutcome> {
    if (this.deletionFailure) throw this.deletionFailure;
    const key = this.keys.find((candidate) => candidate.kmsKeyArn === kmsKeyArn);
    if (!key) return 'not-found';
    if (key.pendingDeletion) return 'already-scheduled';
    key.pendingDeletion = true;
    key.deletionWindowDays = pendingWindowInDays;
    return 'scheduled';
  }

  async listRingKeys(request: { readonly cursor?: string; readonly maxKeys: number }): Promise<{ keys: RingKmsKey[]; cursor?: string }> {
    const start = request.cursor ? Number(request.cursor) : 0;
    const slice = this.keys.slice(start, start + request.maxKeys);
    const next = start + request.maxKeys < this.keys.length ? String(start + request.maxKeys) : undefined;
    const keys = slice.map(({ kmsKeyArn, kid, createdAt, pendingDeletion }) => ({ kmsKeyArn, kid, createdAt, pendingDeletion }));
    return next ? { keys, cursor: next } : { keys };
  }

  find(kmsKeyArn: string): FakeKmsKey | undefined {
    return this.keys.find((key) => key.kmsKeyArn === kmsKeyArn);
  }
}

export class FakeHygieneSource implements ApiKeyHygieneSource {
  expiring: ExpiringApiKey[] = [];
  stale: StaleApiKey[] = [];
  failure: Error | undefined;

  async expiringBetween(fromSeconds: number, untilSeconds: number): Promise<BoundedList<ExpiringApiKey>> {
    if (this.failure) throw this.failure;
    return { items: this.expiring.filter((key) => key.expiresAt >= fromSeconds && key.expiresAt <= untilSeconds), truncated: false };
  }

  async unusedSince(beforeSeconds: number): Promise<BoundedList<StaleApiKey>> {
    if (this.failure) throw this.failure;
    return { items: this.stale.filter((key) => key.lastUsedAt < beforeSeconds), truncated: false };
  }
}

export class RecordingPublisher implements EventPublisher {
  readonly published: HygieneEventEntry[][] = [];
  failure: Error | undefined;

  async publish(events: readonly HygieneEventEntry[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.published.push([...events]);
  }
}

export class RecordingMetrics implements MetricsSink {
  readonly recorded: { name: string; value: number; unit: MetricUnit }[] = [];

  record(name: string, value: number, unit: MetricUnit): void {
    this.recorded.push({ name, value, unit });
  }

  last(name: string): number | undefined {
    return this.recorded.filter((metric) => metric.name === name).at(-1)?.value;
  }
}

export class RecordingWarnings implements WarningLog {
  readonly messages: string[] = [];

  warn(message: string): void {
    this.messages.push(message);
  }
}

/** A controllable clock in epoch milliseconds. */
export class TestClock {
  constructor(private ms: number) {}

  readonly now = (): number => this.ms;

  seconds(): number {
    return Math.floor(this.ms / 1000);
  }

  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export const DEFAULT_TIMING = ringTiming({
  rotationIntervalDays: Setting.rotationIntervalDays.default,
  keyDeletionWindowDays: Setting.keyDeletionWindowDays.default,
  keyRingRefreshSeconds: Defaults.keyRingRefreshSeconds,
  clockSkewSeconds: Defaults.clockSkewSeconds,
});

export interface Harness {
  readonly clock: TestClock;
  readonly store: MemoryRingStore;
  readonly kms: MemoryKeyManager;
  readonly hygiene: FakeHygieneSource;
  readonly events: RecordingPublisher;
  readonly metrics: RecordingMetrics;
  readonly warnings: RecordingWarnings;
  /** A new service instance over the same fakes: another Lambda execution environment. */
  service(overrides?: Partial<RotationDependencies>): RotationService;
}

/** 2025-01-01T00:00:00Z */
export const START_MS = Date.UTC(2025, 0, 1);

export function harness(startMs = START_MS): Harness {
  const clock = new TestClock(startMs);
  const store = new MemoryRingStore();
  const kms = new MemoryKeyManager(() => clock.seconds());
  const hygiene = new FakeHygieneSource();
  const events = new RecordingPublisher();
  const metrics = new RecordingMetrics();
  const warnings = new RecordingWarnings();
  let kids = 0;
  const service = (overrides: Partial<RotationDependencies> = {}) =>
    createRotationService({
      store,
      keys: kms,
      hygiene,
      events,
      metrics,
      warnings,
      settings: { timing: DEFAULT_TIMING, keySpec: 'ECC_NIST_P256', expiryWarningDays: 14, staleKeyDays: 90 },
      now: clock.now,
      newKid: () => `kid-${(kids += 1)}`,
      pause: async () => undefined,
      ...overrides,
    });
  return { clock, store, kms, hygiene, events, metrics, warnings, service };
}
