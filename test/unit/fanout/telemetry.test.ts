import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../../common/names';
import { Metric } from '../../../common/metrics';
import { RevocationKind, type RevocationEntry } from '../../../common/revocation-feed';
import { PowertoolsFanoutTelemetry } from '../../../lambda/fanout/telemetry';

/** Powertools writes JSON log lines (warnings and errors to stderr) and EMF documents to stdout. */
let lines: Record<string, unknown>[];

beforeEach(() => {
  lines = [];
  const capture = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const telemetry = () =>
  new PowertoolsFanoutTelemetry(new Logger({ serviceName: 'tollgate-fanout' }), new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'tollgate-fanout' }));
const entry: RevocationEntry = { kind: RevocationKind.Token, value: 'jti-42', revokedAtMs: 1_800_000_000_000, purgeAt: 1_800_000_930 };
const stage = { restApiId: 'abc123', stageName: 'v1' };

const logs = () => lines.filter((line) => 'message' in line);
const emf = () => lines.find((line) => '_aws' in line);

describe('PowertoolsFanoutTelemetry', () => {
  it('logs each revocation fanned out with kind, value and lag, and counts it', () => {
    const t = telemetry();
    t.appended(entry, { outcome: 'written', bucket: '1799996400#0', seq: '1800000000250#abc', writtenAtMs: 1_800_000_000_200, durableAtMs: 1_800_000_000_250 });
    t.batchDone();
    expect(logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'revocation fanned out',
        kind: 'jti',
        value: 'jti-42',
        lagMs: 250,
        bucket: '1799996400#0',
        seq: '1800000000250#abc',
      }),
    ]);
    expect(emf()).toMatchObject({ [Metric.revocationsFannedOut]: 1, [Metric.revocationFanoutLagMs]: 250 });
  });

  it('counts duplicates skipped separately and does not count them as fanned out', () => {
    const t = telemetry();
    t.appended(entry, { outcome: 'duplicate', writtenAtMs: 1_800_000_000_250, durableAtMs: 1_800_000_000_250 });
    t.batchDone();
    expect(logs()[0]).toMatchObject({ message: 'revocation already in the feed', kind: 'jti', value: 'jti-42' });
    expect(emf()).toMatchObject({ [Metric.revocationDuplicatesSkipped]: 1 });
    expect(emf()).not.toHaveProperty(Metric.revocationsFannedOut);
  });

  it('logs a retried flush as a warning and counts only the final failure', () => {
    const t = telemetry();
    t.flushFailed(stage, Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' }), 1, false);
    t.flushFailed(stage, Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' }), 2, true);
    t.batchDone();
    expect(logs().map((l) => [l.level, l.attempt, (l.error as { name: string }).name])).toEqual([
      ['WARN', 1, 'TooManyRequestsException'],
      ['ERROR', 2, 'TooManyRequestsException'],
    ]);
    expect(emf()).toMatchObject({ [Metric.cacheFlushFailures]: 1 });
  });

  it('logs a failed record by its identifiers only', () => {
    const t = telemetry();
    t.recordFailed({ eventID: 'e1', sequenceNumber: '000123', eventSourceARN: 'arn:x' }, new Error('attribute "exp" is not a number'));
    expect(logs()[0]).toMatchObject({
      level: 'ERROR',
      eventID: 'e1',
      sequenceNumber: '000123',
      error: { name: 'Error', message: 'attribute "exp" is not a number' },
    });
  });

  it('emits nothing at the end of a batch that recorded no metric', () => {
    const t = telemetry();
    t.flushed(stage, 1);
    t.batchDone();
    expect(emf()).toBeUndefined();
    expect(logs()[0]).toMatchObject({ message: 'authorizer cache flushed', restApiId: 'abc123', stageName: 'v1', attempts: 1 });
  });
});
