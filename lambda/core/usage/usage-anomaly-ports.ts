/**
 * The anomaly monitor's ports assembled from the stores, the audit log and the event
 * publisher: shared by the metering function and local mode so both flag the same way.
 */
import { AuditAction, type AuditLog } from '../shared/audit';
import type { AnomalyFlag, AnomalyPolicy, AnomalyPorts, Baseline, MinuteCounts } from './usage-anomaly';
import type { SuspensionReason } from '../../../common/revocation-feed';

export interface AnomalyStore {
  load(clientId: string): Promise<{ baseline: Baseline; version: number } | undefined>;
  save(clientId: string, baseline: Baseline, version: number | undefined): Promise<boolean>;
  minutes(clientId: string, from: number, to: number): Promise<MinuteCounts[]>;
  policy(clientId: string): Promise<AnomalyPolicy>;
  record(flag: AnomalyFlag): Promise<void>;
  revokeKeys(keyIds: readonly string[], nowSeconds: number): Promise<string[]>;
}

/** What the anomaly response needs of the quota store: a client's suspension, and whose an API key is. */
export interface SuspensionWriter {
  suspendFor(clientId: string, untilSeconds: number, reason: SuspensionReason, nowMs: number): Promise<boolean>;
  keyState(keyId: string): Promise<{ readonly clientId?: string }>;
}

export function anomalyPorts(store: AnomalyStore, suspensions: SuspensionWriter, audit: AuditLog, publish: AnomalyPorts['publish']): AnomalyPorts {
  return {
    load: (clientId) => store.load(clientId),
    save: (clientId, baseline, version) => store.save(clientId, baseline, version),
    minutes: (clientId, from, to) => store.minutes(clientId, from, to),
    policy: (clientId) => store.policy(clientId),
    suspend: (clientId, until, nowMs) => suspensions.suspendFor(clientId, until, 'anomaly', nowMs),
    record: (flag) => store.record(flag),
    // Only the flagged client's own keys, whatever key ids its meters hold (a key's client never changes).
    revokeKeys: async (clientId, keyIds, nowSeconds) => {
      const own: string[] = [];
      for (const keyId of keyIds) if ((await suspensions.keyState(keyId)).clientId === clientId) own.push(keyId);
      return store.revokeKeys(own, nowSeconds);
    },
    publish,
    audit: (flag) =>
      audit.record({
        action: AuditAction.usageAnomaly,
        outcome: 'success',
        clientId: flag.clientId,
        ...(flag.keyId !== undefined && { keyId: flag.keyId }),
        anomaly: `rule=${flag.rule} minute=${flag.minute} baseline=${flag.baseline} observed=${flag.observed} response=${flag.response}${flag.revokedKeys ? ` revokedKeys=${flag.revokedKeys.join(',')}` : ''}`,
      }),
  };
}
