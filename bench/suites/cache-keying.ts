/**
 * C1, C2: what keying API Gateway's authorizer cache on the method and path as well as the
 * token costs (`AUTHORIZER_IDENTITY_SOURCES`; the price of cached policies that can never
 * be wider than the decision).
 *
 * C1 replays one simulated traffic trace through local mode's cache emulation twice, keyed
 * as deployed (token, method, path) and keyed by the token alone (the earlier design), and
 * counts authorizer invocations per 1,000 requests. The trace: clients with one token
 * each, a steady request rate, GET on a list path and on item paths drawn from a Zipf
 * distribution (a few hot items, a long tail), some writes. Deterministic: a seeded PRNG.
 *
 * C2 is what each extra invocation costs inside the function: the decision for a token
 * the authorizer has already verified, on a path it has not answered before (a new
 * one-statement policy), against the same token on the path it answered last.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { AuthorizerResultCache } from '../../local/authorizer-cache';
import type { IncomingCall } from '../../local/events';
import { cacheKey } from '../../local/authorizer-cache';
import { authorizerEvent, harness, NOW_S } from '../../test/unit/authorizer/support/fixtures';
import { claims, generateTestKey, signToken } from '../../test/unit/authorizer/support/tokens';
import { asDelivered } from '../../local/invoke';
import { figure } from '../lib/figure';
import { runSuite } from '../lib/suite';
import { seededRandom } from '../../test/support/seeded-random';

export interface CacheKeyingArgs {
  readonly clients: number;
  readonly requestsPerSecond: number;
  readonly seconds: number;
  readonly items: number;
  readonly ttlSeconds: number;
  readonly decisionRounds: number;
  readonly decisionsPerRound: number;
}

/** Zipf(s) over 1..n by inverse CDF. */
function zipf(n: number, s: number, random: () => number): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  return () => {
    const r = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

interface TraceRequest {
  readonly atMs: number;
  readonly token: string;
  readonly method: string;
  readonly path: string;
}

function trace(args: CacheKeyingArgs): TraceRequest[] {
  const random = seededRandom(9);
  const item = zipf(args.items, 1.1, random);
  const requests: TraceRequest[] = [];
  const total = args.requestsPerSecond * args.seconds;
  for (let i = 0; i < total; i += 1) {
    const roll = random();
    const [method, path] = roll < 0.25 ? ['GET', '/orders'] : roll < 0.9 ? ['GET', `/orders/${item()}`] : ['POST', '/orders'];
    requests.push({ atMs: (i / args.requestsPerSecond) * 1000, token: `token-${Math.floor(random() * args.clients)}`, method, path });
  }
  return requests;
}

function invocationsPer1000(requests: readonly TraceRequest[], ttlSeconds: number, key: (r: TraceRequest) => string): number {
  let now = 0;
  const cache = new AuthorizerResultCache(ttlSeconds, () => now);
  const allow = {} as APIGatewayAuthorizerResult;
  let invocations = 0;
  for (const request of requests) {
    now = request.atMs;
    const k = key(request);
    if (cache.get(k) === undefined) {
      invocations += 1;
      cache.set(k, allow);
    }
  }
  return (invocations / requests.length) * 1000;
}

const asCall = (r: TraceRequest): IncomingCall => ({
  method: r.method,
  path: r.path,
  query: new URLSearchParams(),
  headers: new Map([['Authorization', [`Bearer ${r.token}`]]]),
  body: Buffer.alloc(0),
  sourceIp: '127.0.0.1',
  requestId: '',
  receivedAtMs: r.atMs,
});

void runSuite<CacheKeyingArgs>(async ({ args, emit, progress }) => {
  progress('C1: replaying the trace under both cache keys');
  const requests = trace(args);
  const deployed = invocationsPer1000(requests, args.ttlSeconds, (r) => cacheKey(asCall(r))!);
  const tokenOnly = invocationsPer1000(requests, args.ttlSeconds, (r) => r.token);
  emit(
    figure({
      id: 'C1',
      name: `authorizer invocations per 1,000 requests, cache keyed on token+method+path (${args.clients} clients, ${args.requestsPerSecond} req/s, ${args.items} Zipf items, TTL ${args.ttlSeconds} s)`,
      unit: 'invocations',
      samples: [deployed],
      comparison: { name: 'cache keyed on the token alone', unit: 'invocations', samples: [tokenOnly] },
      detail: { requests: requests.length, cacheHitRatioDeployed: 1 - deployed / 1000, cacheHitRatioTokenOnly: 1 - tokenOnly / 1000 },
    }),
  );

  progress('C2: a verified token on a new path vs on the path it answered last');
  const key = generateTestKey('ES256', { kid: 'es' });
  const h = await harness([key.record]);
  const authorization = `Bearer ${signToken(key, claims(NOW_S, { scope: 'orders:read' }))}`;
  const samePath = asDelivered(authorizerEvent(authorization, 'GET', '/orders/1'));
  const paths = Array.from({ length: args.decisionsPerRound }, (_, i) => asDelivered(authorizerEvent(authorization, 'GET', `/orders/${i + 2}`)));
  await h.authorizer.decide(samePath);
  const newPath: number[] = [];
  const repeated: number[] = [];
  for (let round = 0; round < args.decisionRounds; round += 1) {
    let started = performance.now();
    for (const event of paths) h.authorizer.decide(event);
    newPath.push(((performance.now() - started) * 1000) / paths.length);
    started = performance.now();
    for (let i = 0; i < paths.length; i += 1) h.authorizer.decide(samePath);
    repeated.push(((performance.now() - started) * 1000) / paths.length);
  }
  emit(
    figure({
      id: 'C2',
      name: 'decision for a verified token on a path it has not answered (new one-ARN policy)',
      unit: 'µs',
      samples: newPath,
      comparison: { name: 'same token on the path it answered last', unit: 'µs', samples: repeated },
    }),
  );
});
