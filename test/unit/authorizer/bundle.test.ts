/**
 * The authorizer bundle, built with the options CDK builds it with (`lib/bundling.ts`),
 * imports no AWS SDK package but DynamoDB's. The SDK is external (the Lambda runtime
 * provides it), so every `@aws-sdk/*` import that reaches the bundle is loaded at cold
 * start whether used or not: the four unused clients a shared factory module once pulled
 * in cost 170–190 ms of init (BENCHMARKS.md, P5.init).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Functions } from '../../../common/functions';
import { esbuildOptions, externalPackages } from '../../../lib/bundling';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the authorizer bundle', () => {
  it('imports the DynamoDB client and document client of the AWS SDK, and no other SDK package', async () => {
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
    expect(sdk).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
  });
});
