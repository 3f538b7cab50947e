/**
 * Every function as `cdk synth` and the `@tollgate/cdk` package bundle it (`lib/bundling.ts`)
 * leaves nothing to the Lambda runtime. The AWS SDK is in the bundle, at the lockfile's
 * version, the one the tests run: the runtime's own copy is whatever version Lambda ships
 * that week. It is the SDK's ES module build. `test/infra/full-synth.test.ts` starts each synthesized bundle outside any
 * node_modules.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Functions, type FunctionName } from '../../common/functions';
import { esbuildOptions, externalPackages } from '../../lib/bundling';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe.each(Object.keys(Functions) as FunctionName[])('the %s bundle', (name) => {
  it('leaves no package to the runtime', async () => {
    const { metafile } = await build({
      ...esbuildOptions(),
      entryPoints: [`${ROOT}${Functions[name].entry}`],
      // Named for the source map esbuild emits; nothing is written.
      outfile: `${ROOT}node_modules/.cache/bundling-test/${name}/index.mjs`,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(externalPackages(metafile)).toEqual([]);
    // The authorizer reads DynamoDB without the SDK (test/unit/authorizer/bundle.test.ts).
    if (name === 'authorizer') return;
    const sdkInputs = Object.keys(metafile.inputs).filter((input) => /node_modules\/@(?:aws-sdk|smithy)\//.test(input));
    expect(sdkInputs.length).toBeGreaterThan(0);
    // The SDK's ES module build (`mainFields`), which starts sooner (BENCHMARKS.md), never its CommonJS one.
    expect(sdkInputs.filter((input) => input.includes('/dist-cjs/'))).toEqual([]);
  }, 60_000);
});
