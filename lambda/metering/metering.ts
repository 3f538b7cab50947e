/**
 * The metering function: a CloudWatch Logs subscription delivers the stage's access-log
 * lines; each delivery is metered and applied to the usage table as one batch.
 *
 * The delivery is gzip-compressed JSON in `awslogs.data` (CloudWatch Logs "Subscription
 * filters with AWS Lambda"). `CONTROL_MESSAGE` deliveries only check that the destination
 * is reachable and hold no log events. A failed invocation is retried by Lambda with the
 * same events (asynchronous invocation, then the DLQ), so the batch id is derived from the
 * events' own ids, which CloudWatch Logs assigns once per event: a retry applies nothing twice.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import { meterLines, type ApplyResult, type RouteLabeler, type UsageSink } from '../core/usage/usage-meter';
import { meteredKeys, type QuotaEnforcer, type QuotaOutcome } from '../core/usage/usage-quota';
import type { AnomalyFlag, AnomalyMonitor } from '../core/usage/usage-anomaly';
import type { DenialReason } from '../../common/usage';

export interface MeteringSummary extends ApplyResult {
  readonly batchId: string;
  readonly lines: number;
  readonly unattributed: number;
  readonly ignored: number;
  /** Now minus the oldest event's timestamp, ms: how far metering runs behind the gateway. */
  readonly lagMs: number;
  /** Denials in the batch by reason (every client together), for the dashboard. */
  readonly deniedBy: Readonly<Partial<Record<DenialReason, number>>>;
  /** What the quota check decided for each client in the batch (those with a metered quota). */
  readonly quotas: readonly QuotaOutcome[];
  readonly anomalies: readonly AnomalyFlag[];
}

export interface MeteringDeps {
  readonly sink: UsageSink;
  readonly routes: RouteLabeler;
  readonly now: () => number;
  /** Metered quotas, checked for every client of a batch once it is applied. */
  readonly quotas?: QuotaEnforcer;
  /** Anomaly detection over the clients' closed minutes. */
  readonly anomalies?: AnomalyMonitor;
}

export function decodeDelivery(event: CloudWatchLogsEvent): CloudWatchLogsDecodedData {
  return JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;
}

/** The id of a delivery: a digest of its log group, stream and every event id. */
export function deliveryId(data: CloudWatchLogsDecodedData): string {
  const hash = createHash('sha256').update(`${data.logGroup}\n${data.logStream}\n`);
  for (const event of data.logEvents) hash.update(`${event.id}\n`);
  return hash.digest('base64url');
}

export function createMetering(deps: MeteringDeps) {
  return async (event: CloudWatchLogsEvent): Promise<MeteringSummary | undefined> => {
    const data = decodeDelivery(event);
    if (data.messageType !== 'DATA_MESSAGE' || data.logEvents.length === 0) return undefined;
    const batchId = deliveryId(data);
    const batch = meterLines(
      data.logEvents.map((e) => e.message),
      deps.routes,
    );
    const clientIds = batch.minutes.map((m) => m.clientId);
    const creditClients = deps.quotas ? await deps.quotas.creditClients(clientIds) : new Set<string>();
    const result = await deps.sink.apply(batchId, batch, creditClients);
    // After the counts are in, and on a redelivery too: a check that failed last time is retried.
    const quotas = deps.quotas ? (await deps.quotas.check(clientIds, meteredKeys(batch.minutes))).filter((q) => q.outcome !== 'no_quota') : [];
    const anomalies = deps.anomalies ? await deps.anomalies.check(batch.minutes.map((m) => m.clientId)) : [];
    const oldest = Math.min(...data.logEvents.map((e) => e.timestamp));
    const deniedBy: Partial<Record<DenialReason, number>> = {};
    for (const m of batch.minutes)
      for (const [reason, n] of Object.entries(m.total.deniedBy)) deniedBy[reason as DenialReason] = (deniedBy[reason as DenialReason] ?? 0) + n;
    return {
      batchId,
      ...result,
      lines: batch.lines,
      unattributed: batch.unattributed,
      ignored: batch.ignored,
      lagMs: deps.now() - oldest,
      deniedBy,
      quotas,
      anomalies,
    };
  };
}
