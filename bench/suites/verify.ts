/**
 * P1, P2, P3 (and the token size) for one algorithm, in one process and one run. In each
 * round the contestants take turns batch by batch: the real authorizer handler (the
 * deployed bundle) on tokens it has never seen, raw `crypto.verify` on the same tokens (the
 * hardware limit), the handler and the caching peer on one token seen before, the
 * authorizer's verification alone, and the peer verifiers. The last two keep no verified
 * token, so they take the same set of tokens every round. Round 0 warms up and is dropped;
 * ratios are taken per round, so a round slowed by a neighbour slows every side of it.
 */
import { rawVerifier } from '../authorizer';
import { figure, type Figure } from '../lib/figure';
import { median, round } from '../lib/stats';
import { interleaved, perSecond, perWallSecond } from '../lib/timing';
import { opensslVerifySpeed, type OpensslSpeed } from '../lib/openssl-speed';
import { runSuite } from '../lib/suite';
import { authorizerEventFor, createRing, expectAllowed, importAuthorizer, mintTokens, verificationAlone } from '../lib/authorizer-under-test';
import { bareVerifiers, cachingVerifier, type Peer } from '../lib/peers';
import type { JwsAlgorithm } from '../../common/tokens';
import { generateTestKey } from '../../test/unit/authorizer/support/tokens';

export interface VerifyArgs {
  readonly alg: JwsAlgorithm;
  /** Measured rounds (one more warms up). */
  readonly rounds: number;
  /** Fresh tokens per round for the uncached path; as many for the verifiers without a cache. */
  readonly perRound: number;
  /** Decisions per round on the cached path. */
  readonly cachedPerRound: number;
  readonly dynamoEndpoint: string;
}

interface Series {
  uncached: number[];
  uncachedWall: number[];
  raw: number[];
  cachedMicros: number[];
  cachedRate: number[];
  cachingPeer: number[];
  peers: Map<string, number[]>;
  verification: number[];
  /** OpenSSL's own verify loop, run after the rounds; undefined when `openssl speed` could not run. */
  openssl?: OpensslRuns;
}

/** Uncached decisions per batch; contestants take turns batch by batch (see `interleaved`). */
const BATCH = 100;
/** Per second of CPU time, i.e. on one core (see `lib/timing.ts`). */
const UNIT = 'decisions/CPU-s';
const VERIFY_UNIT = 'verifies/CPU-s';
const FRESH_TOKENS_TARGET = { on: 'ratio', op: '>=', limit: 0.9, text: '≥ 0.90 × raw crypto.verify' } as const;
const CACHED_TARGET = { on: 'value', op: '<=', limit: 3, text: '≤ 3 µs median' } as const;
const FASTER_TARGET = { on: 'ratio', op: '>', limit: 1, text: 'faster than the peer (ratio > 1)' } as const;

/**
 * `P1.<alg>.openssl`: what P1's baseline costs beyond the signature math. OpenSSL's loop
 * runs in a child process after the rounds, so it is set against raw `crypto.verify` by
 * medians, not paired by round. The detail sets the P1 budget (a decision at the target's
 * 0.90 of raw) against the math alone.
 */
function opensslFloor(alg: JwsAlgorithm, s: Series): Figure[] {
  if (s.openssl === undefined) return [];
  const { rates, speed } = s.openssl;
  const mathMicros = 1e6 / median(rates);
  const rawMicros = 1e6 / median(s.raw);
  const budgetMicros = rawMicros / FRESH_TOKENS_TARGET.limit;
  return [
    figure({
      id: `P1.${alg}.openssl`,
      name: `OpenSSL's own verify loop, context set up once, no hashing: the math under raw crypto.verify (${alg})`,
      unit: VERIFY_UNIT,
      samples: rates,
      comparison: { name: `raw crypto.verify ${alg}, same run`, unit: VERIFY_UNIT, samples: s.raw },
      detail: {
        command: speed.command,
        opensslVersion: speed.version,
        nodeOpensslVersion: process.versions.openssl,
        mathMicros: round(mathMicros),
        rawVerifyMicros: round(rawMicros),
        decisionBudgetMicrosAtTarget: round(budgetMicros),
        budgetBeyondMathMicros: round(budgetMicros - mathMicros),
      },
    }),
  ];
}

async function checkPeer(peer: Peer, token: string, jti: unknown): Promise<void> {
  const result = (await peer.verify(token)) as { payload?: { jti?: unknown }; jti?: unknown };
  if ((result.payload?.jti ?? result.jti) !== jti) throw new Error(`${peer.name} did not return the token's claims`);
}

function jtiOf(token: string): unknown {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti;
}

/** `openssl speed` runs of a second each: their rates agree within a few tenths of a percent. */
const OPENSSL_RUNS = 3;

interface OpensslRuns {
  readonly rates: readonly number[];
  /** The last run: its command and version. */
  readonly speed: OpensslSpeed;
}

/**
 * After the timed rounds, so the child process neither runs beside a timed batch nor leaves
 * the process idle for a second between two of them. Without a usable openssl the run goes
 * on without the figure, and says so; the figure comes from every run or from none.
 */
async function measureOpenssl(alg: JwsAlgorithm, progress: (text: string) => void): Promise<OpensslRuns | undefined> {
  const rates: number[] = [];
  let speed: OpensslSpeed | undefined;
  try {
    for (let run = 0; run < OPENSSL_RUNS; run += 1) {
      speed = await opensslVerifySpeed(alg, 1);
      rates.push(speed.verifiesPerSecond);
    }
  } catch (error) {
    progress(`${alg}: no P1.${alg}.openssl figure: ${(error as Error).message}`);
    return undefined;
  }
  return { rates, speed: speed! };
}

const ratios = (mine: readonly number[], theirs: readonly number[]) => mine.map((value, i) => value / theirs[i]!);

/** The peers our verification alone is also set against: those the whole decision does not outrun yet. */
const VERIFICATION_PEERS = ['aws-jwt-verify', 'fast-jwt'];

function figures(alg: JwsAlgorithm, s: Series, peers: readonly Peer[], caching: Peer, verification: Peer, sampleToken: string): Figure[] {
  const raw = { name: `raw crypto.verify ${alg}, same run`, unit: VERIFY_UNIT, samples: s.raw, pairedRatios: ratios(s.uncached, s.raw) };
  const [header, payload, signature] = sampleToken.split('.') as [string, string, string];
  /** A bare peer's rate in the same rounds, with the ratios of `ours` to it round by round. */
  const against = (peer: Peer, ours: readonly number[]) => {
    const theirs = s.peers.get(peer.id)!;
    return { name: `${peer.name}, key preloaded`, unit: VERIFY_UNIT, samples: theirs, pairedRatios: ratios(ours, theirs) };
  };
  return [
    figure({
      id: `P1.${alg}`,
      name: `uncached decisions/s, real handler, every token new (${alg})`,
      unit: UNIT,
      samples: s.uncached,
      comparison: raw,
      target: FRESH_TOKENS_TARGET,
      detail: { wallClockDecisionsPerSecond: median(s.uncachedWall) },
    }),
    ...opensslFloor(alg, s),
    figure({
      id: `P2.${alg}`,
      name: `cached decision latency, same token again (${alg})`,
      unit: 'µs',
      samples: s.cachedMicros,
      comparison: { name: `one raw crypto.verify ${alg}`, unit: 'µs', samples: s.raw.map((rate) => 1e6 / rate) },
      target: CACHED_TARGET,
      detail: { cachedDecisionsPerSecond: median(s.cachedRate) },
    }),
    ...peers.map((peer) =>
      figure({
        id: `P3.${alg}.${peer.id}`,
        name: `our uncached decisions/s vs ${peer.name} (${alg})`,
        unit: UNIT,
        samples: s.uncached,
        comparison: against(peer, s.uncached),
        target: FASTER_TARGET,
      }),
    ),
    ...peers
      .filter((peer) => VERIFICATION_PEERS.includes(peer.id))
      .map((peer) =>
        figure({
          id: `P3.${alg}.verification.${peer.id}`,
          name: `${verification.name} (no cache, revocation, route or response) vs ${peer.name} (${alg})`,
          unit: VERIFY_UNIT,
          samples: s.verification,
          comparison: against(peer, s.verification),
        }),
      ),
    figure({
      id: `P3.${alg}.cached`,
      name: `our cached decisions/s vs ${caching.name} (${alg})`,
      unit: UNIT,
      samples: s.cachedRate,
      comparison: { name: `${caching.name}, same token again`, unit: VERIFY_UNIT, samples: s.cachingPeer, pairedRatios: ratios(s.cachedRate, s.cachingPeer) },
      target: FASTER_TARGET,
    }),
    figure({
      id: `S1.${alg}`,
      name: `access token size (${alg})`,
      unit: 'bytes',
      samples: [sampleToken.length],
      detail: {
        headerBytes: header.length,
        payloadBytes: payload.length,
        signatureBytes: signature.length,
        authorizationHeaderBytes: `Bearer ${sampleToken}`.length,
      },
    }),
  ];
}

await runSuite<VerifyArgs>(async ({ args, emit, progress }) => {
  const { alg, rounds, perRound, cachedPerRound } = args;
  const key = generateTestKey(alg);
  const ring = await createRing(args.dynamoEndpoint, [key.record]);
  progress(`${alg}: signing ${perRound * (rounds + 1) + 1} fresh tokens`);
  // Everything slow happens before the import: blocking the event loop for seconds would
  // time out the cold start's feed read, and the authorizer then fails closed, as it should.
  const tokens = mintTokens(key, perRound * (rounds + 1) + 1);
  const hotToken = tokens.pop()!;
  const events = tokens.map(authorizerEventFor);
  const hot = authorizerEventFor(hotToken);
  const { handler } = await importAuthorizer(ring.env, { bundle: `authorizer-${alg}` });
  // The cold start's ring and feed reads complete here, outside every timed section.
  await expectAllowed(handler, hot);

  const peers = await bareVerifiers(key);
  const caching = cachingVerifier(key);
  const verification = await verificationAlone(key, `verifier-${alg}`);
  const peerTokens = tokens.slice(0, perRound);
  for (const peer of [...peers, caching, verification]) await checkPeer(peer, hotToken, jtiOf(hotToken));

  const s: Series = {
    uncached: [],
    uncachedWall: [],
    raw: [],
    cachedMicros: [],
    cachedRate: [],
    cachingPeer: [],
    peers: new Map(peers.map((p) => [p.id, []])),
    verification: [],
  };
  const batches = Math.max(1, Math.floor(perRound / BATCH));
  for (let round = 0; round <= rounds; round += 1) {
    progress(`${alg}: round ${round}/${rounds}${round === 0 ? ' (warm-up)' : ''}`);
    const from = round * perRound;
    const [uncached, raw, cached, cachingPeer, alone, ...peerTimings] = await interleaved(
      [
        { operations: perRound, operation: (i) => handler(events[from + i]!) },
        // The hardware limit: crypto.verify alone on the same tokens, decoded beforehand.
        { operations: perRound, operation: rawVerifier(key, tokens.slice(from, from + perRound)) },
        { operations: cachedPerRound, operation: () => handler(hot) },
        { operations: cachedPerRound, operation: () => caching.verify(hotToken) },
        { operations: perRound, operation: (i) => verification.verify(peerTokens[i]!) },
        ...peers.map((peer) => ({ operations: perRound, operation: (i: number) => peer.verify(peerTokens[i]!) })),
      ],
      batches,
    );
    if (round === 0) continue;
    s.uncached.push(perSecond(uncached!));
    s.uncachedWall.push(perWallSecond(uncached!));
    s.raw.push(perSecond(raw!));
    s.cachedMicros.push(median(cached!.batchMeansMicros));
    s.cachedRate.push(perSecond(cached!));
    s.cachingPeer.push(perSecond(cachingPeer!));
    s.verification.push(perSecond(alone!));
    for (const [p, peer] of peers.entries()) s.peers.get(peer.id)!.push(perSecond(peerTimings[p]!));
  }
  s.openssl = await measureOpenssl(alg, progress);
  for (const result of figures(alg, s, peers, caching, verification, hotToken)) emit(result);
});
