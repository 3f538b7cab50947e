/**
 * `npm run bench -- --runs N`: the selected suites N times over, one figure per id.
 *
 * A figure is ranked by one number: what its target constrains (its value or its ratio to
 * the in-run comparison), or without a target its ratio if it has one, else its value. The
 * reported figure is the whole figure of the run whose number is the median of the runs,
 * so every ratio shown still comes from one run's interleaved comparison, and `runs`
 * records that number in every run for the spread. With an even count, of the two middle
 * runs the one less favourable to the target is reported. A figure that a failed suite
 * did not yield in some run is combined over the runs that yielded it.
 */
import type { RunSpread, StoredFigure } from './report';

export const MAX_RUNS = 9;

/** `--runs`: a whole number from 1 to {@link MAX_RUNS}; 1 when absent. */
export function parseRuns(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const runs = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || runs < 1 || runs > MAX_RUNS) {
    throw new Error(`--runs: a whole number from 1 to ${MAX_RUNS}, got "${raw}"`);
  }
  return runs;
}

/** The number a figure is judged by across runs: what its target constrains, else its ratio if it has one. */
function judged(figure: StoredFigure): { of: RunSpread['of']; value: number } {
  const of = figure.target?.on ?? (figure.comparison ? 'ratio' : 'value');
  return of === 'ratio' ? { of, value: figure.comparison!.ratio } : { of, value: figure.value };
}

/** One figure per id, from the run at the median of its judged number (see the module comment). */
export function combineRuns(runs: readonly (readonly StoredFigure[])[]): StoredFigure[] {
  if (runs.length === 1) return [...runs[0]!];
  const byId = new Map<string, StoredFigure[]>();
  for (const run of runs) for (const figure of run) byId.set(figure.id, [...(byId.get(figure.id) ?? []), figure]);
  return [...byId.values()].map((inRunOrder) => {
    const of = judged(inRunOrder[0]!).of;
    const values = inRunOrder.map((f) => judged(f).value);
    const ranked = [...inRunOrder].sort((a, b) => judged(a).value - judged(b).value);
    // Ascending, so the lower middle is the worse one unless smaller is better (`<=`).
    const middle = ranked[0]!.target?.op === '<=' ? ranked.length >> 1 : (ranked.length - 1) >> 1;
    const median = ranked[middle]!;
    // The median run's own `met` is the verdict: its target is judged on the very number ranked here.
    return { ...median, runs: { of, values, min: Math.min(...values), max: Math.max(...values) } };
  });
}
