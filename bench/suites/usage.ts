/**
 * U1–U4, usage metering (docs/usage.md).
 *
 * U1, aggregator throughput: access-log lines (written by the local gateway's own line
 * writer) aggregated per second on one core by `meterLines` — 50 clients, 3 keys each, the
 * default routes, a mix of outcomes and source networks.
 *
 * U2, metering lag locally: lines written at a steady rate into local mode's subscription,
 * which delivers them every second to the metering function's core (`createMetering`), which
 * applies them to the usage table in DynamoDB Local; per line,
 * the time from being written to being in the table (p50 and p99 reported).
 *
 * U3, quota overshoot at 100 requests/s: the whole local stack (gateway, authorizer with its
 * cache, meter, quota check, client record, stream poller, fan-out, revocation feed, cache
 * flush) and a client with a metered quota of 100 a day, sent 100 requests a second until
 * it is refused; the overshoot is what it was served beyond 100.
 *
 * U4, detection delay of a 20× spike from new networks: the detector over seeded simulated
 * traffic (a week of a client's own daily cycle, then a thief at 20× its rate from twelve
 * new networks); the delay is from the spike's first request until the minute that flags it
 * is closed and checked (it ends, plus the 60 s the monitor waits for late lines), for the
 * first rule to fire and for the rate rule. Add the metering delay (U2, seconds) for the
 * time to the event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_ROUTES } from '../../common/gateway-contract';
import { UsageRetentionDefaults } from '../../common/usage';
import { DynamoUsageStore } from '../../lambda/adapters/usage-store';
import { detect, type MinuteCounts } from '../../lambda/core/usage/usage-anomaly';
import { meterLines, RouteLabeler } from '../../lambda/core/usage/usage-meter';
import { createTables, localDynamoClient, tableNames } from '../../local/dynamodb';
import { startLocalStack } from '../../local/stack';
import { LocalUsageMeter } from '../../local/usage-metering';
import { createMetering } from '../../lambda/metering/metering';
import { line } from '../../test/unit/usage/lines';
import { figure } from '../lib/figure';
import { percentile } from '../lib/stats';
import { runSuite } from '../lib/suite';
import { sleep } from '../lib/timing';
import { seededRandom } from '../../test/support/seeded-random';

export interface UsageArgs {
  readonly dynamoEndpoint: string;
  readonly parts: readonly ('U1' | 'U2' | 'U3' | 'U4')[];
  readonly throughputRounds: number;
  readonly linesPerRound: number;
  readonly lagSeconds: number;
  readonly lagRate: number;
  readonly overshootRate: number;
  readonly spikeSeeds: number;
}

const OUTCOMES: readonly [number, string | undefined][] = [
  [200, undefined],
  [200, undefined],
  [200, undefined],
  [200, undefined],
  [403, 'ACCESS_DENIED'],
  [429, 'THROTTLED'],
  [502, 'INTEGRATION_FAILURE'],
];

function syntheticLines(count: number, startMs: number, random: () => number): string[] {
  const paths = ['/orders', '/orders/1', '/orders/2/items', '/customers/7'];
  return Array.from({ length: count }, (_, i) => {
    const client = Math.floor(random() * 50);
    const [status, errorType] = OUTCOMES[Math.floor(random() * OUTCOMES.length)]!;
    return line({
      atMs: startMs + Math.floor((i * 60_000) / count),
      clientId: `client-${client}`,
      keyId: `key_${String(client * 3 + Math.floor(random() * 3)).padStart(20, '0')}`,
      method: random() < 0.8 ? 'GET' : 'POST',
      path: paths[Math.floor(random() * paths.length)]!,
      status,
      ...(errorType ? { errorType } : {}),
      sourceIp: `198.51.${Math.floor(random() * 4)}.${Math.floor(random() * 250)}`,
    });
  });
}

void runSuite<UsageArgs>(async ({ args, emit, progress, defer }) => {
  const wants = (part: UsageArgs['parts'][number]) => args.parts.includes(part);
  const routes = new RouteLabeler(DEFAULT_ROUTES);

  if (wants('U1')) {
    progress('U1: aggregating access-log lines');
    const lines = syntheticLines(args.linesPerRound, Date.UTC(2026, 11, 6, 20), seededRandom(1));
    meterLines(lines, routes);
    const rates: number[] = [];
    for (let round = 0; round < args.throughputRounds; round += 1) {
      const started = performance.now();
      meterLines(lines, routes);
      rates.push(lines.length / ((performance.now() - started) / 1000));
    }
    emit(
      figure({
        id: 'U1',
        name: `usage aggregator throughput on one core (${args.linesPerRound} lines a round, 50 clients, 150 keys)`,
        unit: 'lines/s',
        samples: rates,
      }),
    );
  }

  if (wants('U2')) {
    progress('U2: metering lag through the local subscription and the metering core into DynamoDB Local');
    const client = localDynamoClient(args.dynamoEndpoint);
    defer(() => client.destroy());
    const names = tableNames(`bench${Date.now().toString(36)}-`);
    await createTables(client, names);
    const lags: number[] = [];
    /** The oldest line's lag per applied batch: one sample per flush, the figure's spread. */
    const batchLags: number[] = [];
    // The metering function's core, as its handler wires it, without quotas and anomalies.
    const deliver = createMetering({
      sink: new DynamoUsageStore(DynamoDBDocumentClient.from(client), names.usage, UsageRetentionDefaults),
      routes,
      now: Date.now,
    });
    const meter = new LocalUsageMeter({
      deliver,
      log: () => undefined,
      deadLetter: () => {
        throw new Error('U2: a metering delivery failed all its retries');
      },
      onDelivered: (applied) => {
        const now = Date.now();
        const batch = applied.map((text) => now - (JSON.parse(text) as { requestTimeEpoch: number }).requestTimeEpoch);
        lags.push(...batch);
        batchLags.push(Math.max(...batch));
      },
    });
    defer(() => meter.stop());
    const random = seededRandom(2);
    const every = 1000 / args.lagRate;
    const end = Date.now() + args.lagSeconds * 1000;
    let next = Date.now();
    while (Date.now() < end) {
      const client = Math.floor(random() * 20);
      meter.write(line({ atMs: Date.now(), clientId: `client-${client}`, keyId: `key_${String(client).padStart(20, '0')}`, sourceIp: `203.0.113.${client}` }));
      next += every;
      await sleep(Math.max(0, next - Date.now()));
    }
    await meter.flush();
    const sorted = [...lags].sort((a, b) => a - b);
    emit(
      figure({
        id: 'U2',
        name: `metering lag locally, line written to counted (${args.lagRate} lines/s, 20 clients, 1 s flush), p99 of every line; spread: oldest line per flush`,
        unit: 'ms',
        samples: batchLags,
        value: percentile(sorted, 99),
        detail: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), lines: lags.length },
      }),
    );
  }

  if (wants('U3')) {
    progress(`U3: quota overshoot at ${args.overshootRate} requests/s on the local stack`);
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-usage-'));
    defer(() => rmSync(dataDir, { recursive: true, force: true }));
    const stack = await startLocalStack({ port: 0, dataDir, fresh: true, log: () => undefined });
    defer(() => stack.stop());
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${stack.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const created = await admin('POST', '/admin/clients/bench-quota/keys', { scopes: ['orders:read'] });
    const exchange = await fetch(`${stack.url}/oauth/token`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`bench-quota:${String(created.apiKey)}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const token = ((await exchange.json()) as { access_token: string }).access_token;
    await admin('PUT', '/admin/clients/bench-quota/quota', { quota: { limit: 100, period: 'DAY' } });
    let served = 0;
    let refused = false;
    const inFlight: Promise<void>[] = [];
    const started = Date.now();
    let crossedAt: number | undefined;
    let refusedAt: number | undefined;
    for (let i = 0; !refused && Date.now() - started < 60_000; i += 1) {
      inFlight.push(
        fetch(`${stack.url}/orders/1`, { headers: { Authorization: `Bearer ${token}` } }).then(async (r) => {
          await r.arrayBuffer();
          if (r.status === 200 && (served += 1) === 100) crossedAt = Date.now();
          if (r.status === 403 && !refused) {
            refused = true;
            refusedAt = Date.now();
          }
        }),
      );
      await sleep(Math.max(0, started + ((i + 1) * 1000) / args.overshootRate - Date.now()));
    }
    await Promise.all(inFlight);
    emit(
      figure({
        id: 'U3',
        name: `quota overshoot at ${args.overshootRate} requests/s (metered quota 100/day, local stack, authorizer cache on): requests served beyond the quota`,
        unit: 'requests',
        samples: [served - 100],
        detail: { served, limit: 100, crossedToRefusedMs: crossedAt && refusedAt ? refusedAt - crossedAt : null },
      }),
    );
  }

  if (wants('U4')) {
    progress('U4: detection delay of a 20× spike from new networks');
    const firstDelays: number[] = [];
    const rateDelays: number[] = [];
    const closeAfterSeconds = 60;
    for (let seed = 1; seed <= args.spikeSeeds; seed += 1) {
      const random = seededRandom(seed);
      const t0 = Date.UTC(2026, 10, 1) / 1000;
      const week: MinuteCounts[] = Array.from({ length: 7 * 1440 }, (_, i) => {
        const hour = (i / 60) % 24;
        const requests = Math.round((32 + 27 * Math.sin(((hour - 8) / 24) * 2 * Math.PI)) * (0.7 + 0.6 * random()));
        return { minute: t0 + i * 60, requests, accessDenied: 0, networks: ['198.51.100.0/24', '203.0.113.0/24'] };
      });
      const { baseline } = detect(undefined, week, week[week.length - 1]!.minute);
      // The spike starts at a random second of its first minute.
      const spikeMinute = t0 + 7 * 1440 * 60;
      const spikeStart = spikeMinute + Math.floor(random() * 60);
      const thief = Array.from({ length: 5 }, (_, i) => ({
        minute: spikeMinute + i * 60,
        requests: Math.round(20 * baseline!.rate),
        accessDenied: 0,
        networks: Array.from({ length: 12 }, (_, n) => `100.64.${n}.0/24`),
      }));
      const { anomalies } = detect(baseline, thief, thief[thief.length - 1]!.minute);
      const closedAt = (minute: number) => minute + 60 + closeAfterSeconds;
      firstDelays.push(closedAt(Math.min(...anomalies.map((a) => a.minute))) - spikeStart);
      rateDelays.push(closedAt(anomalies.find((a) => a.rule === 'rate_spike')!.minute) - spikeStart);
    }
    emit(
      figure({
        id: 'U4',
        name: 'detection delay of a 20× spike from new networks, first flag (new_networks), before the metering delay',
        unit: 's',
        samples: firstDelays,
        detail: {
          rateSpikeFlagSeconds: {
            p50: percentile(
              [...rateDelays].sort((a, b) => a - b),
              50,
            ),
            max: Math.max(...rateDelays),
          },
        },
      }),
    );
  }
});
