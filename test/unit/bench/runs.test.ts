import { describe, expect, it } from 'vitest';
import { figure, type Target } from '../../../bench/lib/figure';
import { consoleTable, markdownSection, type Results, type StoredFigure } from '../../../bench/lib/report';
import { combineRuns, MAX_RUNS, parseRuns } from '../../../bench/lib/runs';

const AT_LEAST_090: Target = { on: 'ratio', op: '>=', limit: 0.9, text: '≥ 0.90 × raw verify' };
const AT_MOST_3: Target = { on: 'value', op: '<=', limit: 3, text: '≤ 3 µs' };

/** A figure whose in-run comparison yields `ratio` (value ÷ 100). */
function ratioFigure(id: string, value: number, target: Target | undefined = AT_LEAST_090): StoredFigure {
  return {
    ...figure({ id, name: id, unit: 'decisions/CPU-s', samples: [value], comparison: { name: 'raw', unit: 'verifies/CPU-s', samples: [100] }, target }),
    measuredAt: `run with ${value}`,
  };
}

function valueFigure(id: string, value: number): StoredFigure {
  return {
    ...figure({ id, name: id, unit: 'µs', samples: [value], comparison: { name: 'one verify', unit: 'µs', samples: [60] }, target: AT_MOST_3 }),
    measuredAt: `run with ${value}`,
  };
}

describe('--runs', () => {
  it('reads a whole number from 1 to the maximum, 1 when absent', () => {
    expect(parseRuns(undefined)).toBe(1);
    expect(parseRuns('3')).toBe(3);
    expect(parseRuns(String(MAX_RUNS))).toBe(MAX_RUNS);
  });

  it.each(['0', '-1', '2.5', '1e1', 'three', '', ' ', String(MAX_RUNS + 1)])('refuses %j, naming the option and the range', (raw) => {
    expect(() => parseRuns(raw)).toThrow(`--runs: a whole number from 1 to ${MAX_RUNS}, got "${raw}"`);
  });
});

describe('combining runs', () => {
  it('reports, per figure, the whole figure of the median run by ratio, with every run for the spread', () => {
    const combined = combineRuns([[ratioFigure('P1', 88)], [ratioFigure('P1', 91)], [ratioFigure('P1', 86)]]);
    expect(combined).toHaveLength(1);
    const [p1] = combined;
    // The median run is the one at 0.88, and its own comparison and verdict come with it.
    expect(p1!.measuredAt).toBe('run with 88');
    expect(p1!.comparison!.ratio).toBe(0.88);
    expect(p1!.met).toBe(false);
    expect(p1!.runs).toEqual({ of: 'ratio', values: [0.88, 0.91, 0.86], min: 0.86, max: 0.91 });
  });

  it('judges by the value when the target constrains the value, even with a comparison', () => {
    const [p2] = combineRuns([[valueFigure('P2', 1.2)], [valueFigure('P2', 0.9)], [valueFigure('P2', 3.5)]]);
    expect(p2!.value).toBe(1.2);
    expect(p2!.met).toBe(true);
    expect(p2!.runs).toMatchObject({ of: 'value', min: 0.9, max: 3.5 });
  });

  it('of two middle runs reports the one less favourable to the target', () => {
    const ratios = combineRuns([[ratioFigure('P1', 89)], [ratioFigure('P1', 92)], [ratioFigure('P1', 91)], [ratioFigure('P1', 86)]]);
    expect(ratios[0]!.comparison!.ratio).toBe(0.89);
    expect(ratios[0]!.met).toBe(false);
    const latencies = combineRuns([[valueFigure('P2', 1)], [valueFigure('P2', 2)], [valueFigure('P2', 4)], [valueFigure('P2', 3.2)]]);
    expect(latencies[0]!.value).toBe(3.2);
    expect(latencies[0]!.met).toBe(false);
  });

  it('ranks a figure without a target by its ratio, and one without a comparison by its value', () => {
    const noTarget = (value: number) => ratioFigure('P1.openssl', value, undefined);
    const bare = (value: number): StoredFigure => ({ ...figure({ id: 'S1', name: 'S1', unit: 'B', samples: [value] }), measuredAt: '' });
    const combined = combineRuns([
      [noTarget(110), bare(460)],
      [noTarget(105), bare(470)],
      [noTarget(120), bare(465)],
    ]);
    expect(combined.map((f) => [f.id, f.runs?.of, f.value])).toEqual([
      ['P1.openssl', 'ratio', 110],
      ['S1', 'value', 465],
    ]);
  });

  it('combines a figure over the runs that yielded it (its suite failed in another)', () => {
    const [p1, p5] = combineRuns([[ratioFigure('P1', 88), valueFigure('P5', 2)], [ratioFigure('P1', 90)], [ratioFigure('P1', 87), valueFigure('P5', 1)]]);
    expect(p1!.runs!.values).toEqual([0.88, 0.9, 0.87]);
    expect(p5!.runs).toEqual({ of: 'value', values: [2, 1], min: 1, max: 2 });
    expect(p5!.value).toBe(2);
  });

  it('leaves a single run as it is, with no spread', () => {
    const one = [ratioFigure('P1', 88)];
    expect(combineRuns([one])).toEqual(one);
  });
});

describe('reporting combined runs', () => {
  const results = (figures: StoredFigure[], runs: number): Results => ({
    machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 24, node: 'v20', platform: 'linux-x64', date: '2026-12-07T00:00:00.000Z', loadAverageAtStart: 0.3 },
    run: { quick: false, only: [], runs, durationSeconds: 700, loadAverageAtEnd: 1.2 },
    figures,
    failures: [],
  });

  it("shows each figure's spread over the runs beside the median run's row, and says how the rows were chosen", () => {
    const combined = combineRuns([[ratioFigure('P1', 88)], [ratioFigure('P1', 91)], [ratioFigure('P1', 86)]]);
    const section = markdownSection(results(combined, 3));
    expect(section).toContain('3 runs, each row from the run at the median of what it is judged by');
    expect(section).toContain('| median [min–max] over runs |');
    expect(section).toContain('| ratio 0.880 [0.860–0.910] over 3 runs |');
    expect(consoleTable(combined)).toContain('ratio 0.880 [0.860–0.910] over 3 runs');
  });

  it('keeps the one-run table as it was', () => {
    const section = markdownSection(results([ratioFigure('P1', 88)], 1));
    expect(section).not.toContain('over runs');
    expect(section).not.toContain('runs, each row');
  });
});
