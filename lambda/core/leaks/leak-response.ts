/**
 * What happens to a credential someone reports leaked (GitHub's secret scanning, or anyone
 * through `POST /leaks/revoke`): offline format and checksum first (a random string costs
 * nothing), then ONE strongly consistent read by the key's hash. A live key is revoked
 * through the same conditional write as `DELETE /admin/keys/{keyId}` (so the stream fan-out
 * carries it to every authorizer like any revocation), unless its client chose `notify`;
 * either way an audit line and a `KeyLeaked` event name the client, the key id and where
 * the key was found, never the key.
 *
 * Idempotent under retries: the revocation is conditional on the key being active, so a
 * second report of a revoked key writes nothing; a `notify` key is marked by one conditional
 * write, so a retry within `renotifyAfterSeconds` is silent.
 *
 * Announced at least once: each write stores a fresh report id and what it still owes
 * (`leakUnannounced`), cleared once the audit line and the event are out. A write whose
 * answer was lost (the SDK's retry of it fails its condition) is known as ours by that id;
 * a write whose request ended before the announcement (the budget, a crash, an event
 * EventBridge did not take, which fails the request) leaves the marker, and the next report
 * of the key (GitHub's retry) announces it. So an announcement is never lost, and is made
 * twice only when a report races another, an answer is lost after the audit line, or the
 * event failed after it.
 */
import { DEFAULT_LEAK_RESPONSE, KEY_LEAKED_DETAIL_TYPE, LeakLimits, type LeakLabel, type LeakReporter, type LeakResponse } from '../../../common/leaks';
import { CredentialStatus } from '../../../common/credential-items';
import { hashApiKey, hashesEqual, isWellFormedApiKey, keyIdOf } from '../credentials/api-keys';
import { AuditAction, type AuditLog } from '../shared/audit';
import { isPastExpiry, type RevokeOutcome, type StoredApiKey } from '../credentials/credentials';
import type { EventPublisher } from '../rotation/rotation-ports';
import { EventPublishFailed } from '../rotation/rotation-errors';
import { DEFAULT_RETRY_AFTER_SECONDS, DependencyUnavailable } from '../shared/issuance-errors';

/** One reported credential, with where it was found (GitHub's `url`, `source` and `type`). */
export interface LeakReport {
  readonly token: string;
  readonly url?: string;
  readonly source?: string;
  readonly type?: string;
}

/**
 * What became of one report: `revoked` and `notified` were announced by this report;
 * `already_revoked` (reached by an earlier, announced leak report) and `already_notified` are true
 * positives too, so a retry of a report whose answer was lost gets the same label.
 */
export type LeakOutcome = 'revoked' | 'notified' | 'already_revoked' | 'already_notified' | 'not_a_live_key';

/** What a leak report's write owes: the audit line and the `KeyLeaked` event's `action`. */
export type LeakAnnouncement = 'revoked' | 'notified';

/** A stored key with what leak reports left on it. */
export interface LeakKeyState extends StoredApiKey {
  /** The id of the last leak report's write (the revocation or the `notify` marker). */
  readonly leakReportId?: string;
  /** That write's announcement, while it is not yet made. */
  readonly leakUnannounced?: LeakAnnouncement;
}

export interface LeakPorts {
  readonly apiKeys: {
    get(keyId: string): Promise<LeakKeyState | undefined>;
    /**
     * The admin API's conditional revocation, storing `reportId` and `leakUnannounced:
     * revoked` with it; `revoked` also when the write is found to be this report's own.
     */
    revoke(keyId: string, nowSeconds: number, reportId: string): Promise<RevokeOutcome>;
    /**
     * Marks a `notify` key reported (with `reportId` and `leakUnannounced: notified`), unless it
     * was within `renotifyAfterSeconds`; false: it was, by another report.
     */
    markLeakReported(keyId: string, nowSeconds: number, renotifyAfterSeconds: number, reportId: string): Promise<boolean>;
    /** Clears `leakUnannounced` if `reportId` is still the key's last report. */
    markAnnounced(keyId: string, reportId: string): Promise<void>;
  };
  readonly clients: { leakResponse(clientId: string): Promise<LeakResponse | undefined> };
  readonly events: EventPublisher;
  readonly audit: AuditLog;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** A fresh, unguessable id for one report's write (`randomUUID`). */
  readonly newReportId: () => string;
}

/**
 * The outcome of a report that writes nothing, from the key as stored: a live key (another
 * report marked it within the window) and a revoked key an earlier leak report reached
 * (revoked, or marked before an operator revoked it) are true positives; a key an operator
 * revoked, an expired one or none at all is not.
 */
function outcomeAsStored(key: LeakKeyState | undefined, nowSeconds: number): LeakOutcome {
  if (key?.status === CredentialStatus.Active) return isPastExpiry(key, nowSeconds) ? 'not_a_live_key' : 'already_notified';
  return key?.status === CredentialStatus.Revoked && key.leakReportId !== undefined ? 'already_revoked' : 'not_a_live_key';
}

export function labelOf(outcome: LeakOutcome): LeakLabel {
  return outcome === 'not_a_live_key' ? 'false_positive' : 'true_positive';
}

export class LeakResponder {
  constructor(private readonly ports: LeakPorts) {}

  /**
   * Handles every report, in order of the answer; one key reported twice in a request is
   * handled once. A failure to read or write (DynamoDB) rejects the whole call, so the
   * caller's retry (GitHub retries on 5xx) finds the work done so far already done.
   */
  async handle(reports: readonly LeakReport[], reporter: LeakReporter): Promise<LeakOutcome[]> {
    const byToken = new Map<string, Promise<LeakOutcome>>();
    const queue = reports.filter((report) => !byToken.has(report.token) && byToken.set(report.token, Promise.resolve('not_a_live_key')));
    const settled = new Map<string, LeakOutcome>();
    let next = 0;
    const worker = async () => {
      while (next < queue.length) {
        const report = queue[next++]!;
        settled.set(report.token, await this.handleOne(report, reporter));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LeakLimits.concurrency, queue.length) }, worker));
    return reports.map((report) => settled.get(report.token) ?? 'not_a_live_key');
  }

  private async handleOne(report: LeakReport, reporter: LeakReporter): Promise<LeakOutcome> {
    if (!isWellFormedApiKey(report.token)) return 'not_a_live_key';
    const hash = hashApiKey(report.token);
    const keyId = keyIdOf(hash);
    const key = await this.ports.apiKeys.get(keyId);
    const nowSeconds = Math.floor(this.ports.now() / 1000);
    // Unknown, or another key with the same id prefix: nothing to do, and the answer does not say which.
    if (!key || !hashesEqual(key.keyHash, hash)) return 'not_a_live_key';

    if (key.status === CredentialStatus.Active && !isPastExpiry(key, nowSeconds)) {
      const mode = (await this.ports.clients.leakResponse(key.clientId)) ?? DEFAULT_LEAK_RESPONSE;
      const reportId = this.ports.newReportId();
      const written =
        mode === 'revoke'
          ? (await this.ports.apiKeys.revoke(keyId, nowSeconds, reportId)) === 'revoked'
          : await this.ports.apiKeys.markLeakReported(keyId, nowSeconds, LeakLimits.renotifyAfterSeconds, reportId);
      const action = mode === 'revoke' ? 'revoked' : 'notified';
      if (written) return this.announce(key, action, reportId, report, reporter, nowSeconds);
      // Another report or an operator wrote between our read and our write: whoever wrote
      // announces it. Label by what is stored now, as a retry of this report will be.
      if (!key.leakUnannounced) return outcomeAsStored(await this.ports.apiKeys.get(keyId), nowSeconds);
    }
    // An earlier report's write whose request ended before its announcement: made now.
    if (key.leakUnannounced && key.leakReportId) return this.announce(key, key.leakUnannounced, key.leakReportId, report, reporter, nowSeconds);
    return outcomeAsStored(key, nowSeconds);
  }

  /** The audit line, then the event, then the marker that they are out: in that order, so a cut leaves the marker. */
  private async announce(
    key: StoredApiKey,
    outcome: LeakAnnouncement,
    reportId: string,
    report: LeakReport,
    reporter: LeakReporter,
    nowSeconds: number,
  ): Promise<LeakAnnouncement> {
    const where = {
      ...(report.url !== undefined && { url: clip(report.url) }),
      ...(report.source !== undefined && { source: clip(report.source) }),
    };
    this.ports.audit.record({
      action: outcome === 'revoked' ? AuditAction.keyLeakRevoke : AuditAction.keyLeakNotify,
      outcome: 'success',
      keyId: key.keyId,
      clientId: key.clientId,
      foundBy: reporter,
      ...where,
    });
    try {
      await this.ports.events.publish([
        {
          detailType: KEY_LEAKED_DETAIL_TYPE,
          detail: {
            clientId: key.clientId,
            keyId: key.keyId,
            action: outcome,
            foundBy: reporter,
            ...where,
            ...(report.type !== undefined && { type: clip(report.type) }),
          },
          time: nowSeconds,
        },
      ]);
    } catch (error) {
      // Still owed: the marker stays, and the next report of the key announces it. For a
      // `notify` client the event is how its owner hears of a key that stays live; the audit
      // line alone would tell nobody. GitHub's report fails (503) so that GitHub sends it
      // again; the public endpoint answers 202 all the same, as for any other submission, so
      // that its answer never tells a live key from any other string.
      this.ports.audit.warn('KeyLeaked event not published', { keyId: key.keyId, clientId: key.clientId, error: (error as Error).name });
      if (reporter === 'public') return outcome;
      throw error instanceof EventPublishFailed ? new DependencyUnavailable('eventbridge', 'unavailable', DEFAULT_RETRY_AFTER_SECONDS, error.name) : error;
    }
    try {
      await this.ports.apiKeys.markAnnounced(key.keyId, reportId);
    } catch (error) {
      // Announced all the same: a marker left behind only makes the next report announce it again.
      this.ports.audit.warn('leak announcement not marked', { keyId: key.keyId, clientId: key.clientId, error: (error as Error).name });
    }
    return outcome;
  }
}

function clip(value: string): string {
  return value.length > LeakLimits.maxFieldChars ? value.slice(0, LeakLimits.maxFieldChars) : value;
}
