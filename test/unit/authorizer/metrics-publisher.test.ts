import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../../common/names';
import { Metric, MetricDimension, SERVICE_NAME_ENV, serviceName, serviceNameFrom } from '../../../common/metrics';
import { AuthorizerDetailMetric, EmfMetricsPublisher, REASON_DIMENSION } from '../../../lambda/authorizer/metrics-publisher';
import type { TelemetrySnapshot } from '../../../lambda/authorizer/telemetry';

afterEach(() => vi.restoreAllMocks());

/** Runs `fn` and returns the EMF documents Powertools wrote to stdout. */
function emfWritten(fn: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('_aws'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const snapshot = (overrides: Partial<TelemetrySnapshot> = {}): TelemetrySnapshot => ({
  decisions: [],
  latencySamplesMs: [],
  cacheHits: 0,
  cacheMisses: 0,
  revocationViewAgesMs: [Number.POSITIVE_INFINITY],
  keyRingRefreshes: 0,
  keyRingRefreshFailures: 0,
  revocationReadFailures: 0,
  revocationEntriesAdded: 0,
  ...overrides,
});

const publisher = () => new EmfMetricsPublisher(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceName('authorizer') }));
type Emf = { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;

describe('EmfMetricsPublisher', () => {
  it('emits AuthorizerDecision per outcome with exactly the service and outcome dimensions the alarms read', () => {
    const docs = emfWritten(() =>
      publisher().publish(
        snapshot({
          decisions: [
            { outcome: 'allow', reason: 'allow', count: 90 },
            { outcome: 'reject', reason: 'expired', count: 3 },
            { outcome: 'reject', reason: 'revoked', count: 2 },
            { outcome: 'forbid', reason: 'insufficient_scope', count: 1 },
            { outcome: 'reject', reason: 'revocation_view_stale', count: 4 },
          ],
        }),
      ),
    ) as Emf[];
    const decisions = docs.filter((d) => Metric.decision in d);
    // A stale view says nothing about the token: counted as unavailable (503), not unauthorized (401).
    expect(decisions.map((d) => [d[MetricDimension.outcome], d[Metric.decision]])).toEqual([
      ['allow', 90],
      ['forbidden', 1],
      ['unauthorized', 5],
      ['unavailable', 4],
    ]);
    for (const d of decisions) {
      expect(d._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
      expect([...d._aws.CloudWatchMetrics[0]!.Dimensions[0]!].sort()).toEqual([MetricDimension.outcome, MetricDimension.service]);
      expect(d.service).toBe(serviceName('authorizer'));
    }
    const refusals = docs.filter((d) => AuthorizerDetailMetric.refusals in d);
    expect(refusals.map((d) => [d.outcome, d[REASON_DIMENSION], d[AuthorizerDetailMetric.refusals]])).toEqual([
      ['unauthorized', 'expired', 3],
      ['unauthorized', 'revoked', 2],
      ['forbidden', 'insufficient_scope', 1],
      ['unavailable', 'revocation_view_stale', 4],
    ]);
  });

  it('emits latency samples, view ages and the instance counters without extra dimensions', () => {
    const docs = emfWritten(() =>
      publisher().publish(
        snapshot({
          latencySamplesMs: [0.004, 0.09, 1.5],
          revocationViewAgesMs: [420, 31_000],
          cacheHits: 80,
          cacheMisses: 20,
          revocationReadFailures: 2,
          revocationEntriesAdded: 5,
          keyRingRefreshes: 1,
        }),
      ),
    ) as Emf[];
    const instance = docs.find((d) => Metric.authorizerLatencyMs in d)!;
    expect(instance).toMatchObject({
      [Metric.authorizerLatencyMs]: [0.004, 0.09, 1.5],
      [Metric.revocationViewAgeMs]: [420, 31_000],
      [Metric.revocationFeedReadFailures]: 2,
      [AuthorizerDetailMetric.cacheHits]: 80,
      [AuthorizerDetailMetric.cacheHitRatio]: 80,
      [AuthorizerDetailMetric.revocationEntriesAdded]: 5,
      [AuthorizerDetailMetric.keyRingRefreshes]: 1,
    });
    expect(instance._aws.CloudWatchMetrics[0]!.Dimensions[0]).toEqual([MetricDimension.service]);
  });

  it('leaves out the ratio without lookups and the age before the first read', () => {
    const docs = emfWritten(() => publisher().publish(snapshot({ keyRingRefreshFailures: 1 }))) as Emf[];
    const instance = docs.find((d) => AuthorizerDetailMetric.keyRingRefreshFailures in d)!;
    expect(instance).not.toHaveProperty(AuthorizerDetailMetric.cacheHitRatio);
    expect(instance).not.toHaveProperty(Metric.revocationViewAgeMs);
    expect(instance).toMatchObject({ [AuthorizerDetailMetric.keyRingRefreshFailures]: 1 });
  });
});

describe('serviceNameFrom', () => {
  it('is the deployment’s own service the stack set, else the function’s name outside a deployment', () => {
    expect(serviceNameFrom({ [SERVICE_NAME_ENV]: 'Orders_Auth-authorizer' }, 'authorizer')).toBe('Orders_Auth-authorizer');
    expect(serviceNameFrom({}, 'authorizer')).toBe(serviceName('authorizer'));
    expect(serviceNameFrom({ [SERVICE_NAME_ENV]: ' ' }, 'authorizer')).toBe('tollgate-authorizer');
  });

  it('is the service an explicitly named Metrics emits under (Powertools prefers it to the variable)', () => {
    const service = serviceNameFrom({ [SERVICE_NAME_ENV]: 'Orders_Auth-authorizer' }, 'authorizer');
    const docs = emfWritten(() =>
      new EmfMetricsPublisher(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service })).publish(snapshot({ revocationReadFailures: 1 })),
    );
    expect(docs.map((d) => d.service)).toContain('Orders_Auth-authorizer');
  });
});
