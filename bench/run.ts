/**
 * `npm run bench`: every benchmark of issue 9, each suite in its own process, then a table,
 * `bench/results/latest.json` and the generated section of `BENCHMARKS.md`.
 *
 *   npm run bench                      # everything (a few minutes)
 *   npm run bench -- --only P1,P4      # some figures (merged into the stored results)
 *   npm run bench -- --runs 3          # every suite three times over: each figure from its
 *                                      #   median run, with the spread over the runs
 *   npm run bench -- --quick           # smaller rounds, for development: writes
 *                                      #   bench/results/quick.json, leaves BENCHMARKS.md alone
 *   npm run bench -- --profile         # also write a CPU profile of every suite to bench/results/profiles/
 *
 * Suite logs (the handlers' own log lines) go to bench/results/logs/<suite>.log.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDynamoDbLocal, type LocalDynamoDb } from '../local/dynamodb';
import { onStopSignal } from '../local/signals';
import { launchSuite, stopRunningSuites } from './lib/launch';
import { parseOnly, selectJobs, wantedFigure, type Job, type Runtime } from './lib/plan';
import { consoleTable, machineInfo, markdownSection, mergeFigures, withSection, type Results, type StoredFigure, type SuiteFailure } from './lib/report';
import { combineRuns, parseRuns } from './lib/runs';
import { lambdaNode, type LambdaNode } from '../test/support/lambda-node';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

interface Options {
  readonly only: string[];
  readonly runs: number;
  readonly quick: boolean;
  readonly profile: boolean;
}

function options(): Options | undefined {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `${readFileSync(new URL(import.meta.url), 'utf8')
        .split('*/')[0]!
        .replace('/**', '')
        .replace(/^ \* ?/gm, '')}\n`,
    );
    return undefined;
  }
  return { only: parseOnly(values.only), runs: parseRuns(values.runs), quick: values.quick, profile: values.profile };
}

type Runtimes = Readonly<Record<Runtime, LambdaNode>>;

/**
 * The Node.js binaries the selected suites run on, found before any suite starts: without
 * one of the functions' major, the run stops with `lambdaNode`'s message saying how to get
 * one, never measuring function code on another runtime.
 */
function runtimes(jobs: readonly Job[]): Runtimes {
  const machine = { path: process.execPath, version: process.versions.node };
  return { machine, functions: jobs.some((job) => job.runtime === 'functions') ? lambdaNode() : machine };
}

async function runJobs(jobs: readonly Job[], opts: Options, dynamoEndpoint: string, nodes: Runtimes) {
  const figures: StoredFigure[] = [];
  const failures: SuiteFailure[] = [];
  for (const job of jobs) {
    const started = performance.now();
    const node = nodes[job.runtime];
    process.stderr.write(`▶ ${job.label} (Node.js ${node.version})\n`);
    const outcome = await launchSuite({
      suite: job.suite,
      args: job.args({ quick: opts.quick, dynamoEndpoint, only: opts.only }),
      node: node.path,
      nodeOptions: job.nodeOptions,
      timeoutMs: job.timeoutMs,
      logFile: `${RESULTS}logs/${job.label.replaceAll(' ', '-')}.log`,
      profileDir: opts.profile ? `${RESULTS}profiles` : undefined,
      onProgress: (text) => process.stderr.write(`  ${text}\n`),
    });
    const measuredAt = new Date().toISOString();
    figures.push(...outcome.figures.filter((f) => wantedFigure(f.id, opts.only)).map((f) => ({ ...f, measuredAt, node: `v${node.version}` })));
    if (outcome.error) failures.push({ suite: job.label, error: outcome.error });
    process.stderr.write(`  ${outcome.error ? `FAILED: ${outcome.error.split('\n')[0]}` : 'done'} (${Math.round((performance.now() - started) / 1000)} s)\n`);
  }
  return { figures, failures };
}

function storedFigures(file: string): StoredFigure[] {
  if (!existsSync(file)) return [];
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as Results).figures as StoredFigure[];
  } catch {
    return [];
  }
}

/** Quick runs never touch the published figures. */
function save(results: Results, file: string, quick: boolean): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  if (quick) return;
  const document = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : '# Benchmarks\n';
  writeFileSync(BENCHMARKS_MD, withSection(document, markdownSection(results)));
}

async function main(): Promise<number> {
  const opts = options();
  if (!opts) return 0;
  const began = performance.now();
  const jobs = selectJobs(opts.only);
  const nodes = runtimes(jobs);
  const machine = machineInfo(new Date());
  let dynamo: LocalDynamoDb | undefined;
  const interrupt = () => {
    stopRunningSuites();
    void dynamo?.stop().finally(() => process.exit(130));
  };
  onStopSignal(interrupt);
  const runs: Awaited<ReturnType<typeof runJobs>>[] = [];
  try {
    if (jobs.some((job) => job.needsDynamo)) dynamo = await startDynamoDbLocal();
    for (let r = 1; r <= opts.runs; r += 1) {
      if (opts.runs > 1) process.stderr.write(`run ${r} of ${opts.runs}\n`);
      runs.push(await runJobs(jobs, opts, dynamo?.endpoint ?? '', nodes));
    }
  } finally {
    await dynamo?.stop();
  }
  const run = { figures: combineRuns(runs.map((r) => r.figures)), failures: runs.flatMap((r) => r.failures) };
  const file = `${RESULTS}${opts.quick ? 'quick' : 'latest'}.json`;
  const previous = opts.only.length ? storedFigures(file) : [];
  const results: Results = {
    machine,
    run: {
      quick: opts.quick,
      only: opts.only,
      runs: opts.runs,
      durationSeconds: Math.round((performance.now() - began) / 1000),
      loadAverageAtEnd: Number(loadavg()[0]!.toFixed(2)),
    },
    figures: mergeFigures(previous, run.figures),
    failures: run.failures,
  };
  save(results, file, opts.quick);
  process.stdout.write(`\n${consoleTable(results.figures)}\n\nwrote ${file}${opts.quick ? '' : ' and BENCHMARKS.md'}\n`);
  for (const failure of run.failures) process.stderr.write(`\n${failure.suite} failed:\n${failure.error}\n`);
  return run.failures.length ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
