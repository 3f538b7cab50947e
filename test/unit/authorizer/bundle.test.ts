/**
 * The authorizer bundle, built with the options CDK builds it with (`lib/bundling.ts`),
 * imports no AWS SDK package: it reads DynamoDB with its own SigV4 client
 * (`lambda/adapters/dynamodb-http/`). The SDK is external (the Lambda runtime provides
 * it), so every `@aws-sdk/*` import that reaches the bundle is loaded at cold start
 * whether used or not: importing the DynamoDB client alone was most of the cold init
 * (BENCHMARKS.md, P5.init).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Functions } from '../../../common/functions';
import { esbuildOptions, externalPackages } from '../../../lib/bundling';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the authorizer bundle', () => {
  it('imports no package of the AWS SDK', async () => {
    const result = await build({
      ...esbuildOptions(),
      entryPoints: [`${ROOT}${Functions.authorizer.entry}`],
      // Named for the source map esbuild emits; nothing is written.
      outfile: `${ROOT}node_modules/.cache/authorizer-bundle-test/index.mjs`,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const sdk = externalPackages(result.metafile).filter((name) => name.startsWith('@aws-sdk/'));
    expect(sdk).toEqual([]);
    // Nothing else is left to the runtime either: the bundle is the whole cold start.
    expect(externalPackages(result.metafile)).toEqual([]);
  });
});
