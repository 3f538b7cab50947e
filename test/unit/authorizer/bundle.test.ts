/**
 * The authorizer bundle, built with the options CDK builds it with (`lib/bundling.ts`),
 * imports no AWS SDK package: it reads DynamoDB with its own SigV4 client
 * (`lambda/adapters/dynamodb-http/`). The SDK is external (the Lambda runtime provides
 * it), so every `@aws-sdk/*` import that reaches the bundle is loaded at cold start
 * whether used or not: importing the DynamoDB client alone was most of the cold init
 * (BENCHMARKS.md, P5.init). It does not `import` `node:http` either: for an import Node
 * builds an ES module of every export, and on Node 24, the runtime the stack deploys,
 * reading `node:http`'s `WebSocket` export loads undici (about 13 ms of cold start).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Functions } from '../../../common/functions';
import { esbuildOptions, externalPackages } from '../../../lib/bundling';

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
  it('imports no package of the AWS SDK', async () => {
    const result = await bundle();
    const sdk = externalPackages(result.metafile).filter((name) => name.startsWith('@aws-sdk/'));
    expect(sdk).toEqual([]);
    // Nothing else is left to the runtime either: the bundle is the whole cold start.
    expect(externalPackages(result.metafile)).toEqual([]);
  });

  it('does not import node:http (it loads the builtin as a CommonJS module)', async () => {
    const { metafile } = await bundle();
    const imports = Object.entries(metafile.outputs).flatMap(([file, output]) => (file.endsWith('.map') ? [] : output.imports.map((i) => i.path)));
    expect(imports).toContain('node:crypto');
    expect(imports.filter((path) => path === 'node:http' || path === 'http')).toEqual([]);
  });
});
