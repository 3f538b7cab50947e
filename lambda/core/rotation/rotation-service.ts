/**
 * The rotation function's core: runs one request (step, rotate, status, compromised)
 * against the ring through its ports and returns the report.
 *
 * Safety: the ring only changes through `RingStore.commit`, one conditional transaction
 * per transition, so overlapping runs cannot both win; the loser re-reads and re-plans.
 * A KMS key made for a plan that did not get written is scheduled for deletion at once,
 * and reconciliation catches any that a crash leaves behind. Every failure after a commit
 * leaves a valid ring that the next run continues from.
 *
 * A compromise is committed before anything that needs KMS (docs/rotation.md): the key
 * leaves trust even when its replacement cannot be made, and the run then says so.
 */
import { Metric } from '../../../common/metrics';
import { SigningKeyState } from '../../../common/signing-key-items';
import type { KeySpec } from '../../../common/tokens';
import {
  activeSince,
  awaitingDeletion,
  deletionScheduled,
  generateKid,
  isEmptyTransition,
  planRing,
  prunable,
  usesNewKey,
  type NewKeyMaterial,
  type RingIntent,
  type RingTiming,
} from './key-ring';
import {
  CompromiseNotApplied,
  CompromiseNotReplaced,
  CompromiseUnreported,
  describeError,
  RingConflict,
  RingInvariantViolation,
  RotationStepFailed,
  UnknownSigningKey,
} from './rotation-errors';
import { checkHygiene, type HygieneSettings } from './rotation-hygiene';
import { reconcileKmsKeys } from './rotation-reconcile';
import { buildReport, type HygieneReport, type ReportInput, type RotationReport } from './rotation-report';
import { RunLog } from './run-log';
import type { RotationRequest } from './rotation-request';
import { checkUpstreamCertificates, type UpstreamCertificateView, type UpstreamCertificateWatch } from './upstream-certificates';
import type { ApiKeyHygieneSource, EventPublisher, KeyManager, MetricsSink, RingSnapshot, RingStore, WarningLog } from './rotation-ports';

/** Conflicting writes retried per run; two overlapping runs need at most two. */
const MAX_COMMIT_ATTEMPTS = 4;
const BACKOFF_BASE_MS = 25;

/** The charted names come from `common/metrics.ts`; the others are for investigations. */
export const RotationMetric = {
  succeeded: Metric.rotationSucceeded,
  failed: Metric.rotationFailed,
  activeKeyAgeSeconds: Metric.activeKeyAgeSeconds,
  transitions: 'SigningKeyTransitions',
  kmsDeletionsScheduled: 'KmsKeyDeletionsScheduled',
  problems: 'RotationProblems',
} as const;

export interface RotationSettings extends HygieneSettings {
  readonly timing: RingTiming;
  readonly keySpec: KeySpec;
}

export interface RotationDependencies {
  readonly store: RingStore;
  readonly keys: KeyManager;
  readonly hygiene: ApiKeyHygieneSource;
  readonly events: EventPublisher;
  readonly metrics: MetricsSink;
  readonly warnings: WarningLog;
  readonly settings: RotationSettings;
  /** The stage's client certificates, whose expiry step and status runs report. Absent: none to watch. */
  readonly upstreamCertificates?: UpstreamCertificateWatch;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly newKid?: (nowMs: number) => string;
  /** Waits before retrying a conflicting write (jittered, so overlapping runs fall apart). */
  readonly pause?: (ms: number) => Promise<void>;
}

export interface RotationService {
  run(request: RotationRequest): Promise<RotationReport>;
}

export function createRotationService(deps: RotationDependencies): RotationService {
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  const newKid = deps.newKid ?? generateKid;
  const pause = deps.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { timing } = deps.settings;

  /** Runs a port call; SDK failures become a typed error naming the stage, ours pass through. */
  async function stage<T>(name: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof RingConflict) throw error;
      throw new RotationStepFailed(name, error);
    }
  }

  async function createKey(): Promise<NewKeyMaterial> {
    const kid = newKid(deps.now());
    const created = await stage('KMS CreateKey/GetPublicKey', () => deps.keys.createKey({ kid, keySpec: deps.settings.keySpec }));
    return { kid, keySpec: deps.settings.keySpec, ...created };
  }

  /** Plans and commits one transition, re-planning after a conflict. Returns the active kid of the ring it leaves. */
  async function advance(intent: RingIntent, log: RunLog): Promise<string | undefined> {
    let spare: NewKeyMaterial | undefined;
    try {
      for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt += 1) {
        const ring = await stage('reading the signing-key ring', () => deps.store.snapshot());
        // A commit whose reply was lost may have written the spare already: then it is the ring's.
        if (spare && holds(ring, spare.kmsKeyArn)) spare = undefined;
        const now = nowSeconds();
        const first = planRing(ring, intent, now, timing);
        if (first.needs) spare ??= await createKey();
        const plan = first.needs ? planRing(ring, intent, now, timing, spare) : first;
        if (isEmptyTransition(plan.transition)) return plan.transition.activeKid;
        try {
          await stage('writing the signing-key ring', () => deps.store.commit(plan.transition));
        } catch (error) {
          if (!(error instanceof RingConflict)) throw error;
          await pause(BACKOFF_BASE_MS * 2 ** attempt * (1 + Math.random()));
          continue;
        }
        if (spare && usesNewKey(plan.transition, spare.kid)) spare = undefined;
        log.stateChanges(plan.transition.changes);
        deps.metrics.record(RotationMetric.transitions, plan.transition.changes.length, 'Count');
        return plan.transition.activeKid;
      }
      throw new RingConflict(MAX_COMMIT_ATTEMPTS);
    } finally {
      if (spare) await discardSpare(spare, log);
    }
  }

  /** Deletes a KMS key this run made but did not write, unless the ring holds it after all. */
  async function discardSpare(spare: NewKeyMaterial, log: RunLog): Promise<void> {
    try {
      if (holds(await deps.store.snapshot(), spare.kmsKeyArn)) return;
      await deps.keys.scheduleDeletion(spare.kmsKeyArn, timing.deletionWindowDays);
      log.change({
        kind: 'kms-deletion-scheduled',
        kid: spare.kid,
        kmsKeyArn: spare.kmsKeyArn,
        reason: 'made for a ring write that another run won; not needed',
      });
      deps.metrics.record(RotationMetric.kmsDeletionsScheduled, 1, 'Count');
    } catch (error) {
      log.problem(`could not discard unused KMS key ${spare.kmsKeyArn} (${describeError(error)}); reconciliation will`, { kid: spare.kid });
    }
  }

  /**
   * Schedules KMS deletion of retired keys and drops records whose key KMS has deleted.
   * Returns the kids whose deletion could not be scheduled (each also a reported problem).
   */
  async function housekeeping(log: RunLog): Promise<string[]> {
    const ring = await stage('reading the signing-key ring', () => deps.store.snapshot());
    const now = nowSeconds();
    const deletionFailed: string[] = [];
    for (const record of awaitingDeletion(ring.keys)) {
      try {
        const outcome = await deps.keys.scheduleDeletion(record.kmsKeyArn, timing.deletionWindowDays);
        if (!(await deps.store.replaceKey(deletionScheduled(record, now)))) continue;
        const reason = outcome === 'scheduled' ? `retired; KMS destroys it after ${timing.deletionWindowDays} days` : `retired; KMS reported it ${outcome}`;
        log.change({ kind: 'kms-deletion-scheduled', kid: record.kid, kmsKeyArn: record.kmsKeyArn, reason });
        deps.metrics.record(RotationMetric.kmsDeletionsScheduled, 1, 'Count');
      } catch (error) {
        deletionFailed.push(record.kid);
        log.problem(`scheduling deletion of retired key ${record.kid} failed (${describeError(error)}); the next run retries`, { kid: record.kid });
      }
    }
    for (const record of prunable(ring.keys, now, timing)) {
      try {
        if (await deps.store.removeKey(record)) log.change({ kind: 'record-pruned', kid: record.kid, reason: 'its KMS key has been deleted' });
      } catch (error) {
        log.problem(`removing the record of deleted key ${record.kid} failed (${describeError(error)})`, { kid: record.kid });
      }
    }
    return deletionFailed;
  }

  /**
   * `compromised`: the compromise first, in a transition of its own that needs no KMS call;
   * then the KMS deletion of the compromised key (KMS refuses to sign with a key pending
   * deletion); then, if the ring was left without an active key, a new one, planned as a
   * step. Anything else due (a rotation) is left to the scheduled step, as before. Once the
   * compromise is in the ring no failure may end the run as if nothing had happened: a
   * housekeeping failure is a problem of the run and the replacement is still attempted.
   */
  async function compromise(kid: string, log: RunLog): Promise<void> {
    const activeKid = await applyCompromise(kid, log);
    const deletionFailed = await housekeeping(log).catch((error: unknown) => {
      log.problem(`after the compromise of ${kid}, ${describeError(error)}; every step retries its KMS deletion`, { kid });
      return [kid];
    });
    if (activeKid !== undefined) return;
    try {
      await advance({ kind: 'step' }, log);
    } catch (error) {
      throw new CompromiseNotReplaced(kid, !deletionFailed.includes(kid), error);
    }
  }

  /**
   * Commits the compromise of `kid` and returns the active kid of the ring it leaves. When
   * the write fails, the ring says whether it landed (a reply lost after the commit): if it
   * did, the run goes on; if not, or if the ring cannot be read, the error says so, since no
   * later run retries a compromise.
   */
  async function applyCompromise(kid: string, log: RunLog): Promise<string | undefined> {
    try {
      return await advance({ kind: 'compromised', kid }, log);
    } catch (error) {
      // These two wrote nothing and already say so.
      if (error instanceof UnknownSigningKey || error instanceof RingInvariantViolation) throw error;
      const ring = await deps.store.snapshot().catch(() => undefined);
      const applied = ring?.keys.some((key) => key.kid === kid && key.compromisedAt !== undefined);
      if (!ring || !applied) throw new CompromiseNotApplied(kid, ring !== undefined, error);
      log.problem(`writing the compromise of ${kid} reported ${describeError(error)}, but the ring shows it applied`, { kid });
      return ring.keys.find((key) => key.state === SigningKeyState.Active)?.kid;
    }
  }

  /**
   * A scheduled or console step. When the ring cannot be advanced (say KMS refuses the new
   * key a ring without an active key needs), retired keys are still scheduled for deletion
   * before the run fails: a compromised key's KMS deletion must not wait for its replacement.
   */
  async function step(log: RunLog): Promise<void> {
    try {
      await advance({ kind: 'step' }, log);
    } catch (error) {
      // The advance's failure is the one to report; a housekeeping failure is logged as a problem or is the same outage.
      await housekeeping(log).catch(() => undefined);
      throw error;
    }
    await housekeeping(log);
  }

  async function hygieneReport(publish: boolean, log: RunLog): Promise<HygieneReport | null> {
    try {
      return await checkHygiene(
        { source: deps.hygiene, events: deps.events, store: deps.store, metrics: deps.metrics, settings: deps.settings },
        nowSeconds(),
        publish,
        log,
      );
    } catch (error) {
      log.problem(`reading API-key hygiene failed (${describeError(error)}); the next run retries`);
      return null;
    }
  }

  async function certificatesReport(log: RunLog): Promise<UpstreamCertificateView[] | null> {
    return deps.upstreamCertificates ? checkUpstreamCertificates(deps.upstreamCertificates, deps.metrics, nowSeconds(), log) : null;
  }

  async function finish(request: RotationRequest, log: RunLog, findings: Findings) {
    const ring = await stage('reading the signing-key ring', () => deps.store.snapshot());
    const now = nowSeconds();
    const active = ring.keys.find((key) => key.state === SigningKeyState.Active);
    if (active) deps.metrics.record(RotationMetric.activeKeyAgeSeconds, now - activeSince(active), 'Seconds');
    deps.metrics.record(RotationMetric.problems, log.problems.length, 'Count');
    const scheduled = request.action === 'step' && request.scheduled;
    return buildReport({
      action: request.action,
      scheduled,
      nowSeconds: now,
      ring,
      timing,
      log,
      reconciliation: findings.reconciliation ?? null,
      hygiene: findings.hygiene,
      upstreamCertificates: findings.upstreamCertificates ?? null,
    });
  }

  return {
    async run(request) {
      const log = new RunLog(deps.warnings);
      switch (request.action) {
        case 'status': {
          const [hygiene, upstreamCertificates] = await Promise.all([hygieneReport(false, log), certificatesReport(log)]);
          return finish(request, log, { hygiene, upstreamCertificates });
        }
        case 'compromised':
          await compromise(request.kid, log);
          return finish(request, log, { hygiene: await hygieneReport(false, log) }).catch((error: unknown) => {
            throw new CompromiseUnreported(request.kid, error);
          });
        case 'rotate':
          // Kept quick: the admin API waits for it. Reconciliation, publishing and certificates belong to steps.
          await advance({ kind: 'rotate' }, log);
          await housekeeping(log);
          return finish(request, log, { hygiene: await hygieneReport(false, log) });
        case 'step': {
          const reconciliation = await reconcileKmsKeys(
            { store: deps.store, keys: deps.keys, deletionWindowDays: timing.deletionWindowDays },
            nowSeconds(),
            log,
          );
          await step(log);
          const [hygiene, upstreamCertificates] = await Promise.all([hygieneReport(true, log), certificatesReport(log)]);
          return finish(request, log, { reconciliation, hygiene, upstreamCertificates });
        }
      }
    },
  };
}

/** What a run found besides the ring; the parts a run did not look at are reported as null. */
type Findings = Pick<ReportInput, 'hygiene'> & Partial<Pick<ReportInput, 'reconciliation' | 'upstreamCertificates'>>;

function holds(ring: RingSnapshot, kmsKeyArn: string): boolean {
  return ring.keys.some((key) => key.kmsKeyArn === kmsKeyArn);
}
