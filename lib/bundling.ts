/**
 * How every Tollgate function is bundled, in one place for the two builders that must agree:
 * CDK's `NodejsFunction` (`lib/function.ts`), which runs the local esbuild with these
 * settings, and whatever builds the same bundle without CDK (`@tollgate/cdk`'s prebuilt
 * functions in `scripts/packages/cdk.mjs`; the P5 benchmark; the test that checks which
 * SDK clients the authorizer bundle imports). A prebuilt `index.mjs` is byte for byte the one
 * `cdk synth` bundles; its `index.mjs.map` differs in `sources` only, whose paths are relative
 * to the folder the map was written to (the package's `dist/functions/<name>/`, or CDK's
 * bundling folder under the cloud assembly). It imports nothing from aws-cdk-lib, so those
 * can load it without loading CDK.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { BuildOptions, Metafile } from 'esbuild';
import { LAMBDA_NODE_MAJOR } from '../common/functions';

/** In `NodejsFunction`'s `bundling` terms; `lib/function.ts` passes these as they are. */
export const LAMBDA_BUNDLING = {
  format: 'esm',
  target: `node${LAMBDA_NODE_MAJOR}`,
  minify: true,
  sourceMap: true,
  // The maps give stack traces their files and lines (`--enable-source-maps`); the sources'
  // text would make them four times larger, most of it the AWS SDK's. After each build the
  // dependencies' mappings are dropped too (`afterBuild`, `lib/build-function.ts`).
  sourcesContent: false,
  // Nothing is left to the runtime, the AWS SDK included (NodejsFunction would leave
  // `@aws-sdk/*` out by default). The runtime's SDK is whatever version Lambda ships at the
  // moment, and Lambda updates it without a deploy; bundled, the function runs the
  // lockfile's version, the one the tests ran, as AWS's Lambda best practices recommend.
  externalModules: [] as string[],
  // A package's ES module build where it has one (the SDK's `dist-es`), which esbuild can
  // tree-shake: with it and the trimmed source maps, the functions start 10–20 ms
  // sooner on Node 24 than when they loaded the SDK from node_modules (BENCHMARKS.md, "Every
  // function bundles its SDK").
  mainFields: ['module', 'main'],
  // Some dependencies still call `require`; ESM output needs one (esbuild#1921).
  banner: "import { createRequire as __tollgateCreateRequire } from 'module'; const require = __tollgateCreateRequire(import.meta.url);",
} as const;

/**
 * The same settings as esbuild options, as `NodejsFunction` turns them into its esbuild
 * command line (`--bundle --platform=node --target=… --format=… --minify --sourcemap
 * --sources-content=false --main-fields=module,main --banner:js=…`). A build that writes a
 * function goes through `buildFunction` (`lib/build-function.ts`), which adds the entry point
 * and output and trims the source map; the checks that only read a build's metafile use these
 * as they are.
 */
export function esbuildOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: LAMBDA_BUNDLING.target,
    format: LAMBDA_BUNDLING.format,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    sourcesContent: LAMBDA_BUNDLING.sourcesContent,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    external: [...LAMBDA_BUNDLING.externalModules],
    banner: { js: LAMBDA_BUNDLING.banner },
  };
}

/**
 * `afterBuild` (`lib/build-function.ts`) as the shell command `NodejsFunction`'s `afterBundling` hook runs (CDK
 * hands it to `bash -c`): `node scripts/trim-source-map.mjs <outfile>`, every word in single
 * quotes, so a path with `$`, a backtick or a quote is passed as it is.
 */
export function afterBuildCommand(outfile: string): string {
  const script = fileURLToPath(new URL('../scripts/trim-source-map.mjs', import.meta.url));
  return [process.execPath, script, outfile].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
}

/**
 * The packages a bundle leaves to the runtime (from esbuild's metafile), by package name,
 * sorted, Node built-ins left out: none for Tollgate's functions (`externalModules`).
 */
export function externalPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (file.endsWith('.map')) continue;
    for (const { path, external } of output.imports) {
      if (!external || path.startsWith('node:')) continue;
      names.add(
        path
          .split('/')
          .slice(0, path.startsWith('@') ? 2 : 1)
          .join('/'),
      );
    }
  }
  return [...names].sort();
}

/**
 * A prebuilt function file's digest (sha256, hex): what `scripts/packages/cdk.mjs` records for
 * each file it builds and what `lib/function.ts` checks the installed file against.
 */
export function prebuiltDigest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
