import { describe, expect, it } from 'vitest';
import { Metric } from '../../../common/metrics';
import type { ClientCertificateSource } from '../../../lambda/core/rotation/rotation-ports';
import { RotationMetric } from '../../../lambda/core/rotation/rotation-service';
import { harness, START_MS } from './fakes';

const DAY = 86_400;
const START = START_MS / 1000;
const STEP = { action: 'step', scheduled: true } as const;

/** Client certificates by id, with their expiry in epoch seconds; an Error answers that id's read. */
class FakeCertificates implements ClientCertificateSource {
  readonly reads: string[] = [];
  constructor(private readonly expiry: Record<string, number | Error>) {}

  async expiresAt(certificateId: string): Promise<number> {
    this.reads.push(certificateId);
    const known = this.expiry[certificateId];
    if (known === undefined) throw new Error(`NotFoundException: Invalid client certificate identifier specified`);
    if (known instanceof Error) throw known;
    return known;
  }
}

describe('rotation service: the upstream client certificates', () => {
  it('reports the presented certificate on a step, with whole days left, and emits its seconds left', async () => {
    const h = harness();
    const source = new FakeCertificates({ abc123: START + 200 * DAY + 3600 });
    const report = await h.service({ upstreamCertificates: { source, certificates: { presented: 'abc123' } } }).run(STEP);

    expect(report.upstreamCertificates).toEqual([{ certificateId: 'abc123', role: 'presented', expiresAt: '2025-07-20T01:00:00.000Z', daysLeft: 200 }]);
    expect(h.metrics.last(Metric.upstreamCertificateSecondsLeft)).toBe(200 * DAY + 3600);
    expect(h.metrics.recorded.find((m) => m.name === Metric.upstreamCertificateSecondsLeft)?.unit).toBe('Seconds');
    expect(report.problems).toEqual([]);
  });

  it("reports the successor being prepared too, but emits only the presented one's time", async () => {
    const h = harness();
    const source = new FakeCertificates({ old111: START + 20 * DAY, new222: START + 365 * DAY });
    const report = await h.service({ upstreamCertificates: { source, certificates: { presented: 'old111', next: 'new222' } } }).run({ action: 'status' });

    expect(report.upstreamCertificates).toEqual([
      { certificateId: 'old111', role: 'presented', expiresAt: '2025-01-21T00:00:00.000Z', daysLeft: 20 },
      { certificateId: 'new222', role: 'next', expiresAt: '2026-01-01T00:00:00.000Z', daysLeft: 365 },
    ]);
    expect(h.metrics.recorded.filter((m) => m.name === Metric.upstreamCertificateSecondsLeft).map((m) => m.value)).toEqual([20 * DAY]);
  });

  it('counts days left down past zero once the certificate has expired', async () => {
    const h = harness();
    const source = new FakeCertificates({ abc123: START - DAY - 1 });
    const report = await h.service({ upstreamCertificates: { source, certificates: { presented: 'abc123' } } }).run(STEP);
    expect(report.upstreamCertificates).toEqual([expect.objectContaining({ daysLeft: -2 })]);
    expect(h.metrics.last(Metric.upstreamCertificateSecondsLeft)).toBe(-DAY - 1);
  });

  it("turns a failed read into a problem naming the certificate (the run counts as failed), emits nothing for it and still does the ring's work", async () => {
    const h = harness();
    const source = new FakeCertificates({ abc123: new Error('AccessDeniedException: not authorized to perform apigateway:GET') });
    const report = await h.service({ upstreamCertificates: { source, certificates: { presented: 'abc123' } } }).run(STEP);

    expect(report.upstreamCertificates).toEqual([]);
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^reading the expiry of the upstream client certificate abc123 \(presented\) failed \(.*AccessDeniedException.*\); the next run retries$/,
      ),
    ]);
    expect(h.warnings.messages).toEqual(report.problems);
    expect(h.metrics.last(Metric.upstreamCertificateSecondsLeft)).toBeUndefined();
    expect(h.metrics.last(RotationMetric.problems)).toBe(1);
    // The ring was bootstrapped all the same.
    expect(report.ring.activeKid).toBe('kid-1');
  });

  it("keeps the presented certificate's figure when only the successor cannot be read", async () => {
    const h = harness();
    const source = new FakeCertificates({ old111: START + 40 * DAY });
    const report = await h.service({ upstreamCertificates: { source, certificates: { presented: 'old111', next: 'gone99' } } }).run(STEP);
    expect(report.upstreamCertificates).toEqual([expect.objectContaining({ certificateId: 'old111', daysLeft: 40 })]);
    expect(report.problems).toEqual([expect.stringContaining('gone99 (next)')]);
    expect(h.metrics.last(Metric.upstreamCertificateSecondsLeft)).toBe(40 * DAY);
  });

  it('is not read on rotate or compromised (the admin API waits for those), nor where none is configured', async () => {
    const h = harness();
    const source = new FakeCertificates({ abc123: START + 100 * DAY });
    const watched = h.service({ upstreamCertificates: { source, certificates: { presented: 'abc123' } } });
    await watched.run(STEP);
    source.reads.length = 0;
    const rotated = await watched.run({ action: 'rotate' });
    expect(rotated.upstreamCertificates).toBeNull();
    expect(source.reads).toEqual([]);

    const unwatched = await h.service().run({ action: 'status' });
    expect(unwatched.upstreamCertificates).toBeNull();
  });
});
