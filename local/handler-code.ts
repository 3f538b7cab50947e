/**
 * Which code local mode runs for each function: the TypeScript sources (the default, what
 * `npm start` runs), or the deployed code: each handler bundled as `cdk synth` bundles it
 * (`lib/bundling.ts`: one minified ES module, the AWS SDK inside), written under the state
 * folder and imported from there. Each bundle has its own copy of every module, as each
 * Lambda function has. The e2e smoke test runs local mode on the bundles, so the code Lambda
 * runs takes the whole flow against DynamoDB Local and the local KMS endpoint.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Functions, type FunctionName } from '../common/functions';

export type HandlerCode = 'source' | 'bundled';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Where the bundles are written: `<name>/index.mjs` under it. */
export const bundlesDir = (stateDir: string) => join(stateDir, 'functions');

/** The module URL of each function's handler, bundling first when `code` is `bundled`. */
export async function handlerModules<N extends FunctionName>(code: HandlerCode, names: readonly N[], stateDir: string): Promise<Record<N, string>> {
  const entry = (name: N) => join(ROOT, Functions[name].entry);
  if (code === 'source') return Object.fromEntries(names.map((name) => [name, pathToFileURL(entry(name)).href])) as Record<N, string>;
  // Loaded only here: esbuild is a build tool, and the default mode does without it.
  const [{ build }, { buildFunction }] = await Promise.all([import('esbuild'), import('../lib/build-function')]);
  const bundled = await Promise.all(
    names.map(async (name) => {
      const outfile = join(bundlesDir(stateDir), name, 'index.mjs');
      await buildFunction(build, { entryPoints: [entry(name)], outfile });
      return [name, pathToFileURL(outfile).href] as const;
    }),
  );
  return Object.fromEntries(bundled) as Record<N, string>;
}
