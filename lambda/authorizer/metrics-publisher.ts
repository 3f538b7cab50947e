/**
 * Publishes a telemetry batch as CloudWatch embedded metric format through Powertools
 * Metrics (namespace `METRICS_NAMESPACE`).
 *
 * The metrics the dashboard and alarms read come from `common/metrics.ts` with exactly
 * the dimensions listed there (CloudWatch identifies a metric by name + dimension set):
 * `AuthorizerDecision` per `outcome`, `AuthorizerLatencyMs`, `RevocationViewAgeMs`,
 * `RevocationFeedReadFailures`. The detail below (refusal reasons, caches, key ring) is
 * for investigations and carries its own names.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { DecisionOutcome, Metric, MetricDimension } from '../../common/metrics';
import { UNAVAILABLE_REASONS, type RejectReason } from '../core/authorizer/authorizer-errors';
import type { Decision } from '../core/authorizer/authorizer';
import type { MetricsPublisher, TelemetrySnapshot } from './telemetry';

/** Authorizer detail metrics, not on the dashboard. */
export const AuthorizerDetailMetric = {
  /** Refusals (403 and 401) per `outcome` and `reason` code. Count. */
  refusals: 'AuthorizerRefusals',
  cacheHits: 'VerifiedTokenCacheHits',
  cacheMisses: 'VerifiedTokenCacheMisses',
  cacheHitRatio: 'VerifiedTokenCacheHitRatio',
  keyRingRefreshes: 'KeyRingRefreshes',
  keyRingRefreshFailures: 'KeyRingRefreshFailures',
  revocationEntriesAdded: 'RevocationEntriesAdded',
} as const;
export const REASON_DIMENSION = 'reason';

const OUTCOME: { readonly [K in Decision['outcome']]: DecisionOutcome } = {
  allow: DecisionOutcome.allow,
  forbid: DecisionOutcome.forbidden,
  reject: DecisionOutcome.unauthorized,
};

export class EmfMetricsPublisher implements MetricsPublisher {
  constructor(private readonly metrics: Metrics) {}

  publish(snapshot: TelemetrySnapshot): void {
    this.publishDecisions(snapshot);
    const m = this.metrics;
    for (const ms of snapshot.latencySamplesMs) m.addMetric(Metric.authorizerLatencyMs, MetricUnit.Milliseconds, ms);
    for (const ms of snapshot.revocationViewAgesMs) if (Number.isFinite(ms)) m.addMetric(Metric.revocationViewAgeMs, MetricUnit.Milliseconds, ms);
    m.addMetric(Metric.revocationFeedReadFailures, MetricUnit.Count, snapshot.revocationReadFailures);
    const lookups = snapshot.cacheHits + snapshot.cacheMisses;
    m.addMetric(AuthorizerDetailMetric.cacheHits, MetricUnit.Count, snapshot.cacheHits);
    m.addMetric(AuthorizerDetailMetric.cacheMisses, MetricUnit.Count, snapshot.cacheMisses);
    if (lookups > 0) m.addMetric(AuthorizerDetailMetric.cacheHitRatio, MetricUnit.Percent, (100 * snapshot.cacheHits) / lookups);
    m.addMetric(AuthorizerDetailMetric.keyRingRefreshes, MetricUnit.Count, snapshot.keyRingRefreshes);
    m.addMetric(AuthorizerDetailMetric.keyRingRefreshFailures, MetricUnit.Count, snapshot.keyRingRefreshFailures);
    m.addMetric(AuthorizerDetailMetric.revocationEntriesAdded, MetricUnit.Count, snapshot.revocationEntriesAdded);
    m.publishStoredMetrics();
  }

  /**
   * One single metric per outcome (zeros included, so the dashboard's lines are
   * continuous), with only the `outcome` dimension the alarms expect; refusal reasons as
   * a separate metric so that extra dimension never lands on `AuthorizerDecision`.
   */
  private publishDecisions(snapshot: TelemetrySnapshot): void {
    const byOutcome = new Map<DecisionOutcome, number>(Object.values(DecisionOutcome).map((o) => [o, 0]));
    for (const { outcome, reason, count } of snapshot.decisions) {
      const counted = outcome === 'reject' && UNAVAILABLE_REASONS.has(reason as RejectReason) ? DecisionOutcome.unavailable : OUTCOME[outcome];
      byOutcome.set(counted, byOutcome.get(counted)! + count);
      if (outcome === 'allow') continue;
      const single = this.metrics.singleMetric();
      single.addDimension(MetricDimension.outcome, counted);
      single.addDimension(REASON_DIMENSION, reason);
      single.addMetric(AuthorizerDetailMetric.refusals, MetricUnit.Count, count);
    }
    for (const [outcome, count] of byOutcome) {
      const single = this.metrics.singleMetric();
      single.addDimension(MetricDimension.outcome, outcome);
      single.addMetric(Metric.decision, MetricUnit.Count, count);
    }
  }
}
