/**
 * P7: heap held by the authorizer with `count` distinct verified tokens cached, next to
 * fast-jwt's cache holding the same tokens. Needs `--expose-gc`.
 *
 * The tokens are signed once and kept in one Buffer, whose bytes live outside the V8 heap
 * (`heapUsed` does not count them); each call decodes a fresh string that nothing else
 * holds, so whatever a cache retains of a token (the string, or a slice of it) shows up in
 * the delta. Every round imports a new instance of the deployed bundle (`bench/lib/deployed.ts`;
 * a query string makes it a distinct module), i.e. a fresh, empty cache.
 */
import { figure } from '../lib/figure';
import { runSuite } from '../lib/suite';
import { timeBatches } from '../lib/timing';
import { authorizerEventFor, createRing, expectAllowed, type AuthorizerModule } from '../lib/authorizer-under-test';
import { cachingVerifier } from '../lib/peers';
import { deployedAuthorizer } from '../lib/deployed';
import { claims, generateTestKey, signToken, type TestKey } from '../../test/unit/authorizer/support/tokens';

export interface HeapArgs {
  readonly rounds: number;
  readonly count: number;
  readonly dynamoEndpoint: string;
}

/** Tokens held outside the JS heap; `at(i)` returns a new string each time. */
interface PackedTokens {
  readonly count: number;
  at(index: number): string;
}

/** Distinct clients too (5,000 of them), as a real instance sees. */
function packTokens(key: TestKey, count: number): PackedTokens {
  const now = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [];
  const offsets = new Uint32Array(count + 1);
  for (let i = 0; i < count; i += 1) {
    const client = `client-${i % 5000}`;
    const part = Buffer.from(signToken(key, claims(now, { sub: client, client_id: client, scope: 'orders:read orders:write' })), 'latin1');
    parts.push(part);
    offsets[i + 1] = offsets[i]! + part.length;
  }
  const buffer = Buffer.concat(parts);
  return { count, at: (index) => buffer.toString('latin1', offsets[index]!, offsets[index + 1]!) };
}

const MIB = 2 ** 20;
const HEAP_TARGET = { on: 'value', op: '<=', limit: 64, text: '≤ 64 MiB' } as const;

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the heap suite needs node --expose-gc');
  // Twice: the first pass may only finish what incremental marking had started.
  gc();
  gc();
}

/** Heap growth (bytes) while `fill(i)` runs for tokens 1..count-1, after token 0 warmed the subject. */
async function heapGrowth(tokens: PackedTokens, warm: (token: string) => Promise<unknown>, fill: (token: string) => unknown): Promise<number> {
  await warm(tokens.at(0));
  collect();
  const before = process.memoryUsage().heapUsed;
  await timeBatches(tokens.count - 1, (i) => fill(tokens.at(i + 1)), 500);
  collect();
  return process.memoryUsage().heapUsed - before;
}

/** A new instance of the deployed bundle's module (a query string per round makes the import fresh). */
async function freshAuthorizer(bundleUrl: string, round: number): Promise<AuthorizerModule> {
  const url = new URL(bundleUrl);
  url.search = `instance=${round}`;
  return (await import(url.href)) as AuthorizerModule;
}

await runSuite<HeapArgs>(async ({ args, emit, progress }) => {
  const key = generateTestKey('ES256');
  const ring = await createRing(args.dynamoEndpoint, [key.record]);
  Object.assign(process.env, ring.env);
  progress(`P7: signing ${args.count} tokens`);
  const tokens = packTokens(key, args.count);
  const bundle = await deployedAuthorizer('authorizer-heap');
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < args.rounds; round += 1) {
    progress(`P7: round ${round + 1}/${args.rounds}`);
    const { handler, authorizer } = await freshAuthorizer(bundle.url, round);
    // A module whose authorizer an earlier round filled would measure cache hits, not a fill.
    if (authorizer.cachedTokens !== 0) throw new Error(`round ${round}: the authorizer is not fresh (${authorizer.cachedTokens} tokens cached)`);
    ours.push(
      await heapGrowth(
        tokens,
        (token) => expectAllowed(handler, authorizerEventFor(token)),
        (token) => handler(authorizerEventFor(token)),
      ),
    );
    if (authorizer.cachedTokens !== tokens.count) throw new Error(`expected ${tokens.count} cached tokens, the authorizer holds ${authorizer.cachedTokens}`);
    const peer = cachingVerifier(key, tokens.count);
    theirs.push(
      await heapGrowth(
        tokens,
        async (token) => peer.verify(token),
        (token) => peer.verify(token),
      ),
    );
  }
  emit(
    figure({
      id: 'P7',
      name: `authorizer heap with ${args.count.toLocaleString('en-US')} distinct cached tokens (ES256)`,
      unit: 'MiB',
      samples: ours.map((bytes) => bytes / MIB),
      comparison: { name: `fast-jwt cache holding the same tokens`, unit: 'MiB', samples: theirs.map((bytes) => bytes / MIB) },
      target: HEAP_TARGET,
      detail: { bytesPerToken: Math.round(ours.reduce((a, b) => a + b, 0) / ours.length / args.count) },
    }),
  );
});
