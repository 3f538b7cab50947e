/**
 * Reconciliation of KMS keys with the ring. A run can die between KMS `CreateKey` and the
 * ring write (timeout, crash, a lost race whose clean-up failed); the key it made is tagged
 * as this ring's, so a later run finds it by its tags and schedules its deletion.
 */
import { describeError } from './rotation-errors';
import type { KeyManager, RingKmsKey, RingStore } from './rotation-ports';
import type { ReconciliationReport } from './rotation-report';
import type { RunLog } from './run-log';

/** At most one reconciliation pass per this many seconds (the schedule runs more often). */
export const RECONCILE_INTERVAL_SECONDS = 600;
/**
 * A tagged key missing from the ring is an orphan only once it is older than this: Lambda
 * stops any invocation after at most 900 s, so a younger key may belong to a run that is
 * still about to write it to the ring.
 */
export const ORPHAN_MIN_AGE_SECONDS = 900;
/** Account keys inspected per pass (one ListResourceTags each); a pass resumes where the last stopped. */
export const RECONCILE_MAX_KEYS = 500;

export interface ReconcileDependencies {
  readonly store: RingStore;
  readonly keys: KeyManager;
  readonly deletionWindowDays: number;
}

export async function reconcileKmsKeys(deps: ReconcileDependencies, nowSeconds: number, log: RunLog): Promise<ReconciliationReport> {
  const period = Math.floor(nowSeconds / RECONCILE_INTERVAL_SECONDS);
  let claimed = false;
  try {
    claimed = await deps.store.claimPeriod('reconcile', period);
    if (!claimed) return { ran: false, orphansScheduledForDeletion: 0 };
    // The ring is read before the keys are listed: a key written to it after this read was
    // created less than ORPHAN_MIN_AGE_SECONDS ago, so it cannot be taken for an orphan.
    const ring = await deps.store.snapshot();
    const listed = await deps.keys.listRingKeys({ cursor: ring.head.reconcileCursor, maxKeys: RECONCILE_MAX_KEYS });
    const known = new Set(ring.keys.map((key) => key.kmsKeyArn));
    const orphans = listed.keys.filter((key) => isOrphan(key, known, nowSeconds));
    for (const orphan of orphans) {
      await deps.keys.scheduleDeletion(orphan.kmsKeyArn, deps.deletionWindowDays);
      log.change({
        kind: 'kms-deletion-scheduled',
        ...(orphan.kid && { kid: orphan.kid }),
        kmsKeyArn: orphan.kmsKeyArn,
        reason: 'orphan: tagged as this ring’s but never written to it',
      });
    }
    await deps.store.saveReconcileCursor(listed.cursor);
    return { ran: true, orphansScheduledForDeletion: orphans.length, ...(listed.cursor && { continuesFrom: 'next run' as const }) };
  } catch (error) {
    if (claimed) await deps.store.releasePeriod('reconcile', period).catch(() => undefined);
    log.problem(`reconciling KMS keys failed (${describeError(error)}); the next run retries`);
    return { ran: false, orphansScheduledForDeletion: 0 };
  }
}

function isOrphan(key: RingKmsKey, known: ReadonlySet<string>, nowSeconds: number): boolean {
  return !key.pendingDeletion && !known.has(key.kmsKeyArn) && nowSeconds - key.createdAt >= ORPHAN_MIN_AGE_SECONDS;
}
