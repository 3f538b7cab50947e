/**
 * One reported figure: a measured value with its spread, the in-run comparison it is
 * judged against (a peer library, or the hardware/service limit measured in the same
 * run), and the target from issue 9. This is the shape of `bench/results/latest.json`.
 */
import { round, summarize } from './stats';

export type TargetOp = '<=' | '>=' | '>';

export interface Target {
  /** What the target constrains: the figure's value, or its ratio to the comparison. */
  readonly on: 'value' | 'ratio';
  readonly op: TargetOp;
  readonly limit: number;
  /** As written in the issue, e.g. "≥ 0.90 × raw verify". */
  readonly text: string;
}

export interface Comparison {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The figure's value ÷ this value (the median of per-round ratios when rounds are paired). */
  readonly ratio: number;
}

export interface Figure {
  readonly id: string;
  readonly name: string;
  /** The headline: the median of the samples unless the figure says otherwise (P4: p99). */
  readonly value: number;
  readonly unit: string;
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
  /** One value per round (per revocation for P4), in the order measured. */
  readonly samples: readonly number[];
  readonly comparison: Comparison | null;
  readonly target: Target | null;
  /** null when the figure has no target. */
  readonly met: boolean | null;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ComparisonInput {
  readonly name: string;
  readonly unit: string;
  /** The comparison's own per-round values; its median is the reported value. */
  readonly samples: readonly number[];
  /** Per-round ratios when both sides were measured in the same rounds. */
  readonly pairedRatios?: readonly number[];
}

export interface FigureInput {
  readonly id: string;
  readonly name: string;
  readonly unit: string;
  readonly samples: readonly number[];
  /** Overrides the median as the headline value. */
  readonly value?: number;
  readonly comparison?: ComparisonInput;
  readonly target?: Target;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export function meets(target: Target, actual: number): boolean {
  if (Number.isNaN(actual)) return false;
  switch (target.op) {
    case '<=':
      return actual <= target.limit;
    case '>=':
      return actual >= target.limit;
    case '>':
      return actual > target.limit;
  }
}

function comparisonOf(input: ComparisonInput, value: number): Comparison {
  const comparisonValue = summarize(input.samples).median;
  const ratio = input.pairedRatios?.length ? summarize(input.pairedRatios).median : value / comparisonValue;
  return { name: input.name, value: round(comparisonValue), unit: input.unit, ratio: round(ratio) };
}

export function figure(input: FigureInput): Figure {
  const summary = summarize(input.samples);
  const value = input.value ?? summary.median;
  const comparison = input.comparison ? comparisonOf(input.comparison, value) : null;
  if (input.target?.on === 'ratio' && !comparison) throw new Error(`${input.id}: a ratio target needs a comparison`);
  const judged = input.target?.on === 'ratio' ? comparison!.ratio : value;
  return {
    id: input.id,
    name: input.name,
    value: round(value),
    unit: input.unit,
    median: round(summary.median),
    p10: round(summary.p10),
    p90: round(summary.p90),
    min: round(summary.min),
    max: round(summary.max),
    samples: input.samples.map(round),
    comparison,
    target: input.target ?? null,
    met: input.target ? meets(input.target, judged) : null,
    ...(input.detail ? { detail: input.detail } : {}),
  };
}
