/**
 * What bundling the AWS SDK costs each function that uses it (BENCHMARKS.md, "Every function
 * bundles its SDK"): its bundle as deployed against the same function with `@aws-sdk/*` left
 * out and loaded from node_modules, as the Lambda runtime loads its own copy, with whole
 * source maps (the settings before 2026-12-07). For each, in fresh processes started as
 * Lambda starts them (`bench/lib/cold-start.ts`), alternating: the time to import it, and then to read
 * an error's stack the first time (`bench/cold-start.mjs first-error`).
 *
 *   npx tsx bench/function-cold-start.ts [--runs 7] [NODE ...]
 *
 * Each NODE is a `node` binary to run the bundles with (default: the functions' Node.js, as
 * `npm run bench` runs its function suites: `test/support/lambda-node.ts`), for example this
 * machine's own to compare. Writes bench/results/sdk-bundled-cold-start.json. Not part of
 * `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { Functions, type FunctionName } from '../common/functions';
import { buildFunction } from '../lib/build-function';
import { esbuildOptions } from '../lib/bundling';
import { median } from './lib/stats';
import { coldStart } from './lib/cold-start';
import { lambdaNode } from '../test/support/lambda-node';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULT = fileURLToPath(new URL('./results/sdk-bundled-cold-start.json', import.meta.url));
/** The functions that use the SDK; the authorizer reads DynamoDB without it. */
const NAMES = (Object.keys(Functions) as FunctionName[]).filter((name) => name !== 'authorizer');

interface Start {
  readonly importMs: number;
  readonly firstStackMs: number;
}

/** The bundle before: SDK external (resolved from this repository's node_modules, so built inside it), whole maps. */
async function before(name: FunctionName): Promise<string> {
  const outfile = join(ROOT, 'bench', '.out', 'sdk-external', name, 'index.mjs');
  const { mainFields: _mainFields, ...options } = esbuildOptions();
  await build({ ...options, external: ['@aws-sdk/*'], sourcesContent: true, entryPoints: [join(ROOT, Functions[name].entry)], outfile, logLevel: 'silent' });
  return outfile;
}

/** The bundle as deployed, outside any node_modules. */
async function after(name: FunctionName, dir: string): Promise<string> {
  const outfile = join(dir, name, 'index.mjs');
  await buildFunction(build, { entryPoints: [join(ROOT, Functions[name].entry)], outfile });
  return outfile;
}

const start = (node: string, bundle: string) => coldStart<Start>({ node, args: ['first-error', bundle] });

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '7' } }, allowPositionals: true });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number of at least 1');
  const nodes = positionals.length ? positionals : [lambdaNode().path];
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-function-cold-start-'));
  try {
    const bundles = await Promise.all(NAMES.map(async (name) => ({ name, before: await before(name), after: await after(name, dir) })));
    const rows = [];
    for (const node of nodes) {
      const version = await new Promise<string>((resolve) => {
        const child = spawn(node, ['-p', 'process.version'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk));
        child.on('close', () => resolve(out.trim()));
      });
      for (const bundle of bundles) {
        const starts: Record<'before' | 'after', Start[]> = { before: [], after: [] };
        for (let run = 0; run < runs; run += 1) {
          starts.before.push(await start(node, bundle.before));
          starts.after.push(await start(node, bundle.after));
        }
        const summary = (label: 'before' | 'after') => ({
          importMs: median(starts[label].map((s) => s.importMs)),
          firstStackMs: median(starts[label].map((s) => s.firstStackMs)),
          bundleBytes: statSync(bundle[label]).size,
          mapBytes: statSync(`${bundle[label]}.map`).size,
        });
        const row = { node: version, function: bundle.name, before: summary('before'), after: summary('after'), starts };
        process.stderr.write(`${version} ${bundle.name}: ${JSON.stringify({ before: row.before, after: row.after })}\n`);
        rows.push(row);
      }
    }
    const machine = `${cpus().length} cores of ${cpus()[0]?.model.trim()}`;
    writeFileSync(
      RESULT,
      `${JSON.stringify({ what: 'bench/function-cold-start.ts (its header says what is measured)', date: new Date().toISOString(), machine, runs, rows }, null, 1)}\n`,
    );
    process.stderr.write(`wrote ${RESULT}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
