/**
 * P5: the authorizer as it is deployed, bundled with the options CDK's NodejsFunction
 * bundles it with (`lib/bundling.ts`, shared with `lib/function.ts`: esbuild, platform
 * node, target node24, ESM, minified, external source map, nothing left to the runtime),
 * and its cold init: a fresh `node` process started as Lambda starts the function
 * (`bench/lib/cold-start.ts`), importing the bundle and answering
 * its first request, which waits for the key ring and the revocation feed to load from
 * DynamoDB Local. Compared with the same bundling of aws-jwt-verify alone, with the floor
 * of importing the SDK and running the same one Query, and with the same authorizer
 * reading through the SDK instead of its own client (`bench/variants/`), cold-started in
 * turn with it.
 *
 * DynamoDB Local runs in a JVM whose first requests answer several milliseconds slower than
 * later ones, a warm-up DynamoDB in AWS does not have; so before any cold start the suite
 * starts the authorizer's core, wired as the handler wires it, a fixed number of times
 * (`warmDynamoDbLocal`): the emulator has then served the cold start's very reads.
 */
import { gzipSync } from 'node:zlib';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Metafile } from 'esbuild';
import { RING_PARTITION, SigningKeyAttr } from '../../common/signing-key-items';
import { DynamoHttpClient } from '../../lambda/adapters/dynamodb-http/client';
import { dynamoHttpOptionsFrom } from '../../lambda/adapters/dynamodb-http/config';
import { authorizerConfigFrom } from '../../lambda/authorizer/config';
import { authorizerSources } from '../../lambda/authorizer/sources';
import { createAuthorizer } from '../../lambda/core/authorizer/create-authorizer';
import { externalPackages } from '../../lib/bundling';
import { deployedAuthorizer, deployedBundle, type DeployedBundle } from '../lib/deployed';
import { figure } from '../lib/figure';
import { median } from '../lib/stats';
import { coldStart } from '../lib/cold-start';
import { runSuite } from '../lib/suite';
import { authorizerEventFor, createRing, mintTokens } from '../lib/authorizer-under-test';
import { generateTestKey } from '../../test/unit/authorizer/support/tokens';

export interface BundleArgs {
  /** Cold starts measured per subject (one more warms the file cache). */
  readonly samples: number;
  readonly dynamoEndpoint: string;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KB = 1000;

interface Bundle {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** The largest inputs by bytes in the output: where the size comes from. */
  readonly largest: Readonly<Record<string, number>>;
  /** Packages left to the runtime (none: `lib/bundling.ts` bundles everything, the AWS SDK included). */
  readonly externals: readonly string[];
}

function largestPackages(metafile: Metafile, top = 6): Record<string, number> {
  const byPackage = new Map<string, number>();
  const [, output] = Object.entries(metafile.outputs).find(([file]) => file.endsWith('.mjs')) ?? [];
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  return Object.fromEntries([...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top));
}

async function bundle(name: string, entry: BuildOptions): Promise<Bundle> {
  return sized(await deployedBundle(name, entry, { metafile: true }));
}

function sized({ file, result }: DeployedBundle): Bundle {
  return {
    file,
    bytes: statSync(file).size,
    gzipBytes: gzipSync(readFileSync(file)).length,
    largest: largestPackages(result.metafile!),
    externals: externalPackages(result.metafile!),
  };
}

/**
 * Cold starts of the core, each reading the key ring and the revocation feed (its recent
 * partitions and its suspensions), before the first timed one. On 2026-12-07 (AMD EPYC,
 * `--only P5` runs each with a DynamoDB Local just started) the reads and first decision
 * after the import took 20–39 ms of a cold start without a warm-up and 14–28 ms after one;
 * 14–16 ms in a full run, which reaches P5 after the verify suites have used the emulator
 * (bench/results/p5-dynamodb-warm-up.json).
 */
const WARM_UP_STARTS = 300;

/** Starts the authorizer's core `starts` times over the handler's own readers (`authorizerSources`); fails if a read does. */
async function warmDynamoDbLocal(env: Readonly<Record<string, string>>, starts: number): Promise<void> {
  const config = authorizerConfigFrom(env);
  const client = new DynamoHttpClient(dynamoHttpOptionsFrom(env));
  const failures: unknown[] = [];
  const onFailure = (event: { type: string; error?: unknown }) => {
    if (event.type === 'refresh_failed' || event.type === 'read_failed') failures.push(event.error);
  };
  try {
    for (let start = 0; start < starts && failures.length === 0; start += 1) {
      const authorizer = createAuthorizer(config, {
        ...authorizerSources(client, config.tables),
        now: Date.now,
        onKeyRingEvent: onFailure,
        onRevocationEvent: onFailure,
      });
      await authorizer.start();
    }
  } finally {
    client.destroy();
  }
  if (failures.length) throw new Error(`warming DynamoDB Local up: a cold start's read failed: ${failures[0]}`);
}

interface ColdStart {
  readonly importMs: number;
  readonly initMs: number;
}

await runSuite<BundleArgs>(async ({ args, emit, progress }) => {
  progress('P5: bundling');
  const ours = await sized(await deployedAuthorizer('authorizer', { metafile: true }));
  const withSdk = await bundle('authorizer-sdk-reader', { entryPoints: [fileURLToPath(new URL('../variants/authorizer-sdk-reader.ts', import.meta.url))] });
  const peer = await bundle('aws-jwt-verify', { stdin: { contents: "export { JwtVerifier } from 'aws-jwt-verify';", resolveDir: ROOT, loader: 'js' } });
  emit(
    figure({
      id: 'P5.size',
      name: 'authorizer bundle, minified as CDK bundles it',
      unit: 'kB',
      samples: [ours.bytes / KB],
      comparison: { name: 'aws-jwt-verify alone, same bundling', unit: 'kB', samples: [peer.bytes / KB] },
      target: { on: 'value', op: '<=', limit: 100, text: '≤ 100 kB' },
      detail: { bytes: ours.bytes, gzipBytes: ours.gzipBytes, largestInputs: ours.largest, externalPackages: ours.externals },
    }),
  );

  const key = generateTestKey('ES256');
  const ring = await createRing(args.dynamoEndpoint, [key.record]);
  const env = { ...ring.env, BENCH_AUTHORIZER_EVENT: JSON.stringify(authorizerEventFor(mintTokens(key, 1)[0]!)) };
  const floorArgs = ['sdk-floor', args.dynamoEndpoint, ring.names.signingKeys, SigningKeyAttr.ring, RING_PARTITION];
  progress('P5: warming DynamoDB Local up');
  await warmDynamoDbLocal(ring.env, WARM_UP_STARTS);
  const init: ColdStart[] = [];
  const sdkReader: ColdStart[] = [];
  const floor: ColdStart[] = [];
  for (let i = 0; i <= args.samples; i += 1) {
    progress(`P5: cold start ${i}/${args.samples}${i === 0 ? ' (warm-up)' : ''}`);
    const mine = await coldStart<ColdStart>({ args: ['bundle', ours.file], env });
    const viaSdk = await coldStart<ColdStart>({ args: ['bundle', withSdk.file], env });
    const theirs = await coldStart<ColdStart>({ args: floorArgs, env });
    if (i === 0) continue;
    init.push(mine);
    sdkReader.push(viaSdk);
    floor.push(theirs);
  }
  const tenths = (values: readonly number[]) => values.map((ms) => Math.round(ms * 10) / 10);
  emit(
    figure({
      id: 'P5.init',
      name: 'authorizer cold init: import of the bundle + key-ring and feed load + first decision',
      unit: 'ms',
      samples: init.map((s) => s.initMs),
      comparison: { name: 'floor: import the SDK + the same one Query', unit: 'ms', samples: floor.map((s) => s.initMs) },
      target: { on: 'value', op: '<=', limit: 50, text: '≤ 50 ms' },
      detail: {
        importMs: tenths(init.map((s) => s.importMs)),
        sdkImportMs: tenths(floor.map((s) => s.importMs)),
        /** The same authorizer reading DynamoDB through the SDK (bench/variants/authorizer-sdk-reader.ts), in turn with ours. */
        sdkReaderInitMs: tenths(sdkReader.map((s) => s.initMs)),
        sdkReaderInitMedianMs: Math.round(median(sdkReader.map((s) => s.initMs)) * 10) / 10,
        sdkReaderImportMs: tenths(sdkReader.map((s) => s.importMs)),
        sdkReaderBundleBytes: withSdk.bytes,
      },
    }),
  );
});
