/**
 * Timing loops. Operations run in batches with an event-loop turn between batches, as
 * Lambda gives each invocation its own turn: I/O the code under test started (the
 * authorizer's background revocation poll) completes between batches instead of piling
 * up behind a loop of microtasks. Only time inside batches is counted.
 *
 * CPU-bound work is measured in CPU time of this process (`process.cpuUsage`), not wall
 * time: the machine is shared, and a loop descheduled for a neighbour's test run would
 * otherwise look slower than it is. Wall time is kept alongside.
 */

export interface BatchTiming {
  readonly operations: number;
  /** Milliseconds of process CPU time inside batches. */
  readonly cpuMs: number;
  /** Milliseconds of wall time inside batches. */
  readonly elapsedMs: number;
  /** Mean CPU microseconds per operation of each batch. */
  readonly batchMeansMicros: readonly number[];
}

type Operation = (index: number) => unknown;

export const DEFAULT_BATCH = 100;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Awaits only what is a promise: a synchronous verifier is called as its users call it. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

export interface Contestant {
  readonly operations: number;
  readonly operation: Operation;
}

/**
 * Runs each contestant's operations in `batches` batches, taking turns batch by batch:
 * contestants compared with each other see the same machine conditions within
 * milliseconds of each other, not seconds apart.
 */
export async function interleaved(contestants: readonly Contestant[], batches: number): Promise<BatchTiming[]> {
  if (!Number.isInteger(batches) || batches <= 0) throw new RangeError(`batches must be a positive integer, got ${batches}`);
  for (const { operations } of contestants) {
    if (!Number.isInteger(operations) || operations < batches) throw new RangeError(`operations must be an integer ≥ batches (${batches}), got ${operations}`);
  }
  const timings = contestants.map(() => ({ cpuMs: 0, elapsedMs: 0, batchMeansMicros: [] as number[] }));
  for (let b = 0; b < batches; b += 1) {
    for (const [c, { operations, operation }] of contestants.entries()) {
      const start = Math.floor((operations * b) / batches);
      const end = Math.floor((operations * (b + 1)) / batches);
      const began = performance.now();
      const cpuBefore = process.cpuUsage();
      for (let i = start; i < end; i += 1) {
        const result = operation(i);
        if (isThenable(result)) await result;
      }
      const cpu = process.cpuUsage(cpuBefore);
      const timing = timings[c]!;
      timing.elapsedMs += performance.now() - began;
      timing.cpuMs += (cpu.user + cpu.system) / 1000;
      timing.batchMeansMicros.push((cpu.user + cpu.system) / (end - start));
      await turn();
    }
  }
  return timings.map((timing, c) => ({ operations: contestants[c]!.operations, ...timing }));
}

export async function timeBatches(operations: number, operation: Operation, batch = DEFAULT_BATCH): Promise<BatchTiming> {
  const [timing] = await interleaved([{ operations, operation }], Math.max(1, Math.ceil(operations / batch)));
  return timing!;
}

/** Operations per second of CPU time: the throughput of one core. */
export function perSecond(timing: BatchTiming): number {
  return (timing.operations * 1000) / timing.cpuMs;
}

/** Operations per second of wall time. */
export function perWallSecond(timing: BatchTiming): number {
  return (timing.operations * 1000) / timing.elapsedMs;
}

/** Monotonic nanoseconds, one clock for every thread of the process. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function millisBetween(fromNs: bigint, toNs: bigint): number {
  return Number(toNs - fromNs) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
