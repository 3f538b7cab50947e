/**
 * Code as it is deployed: bundled with the options CDK bundles every function with
 * (`lib/bundling.ts`). The figures about the authorizer's code import these bundles, not
 * the TypeScript source: tsx transpiles the source with other settings (no minification,
 * and `keepNames`, which wraps every named closure in a helper call each time it is
 * made), so the source is not the code Lambda runs. `bench/profile-authorizer.ts` keeps
 * the source, whose frames keep their names.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type BuildResult } from 'esbuild';
import { Functions } from '../../common/functions';
import { buildFunction } from '../../lib/build-function';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = fileURLToPath(new URL('../.out/', import.meta.url));

export interface DeployedBundle {
  /** Path of the bundle's `index.mjs`. */
  readonly file: string;
  /** Its `file:` URL, for `import()`. */
  readonly url: string;
  readonly result: BuildResult;
}

/** Bundles `entry` (esbuild's `entryPoints` or `stdin`) as CDK would, into `bench/.out/<name>/index.mjs`. */
export async function deployedBundle(name: string, entry: BuildOptions, extra: BuildOptions = {}): Promise<DeployedBundle> {
  const dir = `${OUT}${name}/`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}index.mjs`;
  const result = await buildFunction(build, { ...extra, ...entry, outfile: file });
  return { file, url: pathToFileURL(file).href, result };
}

/** The authorizer function's bundle, under `name` (one per suite, so suites never share an output). */
export function deployedAuthorizer(name: string, extra: BuildOptions = {}): Promise<DeployedBundle> {
  return deployedBundle(name, { entryPoints: [`${ROOT}${Functions.authorizer.entry}`] }, extra);
}

/** A bundle of the authorizer's own verifier and key-ring cache, built like the function (for "verification alone"). */
export function deployedVerifier(name: string): Promise<DeployedBundle> {
  return deployedBundle(name, {
    stdin: {
      contents: [
        "export { AccessTokenVerifier } from './lambda/core/authorizer/access-token-verifier';",
        "export { KeyRingCache } from './lambda/core/authorizer/key-ring-cache';",
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'ts',
    },
  });
}
