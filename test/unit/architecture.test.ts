/**
 * The layout docs/architecture.md draws, held by the code itself: which folder may import
 * which, no import cycles, every function in the same three-file shape, and no source file
 * over 400 lines. Imports are read from the sources (static, re-exports and `import()` with
 * a literal), type-only imports included: a type arrow is still an arrow a reader follows.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOBS } from '../../bench/lib/plan';
import { Functions } from '../../common/functions';
import { REPO } from '../support/packed-package';

const MAX_LINES = 400;

/** The repository's own TypeScript and JavaScript modules, by repository-relative path. */
const FILES = execFileSync('git', ['ls-files', '*.ts', '*.mjs'], { cwd: REPO, encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '' && !file.endsWith('.d.ts'));
const KNOWN = new Set(FILES);

const IMPORT = /(?:^|\n)\s*(?:import|export)(?:[^'";]*?\bfrom)?\s*['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;

interface Import {
  readonly from: string;
  /** A repository file for a relative import, else the package name (`@scope/name`, `name`) or `node:` for a builtin. */
  readonly to: string;
  readonly local: boolean;
}

function resolveLocal(from: string, specifier: string): string {
  const base = normalize(join(dirname(from), specifier)).replace(/\.js$/, '');
  return [base, `${base}.ts`, `${base}.mjs`, join(base, 'index.ts')].find((candidate) => KNOWN.has(candidate)) ?? base;
}

function importsOf(file: string): Import[] {
  const source = readFileSync(join(REPO, file), 'utf8');
  return [...source.matchAll(IMPORT)].map((match) => {
    const specifier = (match[1] ?? match[2])!;
    if (specifier.startsWith('.')) return { from: file, to: resolveLocal(file, specifier), local: true };
    if (isBuiltin(specifier)) return { from: file, to: 'node:', local: false };
    const name = specifier
      .split('/')
      .slice(0, specifier.startsWith('@') ? 2 : 1)
      .join('/');
    return { from: file, to: name, local: false };
  });
}

const IMPORTS = FILES.flatMap(importsOf);
const inside = (folder: string) => (path: string) => path.startsWith(`${folder}/`);
const isTest = inside('test');

/** Imports made by files matching `from` that break `allowed`. */
function breaking(from: (file: string) => boolean, allowed: (target: Import) => boolean): string[] {
  return IMPORTS.filter((edge) => from(edge.from) && !allowed(edge)).map((edge) => `${edge.from} → ${edge.to}`);
}

describe('which folder may import which', () => {
  it('reads every relative import outside test/ as a file of the repository', () => {
    // Tests may hold a child script's source, imports included, in a string.
    expect(IMPORTS.filter((edge) => edge.local && !isTest(edge.from) && !KNOWN.has(edge.to)).map((edge) => `${edge.from} → ${edge.to}`)).toEqual([]);
  });

  it('common/ imports only common/ and Node builtins: everything else may depend on it', () => {
    expect(breaking(inside('common'), (edge) => (edge.local ? inside('common')(edge.to) : edge.to === 'node:'))).toEqual([]);
  });

  it('lambda/core/ imports only itself, common/ and plain libraries: never an adapter, a handler or an AWS SDK', () => {
    const plain = new Set(['node:', 'zod', 'aws-lambda']);
    const allowed = (edge: Import) => (edge.local ? inside('lambda/core')(edge.to) || inside('common')(edge.to) : plain.has(edge.to));
    expect(breaking(inside('lambda/core'), allowed)).toEqual([]);
  });

  it('Lambda code never imports the CDK, the stack, local mode, the CLI or the client library', () => {
    const forbidden = new Set(['aws-cdk-lib', 'constructs', 'cdk-nag', 'esbuild']);
    const allowed = (edge: Import) => (edge.local ? inside('lambda')(edge.to) || inside('common')(edge.to) : !forbidden.has(edge.to));
    expect(breaking(inside('lambda'), allowed)).toEqual([]);
  });

  it('CDK code (lib/, bin/) never imports handler internals, local mode or the CLI', () => {
    const allowed = (edge: Import) => !edge.local || inside('lib')(edge.to) || inside('common')(edge.to);
    expect(breaking((file) => inside('lib')(file) || inside('bin')(file), allowed)).toEqual([]);
  });

  it('nothing outside cli/ imports it, but the tests and the benchmark of its scanner', () => {
    const allowed = (edge: Import) => !(edge.local && inside('cli')(edge.to));
    expect(breaking((file) => !inside('cli')(file) && !isTest(file) && !inside('bench')(file), allowed)).toEqual([]);
    expect(breaking(inside('bench'), (edge) => allowed(edge) || edge.to === 'cli/scan.ts' || edge.to === 'cli/gitignore.ts')).toEqual([]);
  });
});

describe('no import cycles', () => {
  it('the module graph outside test/ is acyclic', () => {
    const graph = new Map<string, string[]>();
    for (const edge of IMPORTS) if (edge.local && !isTest(edge.from)) graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

/** Every repository file `file` imports, directly or through others (test files' imports included). */
function reachableFrom(file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (from: string) => {
    for (const edge of IMPORTS) {
      if (edge.from !== from || !edge.local || seen.has(edge.to)) continue;
      seen.add(edge.to);
      visit(edge.to);
    }
  };
  visit(file);
  return seen;
}

describe('which Node.js each benchmark suite runs on', () => {
  // Function code: what only the functions run, i.e. `lambda/` but for the part of the core
  // the CLI shares (the CLI runs on the user's machine), and the two modules that load a
  // function's code by a computed path, which no import edge shows: the deployed bundles and
  // local mode's handlers.
  const sharedWithCli = new Set(FILES.filter(inside('cli')).flatMap((file) => [...reachableFrom(file)]));
  const loadsFunctionCode = new Set(['bench/lib/deployed.ts', 'local/handler-code.ts']);
  const isFunctionCode = (file: string) => (inside('lambda')(file) && !sharedWithCli.has(file)) || loadsFunctionCode.has(file);

  it("runs every suite that reaches function code on the functions' runtime, and only those", () => {
    const runsFunctionCode = (suite: string) => [...reachableFrom(`bench/suites/${suite}.ts`)].some(isFunctionCode);
    const wrong = JOBS.filter((job) => (job.runtime === 'functions') !== runsFunctionCode(job.suite)).map((job) => `${job.label}: ${job.runtime}`);
    expect(wrong).toEqual([]);
    // Both kinds exist, so the rule above is not vacuous.
    expect(new Set(JOBS.map((job) => job.runtime))).toEqual(new Set(['functions', 'machine']));
  });
});

describe('every function has the same three files', () => {
  it.each(Object.entries(Functions))('%s: handler.ts (its entry), app.ts and config.ts', (name, spec) => {
    expect(spec.entry).toBe(`lambda/${name}/handler.ts`);
    for (const file of ['handler.ts', 'app.ts', 'config.ts']) expect(existsSync(join(REPO, 'lambda', name, file)), `lambda/${name}/${file}`).toBe(true);
  });
});

describe('file size', () => {
  it(`no source file outside test/ is over ${MAX_LINES} lines`, () => {
    const long = FILES.filter((file) => !isTest(file))
      .map((file) => ({ file, lines: readFileSync(join(REPO, file), 'utf8').trimEnd().split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines}`);
    expect(long).toEqual([]);
  });
});
