/**
 * Which suites a run starts, with which settings, and which figures each one yields.
 * `--only P1,P4` selects by figure id or id prefix (`P3` = every `P3.*`); `--quick`
 * shrinks every suite for development (its figures are not the ones to publish).
 */

export interface JobContext {
  readonly quick: boolean;
  /** DynamoDB Local started by the runner for the suites that need one. */
  readonly dynamoEndpoint: string;
  /** Figure ids selected by `--only` (empty: all). */
  readonly only: readonly string[];
}

export interface Job {
  /** Label in progress lines and failures. */
  readonly label: string;
  /** File under `bench/suites/`, without `.ts`. */
  readonly suite: string;
  /** Ids (or id prefixes) of the figures it yields. */
  readonly ids: readonly string[];
  /** Whether it needs the runner's DynamoDB Local (the stack suite starts its own). */
  readonly needsDynamo: boolean;
  /**
   * The Node.js the suite runs on. `functions`: one of the major the stack deploys the
   * functions on (`LAMBDA_NODE_MAJOR`), for every suite that runs function code (a
   * handler, a bundle, local mode). `machine`: the runner's own, for what runs on a
   * user's machine (the CLI's scan, the package build).
   */
  readonly runtime: Runtime;
  readonly nodeOptions?: readonly string[];
  readonly timeoutMs: number;
  args(context: JobContext): unknown;
}

export type Runtime = 'functions' | 'machine';

const MINUTE = 60_000;

function verifyJob(alg: 'ES256' | 'RS256'): Job {
  // RS256 tokens are ~20× dearer to sign than ES256 ones, and every uncached decision needs a new one.
  const perRound = alg === 'ES256' ? 2000 : 1000;
  return {
    label: `verify ${alg}`,
    suite: 'verify',
    ids: [`P1.${alg}`, `P2.${alg}`, `P3.${alg}`, `S1.${alg}`],
    needsDynamo: true,
    runtime: 'functions',
    timeoutMs: 5 * MINUTE,
    args: ({ quick, dynamoEndpoint }) => ({
      alg,
      rounds: quick ? 3 : 8,
      perRound: quick ? perRound / 4 : perRound,
      cachedPerRound: quick ? 5000 : 20_000,
      dynamoEndpoint,
    }),
  };
}

export const JOBS: readonly Job[] = [
  verifyJob('ES256'),
  verifyJob('RS256'),
  {
    label: 'bundle and cold init',
    suite: 'bundle',
    ids: ['P5'],
    needsDynamo: true,
    runtime: 'functions',
    timeoutMs: 3 * MINUTE,
    args: ({ quick, dynamoEndpoint }) => ({ samples: quick ? 3 : 6, dynamoEndpoint }),
  },
  {
    label: 'local stack',
    suite: 'stack',
    ids: ['P4', 'P6'],
    needsDynamo: false,
    runtime: 'functions',
    timeoutMs: 6 * MINUTE,
    args: ({ quick, only }) => ({
      parts: ['P4', 'P6'].filter((part) => only.length === 0 || only.some((id) => related(id, part))),
      exchangeRounds: quick ? 3 : 6,
      roundSeconds: quick ? 1.5 : 2.5,
      inProcessPerRound: quick ? 15 : 30,
      concurrency: 4,
      revocations: quick ? 15 : 60,
      instances: 8,
      // null: the shipped default (500 ms); 1000: the contract's ceiling and the earlier default.
      pollIntervalsMs: quick ? [null] : [null, 1000],
    }),
  },
  {
    label: 'authorizer cache keying',
    suite: 'cache-keying',
    ids: ['C1', 'C2'],
    needsDynamo: false,
    runtime: 'functions',
    timeoutMs: 2 * MINUTE,
    args: ({ quick }) => ({
      clients: 50,
      requestsPerSecond: 100,
      seconds: quick ? 120 : 600,
      items: 1000,
      ttlSeconds: 60,
      decisionRounds: quick ? 3 : 8,
      decisionsPerRound: quick ? 5000 : 20_000,
    }),
  },
  {
    label: 'load with faults',
    suite: 'faults',
    ids: ['F1'],
    needsDynamo: false,
    runtime: 'functions',
    timeoutMs: 5 * MINUTE,
    args: ({ quick }) => ({ warmSeconds: quick ? 3 : 5, freezeSeconds: 10, afterSeconds: quick ? 10 : 15, concurrency: 16, hungAfterSeconds: 10 }),
  },
  {
    label: 'usage metering',
    suite: 'usage',
    ids: ['U1', 'U2', 'U3', 'U4'],
    needsDynamo: true,
    runtime: 'functions',
    timeoutMs: 4 * MINUTE,
    args: ({ quick, only, dynamoEndpoint }) => ({
      dynamoEndpoint,
      parts: ['U1', 'U2', 'U3', 'U4'].filter((part) => only.length === 0 || only.some((id) => related(id, part))),
      throughputRounds: quick ? 3 : 8,
      linesPerRound: quick ? 20_000 : 100_000,
      lagSeconds: quick ? 5 : 20,
      lagRate: 200,
      overshootRate: 100,
      spikeSeeds: quick ? 5 : 50,
    }),
  },
  {
    label: 'heap',
    suite: 'heap',
    ids: ['P7'],
    needsDynamo: true,
    runtime: 'functions',
    nodeOptions: ['--expose-gc'],
    timeoutMs: 5 * MINUTE,
    // Each round verifies 100k fresh tokens twice (ours, fast-jwt): two rounds is what fits the run's budget.
    args: ({ quick, dynamoEndpoint }) => ({ rounds: quick ? 1 : 2, count: quick ? 20_000 : 100_000, dynamoEndpoint }),
  },
  {
    label: 'package sizes',
    suite: 'packages',
    ids: ['K1'],
    needsDynamo: false,
    runtime: 'machine',
    timeoutMs: 2 * MINUTE,
    args: () => ({ packages: ['client', 'cli', 'cdk'] }),
  },
  {
    label: 'scan',
    suite: 'scan',
    ids: ['S2'],
    needsDynamo: false,
    runtime: 'machine',
    timeoutMs: 10 * MINUTE,
    // 1 GiB: the "1 GB tree"; --quick scans 64 MiB.
    args: ({ quick }) => ({ mebibytes: quick ? 64 : 1024, rounds: quick ? 2 : 3 }),
  },
];

/** Whether figure id `id` and selector `wanted` name the same figure, or one contains the other (`P3` ~ `P3.ES256.jose`). */
export function related(id: string, wanted: string): boolean {
  return id === wanted || id.startsWith(`${wanted}.`) || wanted.startsWith(`${id}.`);
}

/** Parses `--only`; an id no job yields is an error naming the known ones. */
export function parseOnly(raw: string | undefined, jobs: readonly Job[] = JOBS): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const wanted = raw
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const known = jobs.flatMap((job) => job.ids);
  const unknown = wanted.filter((id) => !known.some((k) => related(k, id)));
  if (unknown.length) throw new Error(`--only: unknown figure ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return wanted;
}

export function selectJobs(only: readonly string[], jobs: readonly Job[] = JOBS): Job[] {
  if (only.length === 0) return [...jobs];
  return jobs.filter((job) => job.ids.some((id) => only.some((wanted) => related(id, wanted))));
}

/** Whether a figure a selected job yielded was asked for. */
export function wantedFigure(id: string, only: readonly string[]): boolean {
  return only.length === 0 || only.some((wanted) => related(id, wanted));
}
