/**
 * Builds the publishable `@tollgate/client` package into packages/client/dist:
 *
 * - dist/index.js: `client/index.ts` and everything it imports bundled into one ES module
 *   (esbuild, platform node, target node18, not minified). The package has no dependencies,
 *   so the bundle may import nothing but `node:*` builtins; anything else fails the build.
 * - dist/*.d.ts: declarations emitted by the installed TypeScript with the root tsconfig's
 *   strictness (packages/client/tsconfig.build.json), copied flat into dist with `.js`
 *   extensions on relative imports (what `moduleResolution: nodenext` consumers require).
 *   Every declaration reachable from dist/index.d.ts must resolve inside dist.
 *
 * Usage: `npm run build` (or `node scripts/build-client.mjs`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = join(root, 'packages', 'client');
const dist = join(packageDir, 'dist');
const entry = join(root, 'client', 'index.ts');
const require = createRequire(import.meta.url);

class BuildError extends Error {}

async function bundle() {
  const result = await build({
    entryPoints: [entry],
    outfile: join(dist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node18',
    minify: false,
    // Nothing is external on purpose: a bare specifier must either be bundled from the
    // repository's own source or be reported below, never left for the consumer to install.
    metafile: true,
    logLevel: 'warning',
    legalComments: 'inline',
    banner: { js: '// @tollgate/client: built from client/index.ts by scripts/build-client.mjs.' },
  });
  const problems = [];
  const thirdParty = new Set();
  for (const input of Object.keys(result.metafile.inputs)) {
    // The package a file under node_modules belongs to: `name` or `@scope/name`.
    const match = /(?:^|[\\/])node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(input);
    if (match) thirdParty.add(match[1].replace('\\', '/'));
  }
  for (const name of thirdParty) problems.push(`bundles the third-party package "${name}"`);
  for (const [output, { imports }] of Object.entries(result.metafile.outputs)) {
    for (const { path, external } of imports) {
      // esbuild marks Node builtins external on platform node; only the `node:` form is allowed.
      if (external && !path.startsWith('node:')) problems.push(`${output} imports "${path}" (only node:* builtins are allowed)`);
    }
  }
  if (problems.length > 0) throw new BuildError(`The bundle must be self-contained:\n  ${problems.join('\n  ')}`);
  return Object.keys(result.metafile.inputs).sort();
}

/** Relative module specifiers in a declaration file: `from '…'`, `import '…'`, `import('…')`. */
const RELATIVE_SPECIFIER = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g;

function declarations() {
  const staging = mkdtempSync(join(tmpdir(), 'tollgate-client-types-'));
  try {
    const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json'), '--outDir', staging], { cwd: root, stdio: 'pipe' });
    } catch (error) {
      throw new BuildError(`tsc failed to emit declarations:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
    // Walk the graph from the entry's declaration; every file it reaches must come from
    // client/ (the folder that becomes dist/), so the flat copy keeps relative paths valid.
    const clientTypes = join(staging, 'client');
    const pending = [join(clientTypes, 'index.d.ts')];
    const copied = new Set();
    while (pending.length > 0) {
      const file = pending.pop();
      if (copied.has(file)) continue;
      if (dirname(file) !== clientTypes || !existsSync(file)) {
        throw new BuildError(`dist would not be self-contained: a declaration refers to ${relative(staging, file).split(sep).join('/')}`);
      }
      copied.add(file);
      const text = readFileSync(file, 'utf8');
      if (/\/\/\/\s*<reference\s+path=/.test(text)) throw new BuildError(`${relative(staging, file)} has a <reference path>, which would point outside dist`);
      const rewritten = text.replace(RELATIVE_SPECIFIER, (_match, lead, quote, specifier) => {
        const target = specifier.replace(/\.js$/, '');
        pending.push(`${resolve(dirname(file), target)}.d.ts`);
        return `${lead}${quote}${target}.js${quote}`;
      });
      writeFileSync(join(dist, relative(clientTypes, file)), rewritten);
    }
    return [...copied].map((file) => relative(clientTypes, file)).sort();
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

try {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const inputs = await bundle();
  const types = declarations();
  console.log(`Built ${relative(root, dist)}: index.js from ${inputs.join(', ')}; declarations ${types.join(', ')}.`);
} catch (error) {
  console.error(error instanceof BuildError ? `build-client: ${error.message}` : error);
  process.exitCode = 1;
}
