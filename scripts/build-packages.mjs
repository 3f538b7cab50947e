/**
 * Builds the publishable packages under packages/: `@tollgate/client`, `@tollgate/cli` and
 * `@tollgate/cdk`.
 *
 * `@tollgate/client` (packages/client/dist):
 * - dist/index.js: `client/index.ts` and everything it imports bundled into one ES module
 *   (esbuild, platform node, target node18, not minified). The package has no dependencies,
 *   so the bundle may import nothing but `node:*` builtins; anything else fails the build.
 * - dist/*.d.ts: declarations emitted by the installed TypeScript with the root tsconfig's
 *   strictness (packages/client/tsconfig.build.json), copied flat into dist with `.js`
 *   extensions on relative imports (what `moduleResolution: nodenext` consumers require).
 *   Every declaration reachable from dist/index.d.ts must resolve inside dist.
 *
 * `@tollgate/cli` (packages/cli/dist):
 * - dist/tollgate.js: `cli/main.ts` and everything it imports, third-party code included
 *   (commander, zod, the AWS SDK's CloudFormation client, credential chain and SigV4 signer),
 *   bundled into one executable ES module with a `#!/usr/bin/env node` line, so the package
 *   declares no dependencies and installs offline from its tarball alone. Platform node,
 *   target node20 (the bundled AWS SDK and commander require Node 20), not minified: minifying
 *   would take the tarball from about 430 kB to 305 kB (2.7 MB to 1.4 MB installed), a
 *   one-off download for an operator tool; unminified, the code an operator runs can be
 *   read and audited, and the stack traces Node prints for a crash outside the CLI's own error
 *   handling name real functions. The bundle may import nothing but Node builtins.
 * - dist/THIRD-PARTY-LICENSES.txt: the license texts of every bundled third-party package
 *   (all MIT, MIT-0, Apache-2.0 or 0BSD). esbuild's `legalComments: 'eof'` also keeps the few
 *   `/*!` notices in the bundle itself, but most packages carry their license only as a
 *   LICENSE file, which is why this file is written too.
 *
 * `@tollgate/cdk` (packages/cdk/dist):
 * - dist/index.js: `lib/index.ts` (the constructs, the settings and their checks, `common/`)
 *   bundled into one ES module, platform node, target node20, not minified (a construct
 *   library's stack traces at synth should name its functions). `aws-cdk-lib`,
 *   `aws-cdk-lib/*` and `constructs` stay external: they are the package's peer dependencies,
 *   the consumer's own copies, so `instanceof` and construct-tree checks work across both.
 *   Anything else must be bundled or be a Node builtin. esbuild's `define` sets
 *   `TOLLGATE_PREBUILT_FUNCTIONS`, which makes `lib/function.ts` use the prebuilt functions
 *   next to the bundle instead of bundling sources that the package does not ship, and
 *   `TOLLGATE_PREBUILT_DIGESTS`, the sha256 of each prebuilt file, which it checks before
 *   using a function's folder as an asset. With the first defined, the source-only
 *   function-code override of the repository's tests is unreachable and dropped from the
 *   bundle; the build fails if it is not.
 * - dist/functions/<name>/index.mjs (+ .map): each Lambda function bundled ahead of time
 *   with exactly `lib/bundling.ts`'s esbuild options, the bundle `cdk synth` makes from
 *   source in this repository; the constructs use each folder as a `Code.fromAsset`, so a
 *   consumer needs neither esbuild nor the handlers' sources. Built before index.js, whose
 *   digests they are.
 * - dist/THIRD-PARTY-LICENSES.txt: the license texts of every third-party package bundled
 *   into any function (their code and, in the source maps, their sources); index.js bundles
 *   none.
 * - dist/types/**: declarations emitted by tsc (packages/cdk/tsconfig.build.json) for
 *   `lib/index.ts` and what it reaches in `lib/` and `common/`, keeping their folders, with
 *   `.js` extensions on relative imports. Every declaration reachable from
 *   dist/types/lib/index.d.ts must resolve inside dist/types, and the only packages they may
 *   name are the peer dependencies.
 *
 * Each package also gets a copy of the repository's LICENSE (Apache-2.0) at its root.
 *
 * Usage: `npm run build` (or `node scripts/build-packages.mjs`) builds all three;
 * `npm run build -- cli` (or `client`, `cdk`) builds only the one named, leaving the others'
 * dist alone, so the package tests can build in parallel without removing each other's files.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = join(root, 'packages', 'client');
const dist = join(packageDir, 'dist');
const entry = join(root, 'client', 'index.ts');
const cliPackageDir = join(root, 'packages', 'cli');
const cliDist = join(cliPackageDir, 'dist');
const cliEntry = join(root, 'cli', 'main.ts');
const cdkPackageDir = join(root, 'packages', 'cdk');
const cdkDist = join(cdkPackageDir, 'dist');
const cdkEntry = join(root, 'lib', 'index.ts');
const require = createRequire(import.meta.url);

class BuildError extends Error {}

/** The package a bundled file under node_modules belongs to (`name` or `@scope/name`), else undefined. */
function packageOf(input) {
  const match = /(?:^|[\\/])node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(input);
  return match?.[1].replace('\\', '/');
}

/** Bare imports left in a bundle that are not Node builtins (esbuild leaves builtins external on platform node). */
function nonBuiltinImports(metafile) {
  const problems = [];
  for (const [output, { imports }] of Object.entries(metafile.outputs)) {
    for (const { path, external } of imports) {
      if (external && !isBuiltin(path)) problems.push(`${output} imports "${path}" (only Node builtins are allowed)`);
    }
  }
  return problems;
}

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
  const problems = [];
  const thirdParty = new Set();
  for (const input of Object.keys(result.metafile.inputs)) {
    const name = packageOf(input);
    if (name) thirdParty.add(name);
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

/** Bundled packages that must not end up in the CLI: it runs as plain JavaScript, no loader. */
const FORBIDDEN_IN_CLI = ['tsx', 'esbuild', 'typescript'];

// MIT-0 (Powertools for AWS Lambda, in the functions) is MIT without even the notice condition.
const ALLOWED_LICENSES = new Set(['MIT', 'MIT-0', 'Apache-2.0', '0BSD']);

async function bundleCli() {
  const outfile = join(cliDist, 'tollgate.js');
  const result = await build({
    entryPoints: [cliEntry],
    // Input paths in the metafile are relative to this; the licence collection joins them to root.
    absWorkingDir: root,
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: false,
    metafile: true,
    logLevel: 'warning',
    legalComments: 'eof',
    banner: {
      js: [
        '#!/usr/bin/env node',
        '// @tollgate/cli: built from cli/main.ts by scripts/build-packages.mjs.',
        // Bundled CommonJS packages (the AWS SDK, commander) call require() for Node builtins;
        // an ES module has no require, so give the bundle one.
        "import { createRequire as __tollgateCreateRequire } from 'node:module';",
        'const require = __tollgateCreateRequire(import.meta.url);',
      ].join('\n'),
    },
  });
  const problems = nonBuiltinImports(result.metafile);
  const packages = bundledPackages(Object.keys(result.metafile.inputs));
  for (const name of new Set(packages.values())) {
    if (FORBIDDEN_IN_CLI.includes(name)) problems.push(`bundles "${name}", which the installed CLI must not need`);
  }
  if (problems.length > 0) throw new BuildError(`The CLI bundle must run from its tarball alone:\n  ${problems.join('\n  ')}`);
  // npm packs the executable bit as it finds it; the bin must be executable once installed.
  chmodSync(outfile, 0o755);
  writeFileSync(join(cliDist, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(packages, '@tollgate/cli (dist/tollgate.js)'));
  return [...new Set(packages.values())].sort();
}

/**
 * One section per bundled package: name, version, declared license, then its LICENSE/NOTICE
 * files verbatim. Only MIT, Apache-2.0 and 0BSD are accepted, so a new dependency with
 * another license stops the build for a human decision. `packages` maps each package's
 * folder to its name; `what` says what the packages are bundled into.
 */
function thirdPartyLicenses(packages, what) {
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
 * The third-party packages among a bundle's inputs (esbuild metafile paths, relative to the
 * repository root), as their folder (absolute) to their name. A package nested in another's
 * node_modules is itself: the innermost `node_modules/<name>` counts.
 */
function bundledPackages(inputs) {
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

/** The peer dependencies of `@tollgate/cdk`: the only packages its bundle and declarations may import. */
const CDK_PEERS = ['aws-cdk-lib', 'constructs'];
const isCdkPeer = (specifier) => CDK_PEERS.some((peer) => specifier === peer || specifier.startsWith(`${peer}/`));
/** The folder, relative to dist/index.js, that `lib/function.ts` takes prebuilt functions from. */
const PREBUILT_FUNCTIONS = './functions/';

/**
 * The construct bundle. `digests` (from {@link prebuildFunctions}) is baked in as
 * `TOLLGATE_PREBUILT_DIGESTS`, which `lib/function.ts` checks each function's files against
 * before it uses them as an asset.
 */
async function bundleConstructs(digests) {
  const result = await build({
    entryPoints: [cdkEntry],
    absWorkingDir: root,
    outfile: join(cdkDist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: false,
    external: CDK_PEERS.flatMap((peer) => [peer, `${peer}/*`]),
    define: { TOLLGATE_PREBUILT_FUNCTIONS: JSON.stringify(PREBUILT_FUNCTIONS), TOLLGATE_PREBUILT_DIGESTS: JSON.stringify(digests) },
    metafile: true,
    logLevel: 'warning',
    legalComments: 'inline',
    banner: { js: '// @tollgate/cdk: built from lib/index.ts by scripts/build-packages.mjs.' },
  });
  const problems = [];
  for (const [output, { imports }] of Object.entries(result.metafile.outputs)) {
    for (const { path, external } of imports) {
      if (external && !isBuiltin(path) && !isCdkPeer(path))
        problems.push(`${output} imports "${path}" (only Node builtins and ${CDK_PEERS.join(', ')} are allowed)`);
    }
  }
  const bundled = new Set(bundledPackages(Object.keys(result.metafile.inputs)).values());
  for (const name of bundled) problems.push(`bundles the third-party package "${name}" (the constructs may use only their peer dependencies)`);
  if (problems.length > 0) throw new BuildError(`The construct bundle must need nothing but its peers:\n  ${problems.join('\n  ')}`);
  const text = readFileSync(join(cdkDist, 'index.js'), 'utf8');
  // esbuild names an object define's variable after it (`// <define:…>`, `define_…_default`).
  if (/(?<![<:_])TOLLGATE_PREBUILT_(FUNCTIONS|DIGESTS)\b/.test(text))
    throw new BuildError('dist/index.js still refers to TOLLGATE_PREBUILT_*: the define did not apply');
  // The test-only hook of lib/function.ts must be unreachable in the package, and so dropped.
  for (const name of ['tollgate.functionCodeOverride', 'tollgate:functionCode', 'function sourceCode'])
    if (text.includes(name)) throw new BuildError(`dist/index.js still contains ${name}: the source-only function-code override must not ship`);
  return Object.keys(result.metafile.inputs).length;
}

/**
 * Every Lambda function, bundled as `cdk synth` bundles it from source (lib/bundling.ts), into
 * dist/functions/<name>/. Returns the sha256 of each file by function, and the third-party
 * packages bundled into any of them (folder to name).
 */
async function prebuildFunctions() {
  const { esbuildOptions, externalPackages } = await tsImport('../lib/bundling.ts', import.meta.url);
  const { Functions } = await tsImport('../common/functions.ts', import.meta.url);
  const digests = {};
  const packages = new Map();
  for (const [name, spec] of Object.entries(Functions)) {
    const outdir = join(cdkDist, PREBUILT_FUNCTIONS, name);
    const result = await build({
      ...esbuildOptions(),
      entryPoints: [join(root, spec.entry)],
      absWorkingDir: root,
      outfile: join(outdir, 'index.mjs'),
      metafile: true,
      logLevel: 'warning',
    });
    const left = externalPackages(result.metafile).filter((pkg) => !pkg.startsWith('@aws-sdk/'));
    if (left.length > 0) throw new BuildError(`the ${name} function leaves ${left.join(', ')} to the runtime, which only provides the AWS SDK`);
    const files = readdirSync(outdir).sort();
    if (files.join(',') !== 'index.mjs,index.mjs.map')
      throw new BuildError(`dist/functions/${name} holds ${files.join(', ')}, not index.mjs and its source map`);
    digests[name] = Object.fromEntries(
      files.map((file) => [
        file,
        createHash('sha256')
          .update(readFileSync(join(outdir, file)))
          .digest('hex'),
      ]),
    );
    for (const [folder, pkg] of bundledPackages(Object.keys(result.metafile.inputs))) packages.set(folder, pkg);
  }
  return { digests, packages };
}

/** Bare module specifiers in a declaration file (`from 'x'`, `import('x')`, `import 'x'`). */
const BARE_SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^.'"][^'"]*)\1/g;

function cdkDeclarations() {
  const staging = mkdtempSync(join(tmpdir(), 'tollgate-cdk-types-'));
  try {
    const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', join(cdkPackageDir, 'tsconfig.build.json'), '--outDir', staging], { cwd: root, stdio: 'pipe' });
    } catch (error) {
      throw new BuildError(`tsc failed to emit declarations:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
    // Walk the graph from the entry's declaration, copying each file it reaches to the same
    // place under dist/types, so relative paths between them stay valid.
    const typesDir = join(cdkDist, 'types');
    const pending = [join(staging, 'lib', 'index.d.ts')];
    const copied = new Set();
    const problems = [];
    while (pending.length > 0) {
      const file = pending.pop();
      if (copied.has(file)) continue;
      copied.add(file);
      const where = relative(staging, file).split(sep).join('/');
      const text = readFileSync(file, 'utf8');
      if (/\/\/\/\s*<reference\s+path=/.test(text)) problems.push(`${where} has a <reference path>, which would point outside dist`);
      for (const [, , specifier] of text.matchAll(BARE_SPECIFIER)) {
        if (!isCdkPeer(specifier)) problems.push(`${where} imports "${specifier}", which is not a peer dependency`);
      }
      const rewritten = text.replace(RELATIVE_SPECIFIER, (_match, lead, quote, specifier) => {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, ''));
        // `./gateway` is the folder's index.
        const [resolved, written] = existsSync(`${target}.d.ts`)
          ? [`${target}.d.ts`, `${specifier}.js`]
          : [join(target, 'index.d.ts'), `${specifier}/index.js`];
        if (!existsSync(resolved)) problems.push(`${where} refers to ${specifier}, which has no declaration`);
        else pending.push(resolved);
        return `${lead}${quote}${written}${quote}`;
      });
      mkdirSync(dirname(join(typesDir, where)), { recursive: true });
      writeFileSync(join(typesDir, where), rewritten);
    }
    if (problems.length > 0) throw new BuildError(`dist/types would not be self-contained:\n  ${problems.join('\n  ')}`);
    return copied.size;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

const BUILDERS = {
  async client() {
    rmSync(dist, { recursive: true, force: true });
    mkdirSync(dist, { recursive: true });
    const inputs = await bundleClient();
    const types = declarations();
    console.log(`Built ${relative(root, dist)}: index.js from ${inputs.join(', ')}; declarations ${types.join(', ')}.`);
  },
  async cli() {
    rmSync(cliDist, { recursive: true, force: true });
    mkdirSync(cliDist, { recursive: true });
    const bundled = await bundleCli();
    console.log(`Built ${relative(root, cliDist)}: tollgate.js from cli/main.ts with ${bundled.length} third-party packages (${bundled.join(', ')}).`);
  },
  async cdk() {
    rmSync(cdkDist, { recursive: true, force: true });
    mkdirSync(cdkDist, { recursive: true });
    const { digests, packages } = await prebuildFunctions();
    const inputs = await bundleConstructs(digests);
    // dist/index.js bundles no third-party package (bundleConstructs refuses one), so the
    // functions' are all there are.
    writeFileSync(join(cdkDist, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(packages, '@tollgate/cdk (dist/functions/*/index.mjs and their source maps)'));
    const types = cdkDeclarations();
    const names = [...new Set(packages.values())].sort();
    console.log(
      `Built ${relative(root, cdkDist)}: index.js from ${inputs} modules; functions ${Object.keys(digests).join(', ')} with ${names.length} third-party packages (${names.join(', ')}); ${types} declaration files.`,
    );
  },
};

try {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !Object.hasOwn(BUILDERS, name));
  if (unknown.length > 0) throw new BuildError(`unknown package ${unknown.join(', ')}; choose from ${Object.keys(BUILDERS).join(', ')}`);
  for (const name of requested.length > 0 ? requested : Object.keys(BUILDERS)) {
    await BUILDERS[name]();
    // The project's license, where npm looks for it (always packed; ignored by git as a copy).
    copyFileSync(join(root, 'LICENSE'), join(root, 'packages', name, 'LICENSE'));
  }
} catch (error) {
  console.error(error instanceof BuildError ? `build-packages: ${error.message}` : error);
  process.exitCode = 1;
}
