/**
 * The fan-out's logs and metrics through Powertools (JSON lines and CloudWatch EMF on
 * stdout). Every value logged is a public identifier — jti, keyId, clientId, kid — never a
 * key, a token or an item image.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { Metric } from '../../common/metrics';
import type { RevocationEntry } from '../../common/revocation-feed';
import type { AppendResult } from '../adapters/revocation-feed-writer';
import type { StageRef } from '../adapters/authorizer-cache-flusher';
import type { FanoutTelemetry, RecordRef } from './fan-out';

export class PowertoolsFanoutTelemetry implements FanoutTelemetry {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  appended(entry: RevocationEntry, result: AppendResult): void {
    const subject = { kind: entry.kind, value: entry.value };
    if (result.outcome === 'duplicate') {
      this.logger.info('revocation already in the feed', subject);
      this.metrics.addMetric(Metric.revocationDuplicatesSkipped, MetricUnit.Count, 1);
      return;
    }
    const lagMs = result.durableAtMs - entry.revokedAtMs;
    this.logger.info('revocation fanned out', { ...subject, lagMs, purgeAt: entry.purgeAt, bucket: result.bucket, seq: result.seq });
    this.metrics.addMetric(Metric.revocationsFannedOut, MetricUnit.Count, 1);
    this.metrics.addMetric(Metric.revocationFanoutLagMs, MetricUnit.Milliseconds, Math.max(0, lagMs));
  }

  recordFailed(record: RecordRef, error: unknown): void {
    this.logger.error('stream record failed; reported as a batch item failure', { ...record, error: describe(error) });
  }

  recordDiscarded(record: RecordRef, error: Error): void {
    this.logger.error('stream record discarded: no retry can read it', { ...record, error: describe(error) });
    this.metrics.addMetric(Metric.fanoutRecordsDiscarded, MetricUnit.Count, 1);
  }

  flushed(stage: StageRef, attempts: number): void {
    this.logger.info('authorizer cache flushed', { ...stage, attempts });
  }

  flushFailed(stage: StageRef, error: unknown, attempt: number, final: boolean): void {
    if (!final) {
      this.logger.warn('authorizer cache flush failed; retrying', { ...stage, attempt, error: describe(error) });
      return;
    }
    this.logger.error('authorizer cache flush failed; cached decisions expire with the cache TTL', { ...stage, attempt, error: describe(error) });
    this.metrics.addMetric(Metric.cacheFlushFailures, MetricUnit.Count, 1);
  }

  batchDone(): void {
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}

/** Name and message only: SDK errors carry request metadata, never our items. */
function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}
