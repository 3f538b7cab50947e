/**
 * The client certificate the stage presents to the upstream (mutual TLS) is valid for 365
 * days and API Gateway never renews it: once it expires, an upstream that verifies it
 * refuses every request. Step and status runs read its expiry (and that of a successor
 * being prepared), report both, and emit the presented one's remaining time, on which the
 * stack alarms well before the end. Renewing is two deployments (docs/deploy.md).
 */
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { Metric } from '../../../common/metrics';
import { iso } from './key-ring';
import { describeError } from './rotation-errors';
import type { ClientCertificateSource, MetricsSink } from './rotation-ports';
import type { RunLog } from './run-log';

/** The certificates to watch, by API Gateway client-certificate id. */
export interface UpstreamCertificates {
  /** The one the stage presents now. */
  readonly presented: string;
  /** Its successor, created ahead of the switch so the upstream can trust it first. */
  readonly next?: string;
}

export interface UpstreamCertificateView {
  readonly certificateId: string;
  readonly role: 'presented' | 'next';
  readonly expiresAt: string;
  /** Whole days until `expiresAt`; negative once it has passed. */
  readonly daysLeft: number;
}

export interface UpstreamCertificateWatch {
  readonly source: ClientCertificateSource;
  readonly certificates: UpstreamCertificates;
}

/**
 * The watched certificates' expiry, the presented one first. A certificate whose expiry
 * cannot be read is left out and named in the run's problems (so the run counts as failed
 * and the next one reads again), and no remaining time is emitted for it.
 */
export async function checkUpstreamCertificates(
  watch: UpstreamCertificateWatch,
  metrics: MetricsSink,
  nowSeconds: number,
  log: RunLog,
): Promise<UpstreamCertificateView[]> {
  const { presented, next } = watch.certificates;
  const watched = [{ certificateId: presented, role: 'presented' as const }, ...(next ? [{ certificateId: next, role: 'next' as const }] : [])];
  const read = await Promise.all(
    watched.map(async ({ certificateId, role }) => {
      try {
        return { certificateId, role, expiresAt: await watch.source.expiresAt(certificateId) };
      } catch (error) {
        log.problem(`reading the expiry of the upstream client certificate ${certificateId} (${role}) failed (${describeError(error)}); the next run retries`);
        return undefined;
      }
    }),
  );
  const views: UpstreamCertificateView[] = [];
  for (const certificate of read) {
    if (certificate === undefined) continue;
    const secondsLeft = certificate.expiresAt - nowSeconds;
    if (certificate.role === 'presented') metrics.record(Metric.upstreamCertificateSecondsLeft, secondsLeft, 'Seconds');
    views.push({
      certificateId: certificate.certificateId,
      role: certificate.role,
      expiresAt: iso(certificate.expiresAt),
      daysLeft: Math.floor(secondsLeft / SECONDS_PER_DAY),
    });
  }
  return views;
}
