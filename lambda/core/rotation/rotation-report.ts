/**
 * The JSON every rotation invocation returns, shaped for a person reading the Lambda
 * console (and for the admin API and CLI, which pass it on): the ring with readable
 * times, what this run changed, what happens next and when, and the hygiene findings.
 */
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { isVerifying } from './signing-keys';
import { iso, type RingTiming } from './key-ring';
import { upcomingActions, type UpcomingActionName } from './ring-schedule';
import type { RingSnapshot } from './rotation-ports';
import type { RotationAction } from './rotation-request';
import type { RotationChange, RunLog } from './run-log';
import type { UpstreamCertificateView } from './upstream-certificates';

export interface KeyView {
  readonly kid: string;
  readonly state: SigningKeyState;
  readonly alg: SigningKeyRecord['alg'];
  readonly keySpec: SigningKeyRecord['keySpec'];
  /** Whether authorizers accept tokens it signed right now. */
  readonly verifying: boolean;
  readonly compromised: boolean;
  readonly kmsKeyArn: string;
  readonly createdAt: string;
  readonly activateAt?: string;
  readonly activatedAt?: string;
  readonly retiringAt?: string;
  readonly verifyUntil?: string;
  readonly retiredAt?: string;
  readonly deletionScheduledAt?: string;
  readonly compromisedAt?: string;
}

export interface NextView {
  readonly action: UpcomingActionName;
  readonly kid?: string;
  readonly at: string;
}

export interface HygieneKeyView {
  readonly keyId: string;
  readonly clientId: string;
  readonly expiresAt?: string;
  readonly lastUsedAt?: string;
}

export interface HygieneReport {
  readonly expiringWithinDays: number;
  readonly unusedForDays: number;
  readonly expiring: readonly HygieneKeyView[];
  readonly stale: readonly HygieneKeyView[];
  /** The bounded index reads stopped before the end: there are more than listed. */
  readonly truncated: boolean;
  /** Events sent by this run, or why none were. */
  readonly events: number | 'published earlier today' | 'only on step' | 'failed';
}

export interface ReconciliationReport {
  /** Whether this run looked for orphaned KMS keys (at most one run per interval does). */
  readonly ran: boolean;
  readonly orphansScheduledForDeletion: number;
  /** Absent when the pass reached the end of the account's keys. */
  readonly continuesFrom?: 'next run';
}

export interface RotationReport {
  readonly action: RotationAction;
  readonly scheduled: boolean;
  readonly at: string;
  readonly ring: { readonly version: number; readonly activeKid: string | null; readonly keys: readonly KeyView[] };
  readonly changes: readonly RotationChange[];
  /** The soonest timed transition; the first scheduled run at or after `at` does it. */
  readonly next: NextView | null;
  readonly upcoming: readonly NextView[];
  readonly reconciliation: ReconciliationReport | null;
  readonly hygiene: HygieneReport | null;
  /**
   * The client certificates the stage presents to the upstream, with their expiry (step and
   * status runs); null where there are none to watch (local mode) or on rotate/compromised.
   */
  readonly upstreamCertificates: readonly UpstreamCertificateView[] | null;
  /** Things that went wrong without invalidating the ring; the next run retries them. */
  readonly problems: readonly string[];
}

const STATE_ORDER: readonly SigningKeyState[] = [SigningKeyState.Active, SigningKeyState.Pending, SigningKeyState.Retiring, SigningKeyState.Retired];

export function keyView(record: SigningKeyRecord, nowSeconds: number): KeyView {
  const times = {
    activateAt: record.activateAt,
    activatedAt: record.activatedAt,
    retiringAt: record.retiringAt,
    verifyUntil: record.verifyUntil,
    retiredAt: record.retiredAt,
    deletionScheduledAt: record.deletionScheduledAt,
    compromisedAt: record.compromisedAt,
  };
  const present = Object.entries(times).filter((entry): entry is [string, number] => entry[1] !== undefined);
  return {
    kid: record.kid,
    state: record.state,
    alg: record.alg,
    keySpec: record.keySpec,
    verifying: isVerifying(record, nowSeconds),
    compromised: record.compromisedAt !== undefined,
    kmsKeyArn: record.kmsKeyArn,
    createdAt: iso(record.createdAt),
    ...Object.fromEntries(present.map(([name, seconds]) => [name, iso(seconds)])),
  };
}

export interface ReportInput {
  readonly action: RotationAction;
  readonly scheduled: boolean;
  readonly nowSeconds: number;
  readonly ring: RingSnapshot;
  readonly timing: RingTiming;
  readonly log: RunLog;
  readonly reconciliation: ReconciliationReport | null;
  readonly hygiene: HygieneReport | null;
  readonly upstreamCertificates: readonly UpstreamCertificateView[] | null;
}

export function buildReport(input: ReportInput): RotationReport {
  const { ring, nowSeconds } = input;
  const keys = [...ring.keys].sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || b.createdAt - a.createdAt);
  const upcoming = upcomingActions(ring.keys, nowSeconds, input.timing).map((action) => ({ ...action, at: iso(action.at) }));
  return {
    action: input.action,
    scheduled: input.scheduled,
    at: iso(nowSeconds),
    ring: {
      version: ring.version,
      activeKid: ring.keys.find((key) => key.state === SigningKeyState.Active)?.kid ?? null,
      keys: keys.map((key) => keyView(key, nowSeconds)),
    },
    changes: input.log.changes,
    next: upcoming[0] ?? null,
    upcoming,
    reconciliation: input.reconciliation,
    hygiene: input.hygiene,
    upstreamCertificates: input.upstreamCertificates,
    problems: input.log.problems,
  };
}

/** The fields of the rotation function's `rotation run` log line: what changed, what is next, what went wrong. */
export function runSummary(report: RotationReport) {
  const hygieneEvents = report.hygiene?.events;
  return {
    action: report.action,
    scheduled: report.scheduled,
    activeKid: report.ring.activeKid,
    changes: report.changes,
    next: report.next,
    problems: report.problems,
    ...(typeof hygieneEvents === 'number' && hygieneEvents > 0 ? { hygieneEvents } : {}),
  };
}
