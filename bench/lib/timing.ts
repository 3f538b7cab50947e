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

export async function timeBatches(operations: number, operation: Operation, batch = DEFAULT_BATCH): Promise<BatchTiming> {
  if (!Number.isInteger(operations) || operations <= 0) throw new RangeError(`operations must be a positive integer, got ${operations}`);
  const batchMeansMicros: number[] = [];
  let elapsedMs = 0;
  let cpuMs = 0;
  for (let start = 0; start < operations; start += batch) {
    const end = Math.min(start + batch, operations);
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    for (let i = start; i < end; i += 1) {
      const result = operation(i);
      if (isThenable(result)) await result;
    }
    const cpu = process.cpuUsage(cpuBefore);
    elapsedMs += performance.now() - began;
    const cpuMicros = cpu.user + cpu.system;
    cpuMs += cpuMicros / 1000;
    batchMeansMicros.push(cpuMicros / (end - start));
    await turn();
  }
  return { operations, cpuMs, elapsedMs, batchMeansMicros };
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
