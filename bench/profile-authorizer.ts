/**
 * One path of the real authorizer handler alone, long enough for a CPU profile to say
 * where its time goes (the P1/P2 suite interleaves contestants, so its profile mixes them):
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=bench/results/profiles bench/profile-authorizer.ts ES256 uncached
 *   npx tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile --within handler@authorize.ts
 *
 * `uncached`: every decision on a token never seen; `cached`: one token again and again.
 * Starts and stops its own DynamoDB Local; prints CPU µs per decision on stderr (stdout
 * carries the handler's own log lines).
 */
import { startDynamoDbLocal } from '../local/dynamodb';
import { SIGNING_ALGORITHMS, type JwsAlgorithm } from '../common/tokens';
import { authorizerEventFor, createRing, expectAllowed, importAuthorizer, mintTokens } from './lib/authorizer-under-test';
import { timeBatches } from './lib/timing';
import { generateTestKey } from '../test/unit/authorizer/support/tokens';

const ALGORITHMS = Object.values(SIGNING_ALGORITHMS).map((spec) => spec.alg);
const PATHS = ['uncached', 'cached'] as const;
const DECISIONS = { uncached: 6000, cached: 600_000 } as const;

function usage(): never {
  process.stderr.write(`usage: bench/profile-authorizer.ts <${ALGORITHMS.join('|')}> <${PATHS.join('|')}>\n`);
  process.exit(2);
}

const [alg, path] = process.argv.slice(2) as [JwsAlgorithm, (typeof PATHS)[number]];
if (!ALGORITHMS.includes(alg) || !PATHS.includes(path)) usage();

const dynamo = await startDynamoDbLocal();
try {
  const key = generateTestKey(alg);
  const ring = await createRing(dynamo.endpoint, [key.record]);
  const count = DECISIONS[path];
  const events = mintTokens(key, path === 'uncached' ? count : 1).map(authorizerEventFor);
  const { handler } = await importAuthorizer(ring.env, 'source');
  await expectAllowed(handler, events[0]!);
  const timing = await timeBatches(count, path === 'uncached' ? (i) => handler(events[i]!) : () => handler(events[0]!));
  process.stderr.write(`${alg} ${path}: ${((timing.cpuMs * 1000) / count).toFixed(2)} CPU µs per decision\n`);
} finally {
  await dynamo.stop();
}
process.exit(0);
