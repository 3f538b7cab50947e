import { describe, expect, it } from 'vitest';
import { figure, meets } from '../../../bench/lib/figure';
import { percentile, round, summarize } from '../../../bench/lib/stats';

describe('summaries of rounds', () => {
  it('interpolates percentiles between ranks', () => {
    const sorted = [10, 20, 30, 40, 50];
    expect(percentile(sorted, 50)).toBe(30);
    expect(percentile(sorted, 10)).toBe(14);
    expect(percentile(sorted, 99)).toBeCloseTo(49.6);
    expect(percentile([7], 90)).toBe(7);
  });

  it('summarises unsorted samples without reordering them', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ median: 3, p10: 1.4, p90: 4.6, min: 1, max: 5, count: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });

  it('refuses what has no summary', () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => summarize([1, Number.NaN])).toThrow(/NaN/);
    expect(() => percentile([1, 2], 101)).toThrow(/0–100/);
  });

  it('rounds to four significant digits and leaves non-finite values alone', () => {
    expect(round(123_456)).toBe(123_500);
    expect(round(0.000123456)).toBe(0.0001235);
    expect(round(Infinity)).toBe(Infinity);
  });
});

describe('figures', () => {
  const target = { on: 'ratio', op: '>=', limit: 0.9, text: '≥ 0.90' } as const;

  it('judges a ratio target on the median of the per-round ratios, not the ratio of medians', () => {
    const f = figure({
      id: 'P1.X',
      name: 'x',
      unit: 'ops/s',
      samples: [90, 100, 200],
      comparison: { name: 'raw', unit: 'ops/s', samples: [100, 100, 300], pairedRatios: [0.9, 1, 0.67] },
      target,
    });
    expect(f.value).toBe(100);
    expect(f.comparison).toEqual({ name: 'raw', value: 100, unit: 'ops/s', ratio: 0.9 });
    expect(f.met).toBe(true);
  });

  it('takes value ÷ comparison when rounds are not paired, and honours an explicit headline value', () => {
    const f = figure({ id: 'P4', name: 'p99', unit: 'ms', samples: [1, 2, 3], value: 2.9, comparison: { name: 'c', unit: 'ms', samples: [2] } });
    expect(f.value).toBe(2.9);
    expect(f.median).toBe(2);
    expect(f.comparison?.ratio).toBe(1.45);
    expect(f.met).toBeNull();
  });

  it('fails a value target that is missed, and one that cannot be judged', () => {
    const within = { on: 'value', op: '<=', limit: 3, text: '≤ 3' } as const;
    expect(figure({ id: 'P2', name: 'x', unit: 'µs', samples: [3.5, 4] }).met).toBeNull();
    expect(figure({ id: 'P2', name: 'x', unit: 'µs', samples: [3.5, 4], target: within }).met).toBe(false);
    expect(meets(within, Number.NaN)).toBe(false);
    expect(meets({ on: 'ratio', op: '>', limit: 1, text: '> 1' }, 1)).toBe(false);
  });

  it('refuses a ratio target without a comparison', () => {
    expect(() => figure({ id: 'P1.Y', name: 'x', unit: 'ops/s', samples: [1], target })).toThrow(/P1.Y: a ratio target needs a comparison/);
  });
});
