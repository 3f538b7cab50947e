import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../../common/config';
import { AuthorizerMetric, EmfMetricsPublisher } from '../../../lambda/authorizer/metrics-publisher';

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
  return lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('_aws')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('EmfMetricsPublisher', () => {
  it('writes decision counts with outcome/reason dimensions and the instance metrics, in our namespace', () => {
    const publisher = new EmfMetricsPublisher(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'tollgate-authorizer' }));
    const docs = emfWritten(() =>
      publisher.publish({
        decisions: [
          { outcome: 'allow', reason: 'allow', count: 90 },
          { outcome: 'reject', reason: 'expired', count: 3 },
        ],
        cacheHits: 80,
        cacheMisses: 20,
        revocationViewAgeMs: 420,
        keyRingRefreshes: 1,
        keyRingRefreshFailures: 0,
        revocationReadFailures: 2,
        revocationEntriesAdded: 5,
      }),
    );
    expect(docs).toHaveLength(3);
    const expired = docs.find((d) => d.reason === 'expired')!;
    expect(expired).toMatchObject({ outcome: 'reject', [AuthorizerMetric.decisions]: 3 });
    const aws = expired._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    expect(aws.CloudWatchMetrics[0]!.Dimensions[0]).toEqual(expect.arrayContaining(['outcome', 'reason']));
    const instance = docs.find((d) => AuthorizerMetric.cacheHitRatio in d)!;
    expect(instance).toMatchObject({
      [AuthorizerMetric.cacheHits]: 80,
      [AuthorizerMetric.cacheHitRatio]: 80,
      [AuthorizerMetric.revocationViewAge]: 420,
      [AuthorizerMetric.revocationReadFailures]: 2,
      [AuthorizerMetric.revocationEntriesAdded]: 5,
    });
  });

  it('leaves out the ratio without lookups and the age before the first read', () => {
    const publisher = new EmfMetricsPublisher(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'tollgate-authorizer' }));
    const [doc] = emfWritten(() =>
      publisher.publish({
        decisions: [],
        cacheHits: 0,
        cacheMisses: 0,
        revocationViewAgeMs: Number.POSITIVE_INFINITY,
        keyRingRefreshes: 0,
        keyRingRefreshFailures: 1,
        revocationReadFailures: 0,
        revocationEntriesAdded: 0,
      }),
    );
    expect(doc).not.toHaveProperty(AuthorizerMetric.cacheHitRatio);
    expect(doc).not.toHaveProperty(AuthorizerMetric.revocationViewAge);
    expect(doc).toMatchObject({ [AuthorizerMetric.keyRingRefreshFailures]: 1 });
  });
});
