/**
 * F1, load with faults (issue #15): sustained traffic through the local gateway while
 * DynamoDB is frozen for `freezeSeconds` by a fault proxy between the functions and
 * DynamoDB Local (requests accepted, never answered: what SIGSTOP or a brownout does).
 *
 * `concurrency` closed-loop callers, split over the four kinds of request a deployment
 * serves: upstream calls with warm tokens (authorizer), token exchanges, JWKS reads and
 * admin writes (`DELETE /admin/tokens/{jti}` with an Idempotency-Key). Each request is
 * recorded with its start, its answer time and its status, or as hung when no answer came
 * within `hungAfterSeconds`. Figures:
 *
 * - F1.p99: answer time p99 of the token, JWKS and admin requests started during the
 *   freeze, the ones that need DynamoDB (target: 3 s);
 * - F1.hung: requests started during the freeze that got no answer within
 *   `hungAfterSeconds` (target: none);
 * - F1.recovery: from the thaw to the first moment after which every exchange succeeded
 *   (target: 5 s);
 * - detail: served (2xx, and the admin API's 404 for an unknown token), refused (503) and
 *   hung, per kind of request, before, during and after the freeze.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiPath } from '../../common/gateway-contract';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { basicAuth } from '../../test/support/api-events';
import { startFaultProxy, type FaultProxy } from '../../test/support/fault-proxy';
import { figure } from '../lib/figure';
import { percentile } from '../lib/stats';
import { runSuite } from '../lib/suite';
import { sleep } from '../lib/timing';

export interface FaultsArgs {
  /** Traffic before the freeze (the baseline). */
  readonly warmSeconds: number;
  readonly freezeSeconds: number;
  /** Traffic after the thaw. */
  readonly afterSeconds: number;
  readonly concurrency: number;
  readonly hungAfterSeconds: number;
}

type Kind = 'upstream' | 'token' | 'jwks' | 'admin';
type Phase = 'before' | 'during' | 'after';

interface Sample {
  readonly kind: Kind;
  readonly startedMs: number;
  /** Absent: hung. */
  readonly status?: number;
  readonly ms: number;
}

const CLIENT = 'bench-faults';
/** Callers per kind, out of every 8: most traffic is upstream calls, as in a deployment. */
const MIX: readonly Kind[] = ['upstream', 'upstream', 'upstream', 'upstream', 'token', 'token', 'jwks', 'admin'];

async function setUp(stack: LocalStack) {
  const created = await fetch(`${stack.url}/admin/clients/${CLIENT}/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ scopes: ['orders:read'] }),
  });
  if (created.status !== 201) throw new Error(`creating an API key failed: ${created.status}`);
  const { apiKey } = (await created.json()) as { apiKey: string };
  // Well above what the callers send: the usage plan's own 429s are not what this measures.
  const limits = await fetch(`${stack.url}/admin/clients/${CLIENT}/limits`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ rateLimit: 5000, burstLimit: 5000 }),
  });
  if (limits.status !== 200) throw new Error(`setting the client's limits failed: ${limits.status}`);
  const exchange = (signal?: AbortSignal) =>
    fetch(`${stack.url}${ApiPath.token}`, {
      method: 'POST',
      headers: { Authorization: basicAuth(CLIENT, apiKey), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
      signal,
    });
  const issued = await exchange();
  if (issued.status !== 200) throw new Error(`token exchange failed: ${issued.status}`);
  const { access_token: token } = (await issued.json()) as { access_token: string };
  return { exchange, token };
}

function requestOf(stack: LocalStack, kind: Kind, token: string, exchange: (signal: AbortSignal) => Promise<Response>, signal: AbortSignal): Promise<Response> {
  switch (kind) {
    case 'upstream':
      return fetch(`${stack.url}/orders/1`, { headers: { Authorization: `Bearer ${token}` }, signal });
    case 'token':
      return exchange(signal);
    case 'jwks':
      return fetch(`${stack.url}${ApiPath.jwks}`, { signal });
    case 'admin':
      // An unknown token: 404 when DynamoDB answers; a write all the same (a conditional UpdateItem).
      return fetch(`${stack.url}/admin/tokens/tok_${randomUUID().replaceAll('-', '').slice(0, 22)}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${stack.adminToken}`, 'Idempotency-Key': randomUUID() },
        signal,
      });
  }
}

function p99(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    99,
  );
}

function statusCounts(samples: readonly Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of samples) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  return counts;
}

function served(sample: Sample): boolean {
  return sample.status !== undefined && (sample.status < 400 || (sample.kind === 'admin' && sample.status === 404));
}

await runSuite<FaultsArgs>(async ({ args, emit, progress, defer }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-faults-'));
  defer(() => rmSync(dataDir, { recursive: true, force: true }));
  let proxy: FaultProxy | undefined;
  defer(() => proxy?.close());
  progress('starting the local stack behind a DynamoDB fault proxy');
  const stack = await startLocalStack({
    port: 0,
    dataDir,
    fresh: true,
    log: () => undefined,
    interposeDynamoDb: async (endpoint) => (proxy = await startFaultProxy(endpoint)).endpoint,
  });
  defer(() => stack.stop());
  const { exchange, token } = await setUp(stack);

  const samples: Sample[] = [];
  const began = performance.now();
  const freezeAt = began + args.warmSeconds * 1000;
  const thawAt = freezeAt + args.freezeSeconds * 1000;
  const endAt = thawAt + args.afterSeconds * 1000;
  const hungMs = args.hungAfterSeconds * 1000;

  const caller = async (kind: Kind) => {
    while (performance.now() < endAt) {
      const startedMs = performance.now();
      const signal = AbortSignal.timeout(hungMs);
      try {
        const response = await requestOf(stack, kind, token, exchange, signal);
        await response.arrayBuffer();
        samples.push({ kind, startedMs, status: response.status, ms: performance.now() - startedMs });
      } catch {
        samples.push({ kind, startedMs, ms: performance.now() - startedMs });
      }
    }
  };
  const phases = (async () => {
    await sleep(freezeAt - performance.now());
    progress(`freezing DynamoDB for ${args.freezeSeconds} s`);
    proxy!.hang();
    await sleep(thawAt - performance.now());
    progress('thawing DynamoDB');
    await proxy!.pass();
  })();
  await Promise.all([phases, ...Array.from({ length: args.concurrency }, (_, i) => caller(MIX[i % MIX.length]!))]);

  const phaseOf = (s: Sample): Phase => (s.startedMs < freezeAt ? 'before' : s.startedMs < thawAt ? 'during' : 'after');
  const during = samples.filter((s) => phaseOf(s) === 'during');
  // The requests that need DynamoDB: upstream calls are decided from memory (their figures are in the detail).
  const answeredDuring = during.filter((s) => s.status !== undefined && s.kind !== 'upstream').map((s) => s.ms);
  const hung = during.filter((s) => s.status === undefined).length;

  // Recovery: the thaw to the end of the last failed exchange; every later one succeeded.
  const exchangesAfter = samples.filter((s) => s.kind === 'token' && s.startedMs >= thawAt).sort((a, b) => a.startedMs - b.startedMs);
  const lastFailure = exchangesAfter.filter((s) => s.status !== 200).at(-1);
  const recoverySeconds = lastFailure ? (lastFailure.startedMs + lastFailure.ms - thawAt) / 1000 : 0;

  const counts: Record<string, Record<string, { served: number; refused503: number; other: Record<string, number>; hung: number; p99Ms: number }>> = {};
  for (const phase of ['before', 'during', 'after'] as const) {
    counts[phase] = {};
    for (const kind of new Set(MIX)) {
      const mine = samples.filter((s) => s.kind === kind && phaseOf(s) === phase);
      counts[phase]![kind] = {
        served: mine.filter(served).length,
        refused503: mine.filter((s) => s.status === 503).length,
        other: statusCounts(mine.filter((s) => s.status !== undefined && !served(s) && s.status !== 503)),
        hung: mine.filter((s) => s.status === undefined).length,
        p99Ms: mine.length ? Math.round(p99(mine.map((s) => s.ms))) : 0,
      };
    }
  }
  const detail = { freezeSeconds: args.freezeSeconds, concurrency: args.concurrency, hungAfterSeconds: args.hungAfterSeconds, byPhase: counts };

  emit(
    figure({
      id: 'F1.p99',
      name: `answer time p99 of token, JWKS and admin requests during a ${args.freezeSeconds} s DynamoDB freeze`,
      unit: 'ms',
      // Nothing answered at all: the worst case, every request hung.
      samples: answeredDuring.length ? answeredDuring : [hungMs],
      value: answeredDuring.length ? p99(answeredDuring) : hungMs,
      target: { on: 'value', op: '<=', limit: 3000, text: '≤ 3 s (p99)' },
      detail,
    }),
  );
  emit(
    figure({
      id: 'F1.hung',
      name: `requests hung (no answer within ${args.hungAfterSeconds} s) during the freeze`,
      unit: 'requests',
      samples: [hung],
      target: { on: 'value', op: '<=', limit: 0, text: 'none' },
    }),
  );
  emit(
    figure({
      id: 'F1.recovery',
      name: 'from the thaw until every token exchange succeeds',
      unit: 's',
      samples: [recoverySeconds],
      target: { on: 'value', op: '<=', limit: 5, text: '≤ 5 s' },
    }),
  );
});
