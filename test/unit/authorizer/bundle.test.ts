/**
 * The authorizer bundle, built with the options CDK builds it with (`lib/bundling.ts`),
 * holds no AWS SDK package: it reads DynamoDB with its own SigV4 client
 * (`lambda/adapters/dynamodb-http/`). Every function bundles the SDK it uses, and importing
 * the DynamoDB client alone was most of the authorizer's cold init (BENCHMARKS.md,
 * P5.init). It does not `import` `node:http` either: for an import Node builds an ES
 * module of every export, and on Node 24, the runtime the stack deploys, reading
 * `node:http`'s `WebSocket` export loads undici (about 13 ms of cold start).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Functions } from '../../../common/functions';
import { esbuildOptions } from '../../../lib/bundling';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function bundle() {
  return build({
    ...esbuildOptions(),
    entryPoints: [`${ROOT}${Functions.authorizer.entry}`],
    // Named for the source map esbuild emits; nothing is written.
    outfile: `${ROOT}node_modules/.cache/authorizer-bundle-test/index.mjs`,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

describe('the authorizer bundle', () => {
  it('holds no package of the AWS SDK', async () => {
    const { metafile } = await bundle();
    const sdk = Object.keys(metafile.inputs).filter((input) => /node_modules\/@(?:aws-sdk|smithy)\//.test(input));
    expect(sdk).toEqual([]);
  });

  it('does not import node:http (it loads the builtin as a CommonJS module)', async () => {
    const { metafile } = await bundle();
    const imports = Object.entries(metafile.outputs).flatMap(([file, output]) => (file.endsWith('.map') ? [] : output.imports.map((i) => i.path)));
    expect(imports).toContain('node:crypto');
    expect(imports.filter((path) => path === 'node:http' || path === 'http')).toEqual([]);
  });
});
