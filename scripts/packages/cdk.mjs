/**
 * Builds `@tollgate/cdk` (packages/cdk/dist):
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
 *   into any function (their code; the source maps name their folders); index.js bundles
 *   none.
 * - dist/types/**: declarations emitted by tsc (packages/cdk/tsconfig.build.json) for
 *   `lib/index.ts` and what it reaches in `lib/` and `common/`, keeping their folders, with
 *   `.js` extensions on relative imports. Every declaration reachable from
 *   dist/types/lib/index.d.ts must resolve inside dist/types, and the only packages they may
 *   name are the peer dependencies.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { BuildError, bundledPackages, disallowedImports, RELATIVE_SPECIFIER, root, shippedInputs, thirdPartyLicenses, withDeclarations } from './shared.mjs';

const cdkPackageDir = join(root, 'packages', 'cdk');
const cdkDist = join(cdkPackageDir, 'dist');
const cdkEntry = join(root, 'lib', 'index.ts');

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
  const problems = disallowedImports(
    result.metafile,
    (path) => isBuiltin(path) || isCdkPeer(path),
    `only Node builtins and ${CDK_PEERS.join(', ')} are allowed`,
  );
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
  const { externalPackages, prebuiltDigest } = await tsImport('../../lib/bundling.ts', import.meta.url);
  const { buildFunction } = await tsImport('../../lib/build-function.ts', import.meta.url);
  const { Functions } = await tsImport('../../common/functions.ts', import.meta.url);
  const digests = {};
  const packages = new Map();
  for (const [name, spec] of Object.entries(Functions)) {
    const outdir = join(cdkDist, PREBUILT_FUNCTIONS, name);
    const result = await buildFunction(build, {
      entryPoints: [join(root, spec.entry)],
      absWorkingDir: root,
      outfile: join(outdir, 'index.mjs'),
      metafile: true,
      logLevel: 'warning',
    });
    // The functions run what they were tested with: nothing, the AWS SDK included, is left to the runtime's copy.
    const left = externalPackages(result.metafile);
    if (left.length > 0) throw new BuildError(`the ${name} function leaves ${left.join(', ')} to the runtime; lib/bundling.ts bundles every package`);
    const files = readdirSync(outdir).sort();
    if (files.join(',') !== 'index.mjs,index.mjs.map')
      throw new BuildError(`dist/functions/${name} holds ${files.join(', ')}, not index.mjs and its source map`);
    digests[name] = Object.fromEntries(files.map((file) => [file, prebuiltDigest(join(outdir, file))]));
    for (const [folder, pkg] of bundledPackages(shippedInputs(result.metafile))) packages.set(folder, pkg);
  }
  return { digests, packages };
}

/** Bare module specifiers in a declaration file (`from 'x'`, `import('x')`, `import 'x'`). */
const BARE_SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^.'"][^'"]*)\1/g;

function cdkDeclarations() {
  return withDeclarations(cdkPackageDir, 'tollgate-cdk-types-', (staging) => {
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
  });
}

export async function buildCdk() {
  rmSync(cdkDist, { recursive: true, force: true });
  mkdirSync(cdkDist, { recursive: true });
  const { digests, packages } = await prebuildFunctions();
  const inputs = await bundleConstructs(digests);
  // dist/index.js bundles no third-party package (bundleConstructs refuses one), so the
  // functions' are all there are.
  writeFileSync(join(cdkDist, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(packages, '@tollgate/cdk (the code bundled into dist/functions/*/index.mjs)'));
  const types = cdkDeclarations();
  const names = [...new Set(packages.values())].sort();
  console.log(
    `Built ${relative(root, cdkDist)}: index.js from ${inputs} modules; functions ${Object.keys(digests).join(', ')} with ${names.length} third-party packages (${names.join(', ')}); ${types} declaration files.`,
  );
}
