/**
 * What the builds of several packages share: the repository root, the build's error, emitting
 * declarations with the installed TypeScript, the imports a bundle leaves to its runtime, and
 * the third-party packages a bundle holds and their licence texts (dist/THIRD-PARTY-LICENSES.txt of `@tollgate/cli` and `@tollgate/cdk`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

/** A failure the build reports as its message alone (`build-packages: …`), not as a stack trace. */
export class BuildError extends Error {}

/** Relative module specifiers in a declaration file: `from '…'`, `import '…'`, `import('…')`. */
export const RELATIVE_SPECIFIER = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g;

/**
 * Emits the declarations of `packageDir`'s tsconfig.build.json into a new temporary folder
 * (named from `prefix`), returns what `copy` returns for that folder, and removes it.
 */
export function withDeclarations(packageDir, prefix, copy) {
  const staging = mkdtempSync(join(tmpdir(), prefix));
  try {
    const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json'), '--outDir', staging], { cwd: root, stdio: 'pipe' });
    } catch (error) {
      throw new BuildError(`tsc failed to emit declarations:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
    return copy(staging);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

// MIT-0 (Powertools for AWS Lambda, in the functions) is MIT without even the notice condition.
const ALLOWED_LICENSES = new Set(['MIT', 'MIT-0', 'Apache-2.0', '0BSD']);

/**
 * One section per bundled package: name, version, declared license, then its LICENSE/NOTICE
 * files verbatim. Only MIT, Apache-2.0 and 0BSD are accepted, so a new dependency with
 * another license stops the build for a human decision. `packages` maps each package's
 * folder to its name; `what` says what the packages are bundled into.
 */
export function thirdPartyLicenses(packages, what) {
  const sections = [...packages.entries()]
    .map(([folder, name]) => {
      const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
      return { name, folder, manifest, title: `${name}@${manifest.version} (${manifest.license})` };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.manifest.version.localeCompare(b.manifest.version))
    .map(({ name, folder, manifest, title }) => {
      const files = readdirSync(folder)
        .filter((file) => /^(licen[sc]e|notice|copyright)/i.test(file))
        .sort();
      if (!ALLOWED_LICENSES.has(manifest.license))
        throw new BuildError(
          `${name} is licensed ${manifest.license ?? '(none declared)'}; only ${[...ALLOWED_LICENSES].join(', ')} may be bundled into ${what}`,
        );
      // A few AWS SDK packages ship no LICENSE file; their package.json declares Apache-2.0,
      // whose full text appears in the other AWS SDK sections.
      const texts =
        files.length > 0
          ? files.map((file) => readFileSync(join(folder, file), 'utf8').trim())
          : [`(The package ships no license file; its package.json declares ${manifest.license}.)`];
      return [title, ...texts].join('\n\n');
    });
  // Two versions of one package are two sections with the same title: keep one of each.
  const unique = [...new Set(sections)];
  const rule = `\n\n${'='.repeat(78)}\n\n`;
  return `${what} bundles the following third-party packages.${rule}${unique.join(rule)}\n`;
}

/**
 * The inputs of which some code reached a bundle (esbuild metafile paths): an input that
 * tree shaking removed whole is listed in `metafile.inputs` but ships nothing.
 */
export function shippedInputs(metafile) {
  const shipped = new Set();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (file.endsWith('.map')) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) if (bytesInOutput > 0) shipped.add(input);
  }
  return [...shipped];
}

/**
 * The third-party packages among a bundle's inputs (esbuild metafile paths, relative to the
 * repository root), as their folder (absolute) to their name. A package nested in another's
 * node_modules is itself: the innermost `node_modules/<name>` counts.
 */
export function bundledPackages(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const normalized = input.split(sep).join('/');
    const at = normalized.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(normalized.slice(at));
    packages.set(join(root, normalized.slice(0, at) + match[0]), match[1]);
  }
  return packages;
}

/**
 * The imports a bundle leaves to its runtime (esbuild's external imports, metafile outputs)
 * that `allowed` refuses, each as a message ending in `rule`.
 */
export function disallowedImports(metafile, allowed, rule) {
  const problems = [];
  for (const [output, { imports }] of Object.entries(metafile.outputs)) {
    for (const { path, external } of imports) {
      if (external && !allowed(path)) problems.push(`${output} imports "${path}" (${rule})`);
    }
  }
  return problems;
}
