/**
 * Building a function outside CDK, and what every build does after esbuild. Build tooling
 * only: the construct library (`lib/bundling.ts`, in `@tollgate/cdk`) does not import it, so
 * an app that uses the prebuilt functions never loads the source-map rewrite.
 */
import type { BuildOptions } from 'esbuild';
import { esbuildOptions } from './bundling';
import { trimSourceMapFile } from './source-maps';

/**
 * Builds a function as `cdk synth` does, with esbuild's `build` (passed in, so that loading
 * this module does not load esbuild): {@link esbuildOptions},
 * then `options` (the entry point and `outfile` at least), then {@link afterBuild} on what
 * it wrote. The package build, local mode and the benchmark build through it.
 */
export async function buildFunction<R>(build: (options: BuildOptions) => Promise<R>, options: BuildOptions & { readonly outfile: string }): Promise<R> {
  const result = await build({ ...esbuildOptions(), logLevel: 'silent', ...options });
  if (options.write !== false) afterBuild(options.outfile);
  return result;
}

/**
 * What every build of a function does after esbuild: its source map loses the mappings of
 * its dependencies (`lib/source-maps.ts`). `NodejsFunction` runs it as its `afterBundling`
 * hook (`scripts/trim-source-map.mjs`); every other build runs it through {@link buildFunction}.
 */
export function afterBuild(outfile: string): void {
  trimSourceMapFile(`${outfile}.map`);
}
