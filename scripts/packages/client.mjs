/**
 * Builds `@tollgate/client` (packages/client/dist):
 * - dist/index.js: `client/index.ts` and everything it imports bundled into one ES module
 *   (esbuild, platform node, target node18, not minified). The package has no dependencies,
 *   so the bundle may import nothing but `node:*` builtins; anything else fails the build.
 * - dist/*.d.ts: declarations emitted by the installed TypeScript with the root tsconfig's
 *   strictness (packages/client/tsconfig.build.json), copied flat into dist with `.js`
 *   extensions on relative imports (what `moduleResolution: nodenext` consumers require).
 *   Every declaration reachable from dist/index.d.ts must resolve inside dist.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { BuildError, bundledPackages, disallowedImports, RELATIVE_SPECIFIER, root, withDeclarations } from './shared.mjs';

const packageDir = join(root, 'packages', 'client');
const dist = join(packageDir, 'dist');
const entry = join(root, 'client', 'index.ts');

async function bundleClient() {
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
    banner: { js: '// @tollgate/client: built from client/index.ts by scripts/build-packages.mjs.' },
  });
  const thirdParty = new Set(bundledPackages(Object.keys(result.metafile.inputs)).values());
  const problems = [...thirdParty].map((name) => `bundles the third-party package "${name}"`);
  // esbuild marks Node builtins external on platform node; only the `node:` form is allowed.
  problems.push(...disallowedImports(result.metafile, (path) => path.startsWith('node:'), 'only node:* builtins are allowed'));
  if (problems.length > 0) throw new BuildError(`The bundle must be self-contained:\n  ${problems.join('\n  ')}`);
  return Object.keys(result.metafile.inputs).sort();
}

function declarations() {
  return withDeclarations(packageDir, 'tollgate-client-types-', (staging) => {
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
  });
}

export async function buildClient() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const inputs = await bundleClient();
  const types = declarations();
  console.log(`Built ${relative(root, dist)}: index.js from ${inputs.join(', ')}; declarations ${types.join(', ')}.`);
}
