/**
 * Publishes a telemetry batch as CloudWatch embedded metric format through Powertools
 * Metrics (namespace `METRICS_NAMESPACE`). Decision counts carry `outcome` and `reason`
 * dimensions so alarms can watch e.g. `reject/revocation_view_stale` on its own.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsPublisher, TelemetrySnapshot } from './telemetry';

export const AuthorizerMetric = {
  decisions: 'Decisions',
  cacheHits: 'VerifiedTokenCacheHits',
  cacheMisses: 'VerifiedTokenCacheMisses',
  cacheHitRatio: 'VerifiedTokenCacheHitRatio',
  revocationViewAge: 'RevocationViewAgeMs',
  keyRingRefreshes: 'KeyRingRefreshes',
  keyRingRefreshFailures: 'KeyRingRefreshFailures',
  revocationReadFailures: 'RevocationFeedReadFailures',
  revocationEntriesAdded: 'RevocationEntriesAdded',
} as const;

export class EmfMetricsPublisher implements MetricsPublisher {
  constructor(private readonly metrics: Metrics) {}

  publish(snapshot: TelemetrySnapshot): void {
    for (const { outcome, reason, count } of snapshot.decisions) {
      // A single metric is emitted at once with its own dimensions.
      const single = this.metrics.singleMetric();
      single.addDimension('outcome', outcome);
      single.addDimension('reason', reason);
      single.addMetric(AuthorizerMetric.decisions, MetricUnit.Count, count);
    }
    const m = this.metrics;
    const lookups = snapshot.cacheHits + snapshot.cacheMisses;
    m.addMetric(AuthorizerMetric.cacheHits, MetricUnit.Count, snapshot.cacheHits);
    m.addMetric(AuthorizerMetric.cacheMisses, MetricUnit.Count, snapshot.cacheMisses);
    if (lookups > 0) m.addMetric(AuthorizerMetric.cacheHitRatio, MetricUnit.Percent, (100 * snapshot.cacheHits) / lookups);
    if (Number.isFinite(snapshot.revocationViewAgeMs)) m.addMetric(AuthorizerMetric.revocationViewAge, MetricUnit.Milliseconds, snapshot.revocationViewAgeMs);
    m.addMetric(AuthorizerMetric.keyRingRefreshes, MetricUnit.Count, snapshot.keyRingRefreshes);
    m.addMetric(AuthorizerMetric.keyRingRefreshFailures, MetricUnit.Count, snapshot.keyRingRefreshFailures);
    m.addMetric(AuthorizerMetric.revocationReadFailures, MetricUnit.Count, snapshot.revocationReadFailures);
    m.addMetric(AuthorizerMetric.revocationEntriesAdded, MetricUnit.Count, snapshot.revocationEntriesAdded);
    m.publishStoredMetrics();
  }
}
