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
 * second report of a revoked key writes nothing and publishes nothing; a `notify` key is
 * marked by one conditional write, so a retry within `renotifyAfterSeconds` is silent.
 */
import { DEFAULT_LEAK_RESPONSE, KEY_LEAKED_DETAIL_TYPE, LeakLimits, type LeakLabel, type LeakReporter, type LeakResponse } from '../../../common/leaks';
import { CredentialStatus } from '../../../common/credential-items';
import { hashApiKey, hashesEqual, isWellFormedApiKey, keyIdOf } from '../credentials/api-keys';
import { AuditAction, type AuditLog } from '../shared/audit';
import { isPastExpiry, type RevokeOutcome, type StoredApiKey } from '../credentials/credentials';
import type { EventPublisher } from '../rotation/rotation-ports';

/** One reported credential, with where it was found (GitHub's `url`, `source` and `type`). */
export interface LeakReport {
  readonly token: string;
  readonly url?: string;
  readonly source?: string;
  readonly type?: string;
}

/** What became of one report: only `revoked` and `notified` are true positives. */
export type LeakOutcome = 'revoked' | 'notified' | 'already_notified' | 'not_a_live_key';

export interface LeakPorts {
  readonly apiKeys: {
    get(keyId: string): Promise<StoredApiKey | undefined>;
    /** The normal revocation write (`ApiKeyStore.revoke`). */
    revoke(keyId: string, nowSeconds: number): Promise<RevokeOutcome>;
    /** Marks a `notify` key reported, unless it was within `renotifyAfterSeconds`; false: it was. */
    markLeakReported(keyId: string, nowSeconds: number, renotifyAfterSeconds: number): Promise<boolean>;
  };
  readonly clients: { leakResponse(clientId: string): Promise<LeakResponse | undefined> };
  readonly events: EventPublisher;
  readonly audit: AuditLog;
  /** Epoch milliseconds. */
  readonly now: () => number;
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
    // Unknown, another key with the same id prefix, revoked or expired: nothing to do, and
    // the answer does not say which.
    if (!key || !hashesEqual(key.keyHash, hash) || key.status !== CredentialStatus.Active || isPastExpiry(key, nowSeconds)) return 'not_a_live_key';

    const mode = (await this.ports.clients.leakResponse(key.clientId)) ?? DEFAULT_LEAK_RESPONSE;
    let outcome: LeakOutcome;
    if (mode === 'revoke') {
      // 'already_revoked': a concurrent report or an operator got there first; they announced it.
      outcome = (await this.ports.apiKeys.revoke(keyId, nowSeconds)) === 'revoked' ? 'revoked' : 'not_a_live_key';
    } else {
      outcome = (await this.ports.apiKeys.markLeakReported(keyId, nowSeconds, LeakLimits.renotifyAfterSeconds)) ? 'notified' : 'already_notified';
    }
    if (outcome === 'revoked' || outcome === 'notified') await this.announce(key, outcome, report, reporter, nowSeconds);
    return outcome;
  }

  private async announce(key: StoredApiKey, outcome: 'revoked' | 'notified', report: LeakReport, reporter: LeakReporter, nowSeconds: number): Promise<void> {
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
      // The key is revoked (or marked) already and a retry would find nothing to do, so the
      // event is not retried by failing the request: the audit line above stands for it.
      this.ports.audit.warn('KeyLeaked event not published', { keyId: key.keyId, clientId: key.clientId, error: (error as Error).name });
    }
  }
}

function clip(value: string): string {
  return value.length > LeakLimits.maxFieldChars ? value.slice(0, LeakLimits.maxFieldChars) : value;
}
