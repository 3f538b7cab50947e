import { describe, expect, it } from 'vitest';
import { anomaliesTable, keyQuotaView, quotaView, sparkline, topTable, usageTable, SPARKLINE_WIDTH } from '../../../cli/usage';
import type { UsagePoint, UsageSeries } from '../../../client/admin-api';
import { rows } from './harness';

const point = (start: string, requests: number, extra: Partial<UsagePoint> = {}): UsagePoint => ({
  start,
  requests,
  allowed: requests,
  throttled: 0,
  serverErrors: 0,
  denied: 0,
  deniedBy: {},
  ...extra,
});

describe('sparkline', () => {
  it('scales bars to the largest value; none is a dot', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe('·▁▂▄█');
    expect(sparkline([0, 0, 0])).toBe('···');
    expect(sparkline([])).toBe('');
  });

  it('sums more points than its width into that many columns, keeping the total shape', () => {
    const day = Array.from({ length: 1440 }, (_, i) => (i >= 720 ? 10 : 0));
    const line = sparkline(day);
    expect(line).toHaveLength(SPARKLINE_WIDTH);
    expect(line.slice(0, 30)).toBe('·'.repeat(30));
    expect(line.slice(30)).toBe('█'.repeat(30));
  });
});

describe('usageTable', () => {
  it('has a row per outcome and denial reason with its total and trend, and the peak of distinct networks', () => {
    const view: UsageSeries = {
      clientId: 'acme',
      granularity: 'minute',
      from: '2026-12-06T20:00:00.000Z',
      to: '2026-12-06T20:02:00.000Z',
      points: [
        point('2026-12-06T20:00:00.000Z', 4, { networks: 1 }),
        point('2026-12-06T20:01:00.000Z', 0, { networks: 0 }),
        point('2026-12-06T20:02:00.000Z', 8, { allowed: 5, denied: 3, deniedBy: { access_denied: 3 }, networks: 3 }),
      ],
      totals: { requests: 12, allowed: 9, throttled: 0, serverErrors: 0, denied: 3, deniedBy: { access_denied: 3 } },
    };
    const text = usageTable(view);
    expect(text.split('\n')[0]).toBe('Usage of acme per minute, 2026-12-06T20:00Z to 2026-12-06T20:02Z (3 points)');
    expect(rows(text).slice(1)).toEqual([
      ['OUTCOME', 'TOTAL', 'TREND'],
      ['requests', '12', '▄·█'],
      ['allowed', '9', '▇·█'],
      ['denied', '3', '··█'],
      ['', 'access_denied', '3', '··█'],
      ['throttled', '0', '···'],
      ['5xx', '0', '···'],
      ['networks (max)', '3', '▃·█'],
    ]);
  });
});

describe('topTable', () => {
  it('says so when no client matches', () => {
    expect(topTable({ by: 'throttled', window: '1h', from: '2026-12-06T20:00:00.000Z', to: '2026-12-06T21:00:00.000Z', clients: [] })).toBe(
      'Top clients by throttled, 2026-12-06T20:00Z to 2026-12-06T21:00Z (1h)\nNo client has throttled in this window.',
    );
  });
});

describe('anomaliesTable', () => {
  it('lists each flag with its minute, rule, baseline, observed value and response', () => {
    const minute = Date.UTC(2026, 11, 6, 20, 0) / 1000;
    const text = anomaliesTable({
      anomalies: [
        {
          clientId: 'acme',
          rule: 'rate_spike',
          minute,
          baseline: 4.5,
          observed: 120,
          response: 'suspend',
          flaggedAt: minute + 120,
          suspendedUntil: minute + 3720,
        },
        { clientId: 'zeta', rule: 'new_networks', minute, baseline: 2, observed: 9, response: 'notify', flaggedAt: minute + 120 },
        {
          clientId: 'zeta',
          rule: 'key_network_spread',
          minute,
          baseline: 1,
          observed: 2,
          response: 'notify',
          flaggedAt: minute + 120,
          keyId: 'key_0123456789abcdef0123',
        },
      ],
    });
    expect(rows(text)).toEqual([
      ['MINUTE', 'CLIENT', 'RULE', 'BASELINE', 'OBSERVED', 'RESPONSE'],
      ['2026-12-06T20:00:00Z', 'acme', 'rate_spike', '4.5', '120', 'suspended until 2026-12-06T21:02:00Z'],
      ['2026-12-06T20:00:00Z', 'zeta', 'new_networks', '2', '9', 'notify'],
      ['2026-12-06T20:00:00Z', 'zeta', 'key_network_spread (key_0123456789abcdef0123)', '1', '2', 'notify'],
    ]);
    expect(anomaliesTable({ anomalies: [] })).toBe('No anomaly flagged in this window.');
  });
});

describe('keyQuotaView', () => {
  it('shows the key, its client, its own quota with what is left, and its suspension', () => {
    const text = keyQuotaView({
      keyId: 'key_0123456789abcdef0123',
      clientId: 'acme',
      quota: { limit: 20, period: 'DAY' },
      period: { start: Date.UTC(2026, 11, 6) / 1000, end: Date.UTC(2026, 11, 7) / 1000, used: 20, remaining: 0 },
      suspendedUntil: Date.UTC(2026, 11, 7) / 1000,
    });
    expect(rows(text)).toEqual([
      ['FIELD', 'VALUE'],
      ['key', 'key_0123456789abcdef0123'],
      ['client', 'acme'],
      ['quota', '20 per DAY'],
      ['this period', '20 used, 0 left, until 2026-12-07T00:00:00Z'],
      ['suspended', 'until 2026-12-07T00:00:00Z'],
    ]);
    expect(rows(keyQuotaView({ keyId: 'key_0123456789abcdef0123', clientId: 'acme' }))).toContainEqual(['quota', 'none']);
  });

  it('shows a waiver in force after a resume', () => {
    const end = Date.UTC(2026, 11, 7) / 1000;
    const period = { start: end - 86_400, end, used: 25, remaining: 0 };
    const waived = ['waived', 'until 2026-12-07T00:00:00Z (resumed)'];
    expect(
      rows(keyQuotaView({ keyId: 'key_0123456789abcdef0123', clientId: 'acme', quota: { limit: 20, period: 'DAY' }, period, quotaWaivedUntil: end })),
    ).toContainEqual(waived);
    expect(rows(quotaView({ clientId: 'acme', quota: { limit: 20, period: 'DAY' }, period, quotaWaivedUntil: end }))).toContainEqual(waived);
  });
});
