/**
 * Usage metering end to end on the local stack, authorizer cache on (the default): known
 * traffic for several clients, keys, routes and outcomes goes through the local gateway;
 * its access log goes to the metering function as a CloudWatch Logs subscription delivers
 * it; the usage table then holds exactly what the access log saw, per minute, client, key,
 * route and outcome, kept as long as the stack's retention settings say.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageAttr } from '../../common/usage';
import { usageSeries, type UsageDimension } from '../../common/usage';
import { DynamoUsageReader } from '../../lambda/adapters/usage-store';
import { localDynamoClient, tableNames } from '../../local/dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { rows, tollgate } from '../unit/cli/harness';
import { adminCall, exchangeApiKey } from '../support/local-stack-http';
import * as Setting from '../../common/settings';

interface LogLine {
  readonly requestTimeEpoch: number;
  readonly clientId: string;
  readonly keyId: string;
  readonly httpMethod: string;
  readonly path: string;
  readonly status: number;
  readonly errorType: string;
}

/** Not the defaults: the metering function must be given them as the stack would give them. */
const RETENTION = { minuteDays: 2, hourDays: 20, dayDays: 400 };

describe('usage metering on the local stack (authorizer cache on)', () => {
  let stack: LocalStack;
  let dataDir: string;
  let store: DynamoUsageReader;
  const accessLog: LogLine[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-usage-'));
    stack = await startLocalStack({
      port: 0,
      dataDir,
      fresh: true,
      usageRetention: RETENTION,
      log: (line) => {
        if (line.startsWith('{"requestId"')) accessLog.push(JSON.parse(line) as LogLine);
      },
    });
    store = new DynamoUsageReader(DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint)), tableNames('tollgate-local-').usage);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const admin = (method: string, path: string, body?: unknown) => adminCall(stack, method, path, body);

  /** A new key for the client and an access token minted with it. */
  const token = async (clientId: string, scopes: string[]) => {
    const created = await admin('POST', `/admin/clients/${clientId}/keys`, { scopes });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const apiKey = String(created.body.apiKey);
    const keyId = String((created.body.key as { keyId: string }).keyId);
    const response = await exchangeApiKey(stack.url, clientId, apiKey);
    expect(response.status).toBe(200);
    return { keyId, token: ((await response.json()) as { access_token: string }).access_token };
  };

  const send = async (bearer: string, method: string, path: string, times: number, parallel = false) => {
    const one = () =>
      fetch(`${stack.url}${path}`, { method, headers: { Authorization: `Bearer ${bearer}` } }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    if (parallel) return Promise.all(Array.from({ length: times }, one));
    const statuses: number[] = [];
    for (let i = 0; i < times; i += 1) statuses.push(await one());
    return statuses;
  };

  it('reads back exactly the requests per minute, client, key, route and outcome that the gateway served', async () => {
    expect(Setting.authorizerCacheTtlSeconds.default).toBeGreaterThan(0);
    const alpha = await token('alpha', ['orders:read']);
    const beta1 = await token('beta', ['orders:read', 'orders:write']);
    const beta2 = await token('beta', ['orders:write']);
    const gamma = await token('gamma', ['orders:read']);
    expect((await admin('PUT', '/admin/clients/gamma/limits', { rateLimit: 1, burstLimit: 2 })).status).toBe(200);

    const seen = {
      alphaAllowed: [...(await send(alpha.token, 'GET', '/orders/1', 20)), ...(await send(alpha.token, 'GET', '/orders', 10))],
      alphaDenied: [...(await send(alpha.token, 'POST', '/orders', 5)), ...(await send(alpha.token, 'GET', '/customers/9', 4))],
      beta1: await send(beta1.token, 'GET', '/orders', 12),
      beta2: await send(beta2.token, 'PUT', '/orders/7', 8),
      gamma: await send(gamma.token, 'GET', '/orders/3', 10, true),
      anonymous: await send('not-a-token', 'GET', '/orders', 3),
    };
    expect(seen.alphaAllowed).toEqual(Array(30).fill(200));
    expect(seen.alphaDenied).toEqual(Array(9).fill(403));
    expect(seen.beta1).toEqual(Array(12).fill(200));
    expect(seen.beta2).toEqual(Array(8).fill(200));
    const gammaThrottled = seen.gamma.filter((s) => s === 429).length;
    expect(gammaThrottled).toBeGreaterThan(0);
    expect(seen.anonymous).toEqual(Array(3).fill(401));

    await stack.usage.flush();

    // What the access log saw, grouped independently of the aggregator.
    const upstream = accessLog.filter((l) => l.path !== '/oauth/token' && !l.path.startsWith('/admin'));
    const minutes = [...new Set(upstream.map((l) => Math.floor(l.requestTimeEpoch / 60_000) * 60))].sort();
    const routeOf = (l: LogLine) =>
      l.path === '/orders' ? `${l.httpMethod} /orders` : l.path.startsWith('/orders/') ? `${l.httpMethod} /orders/{proxy+}` : 'unmatched';
    const expected = (filter: (l: LogLine) => boolean, minute: number) => {
      const lines = upstream.filter((l) => filter(l) && Math.floor(l.requestTimeEpoch / 60_000) * 60 === minute);
      const by = (pred: (l: LogLine) => boolean) => lines.filter(pred).length;
      return {
        requests: lines.length,
        allowed: by((l) => l.errorType === '-' && l.status < 500),
        throttled: by((l) => l.errorType === 'THROTTLED'),
        denied: by((l) => l.errorType !== '-' && l.errorType !== 'THROTTLED' && l.status < 500),
        denied_access_denied: by((l) => l.errorType === 'ACCESS_DENIED'),
        serverErrors: by((l) => l.status >= 500),
      };
    };
    const actual = async (dimension: UsageDimension, clientId: string, subject: string | undefined, minute: number) => {
      const [row] = await store.series(usageSeries('minute', dimension, clientId, subject), minute, minute);
      const n = (attribute: string) => Number(row?.[attribute] ?? 0);
      return {
        requests: n(UsageAttr.requests),
        allowed: n(UsageAttr.allowed),
        throttled: n(UsageAttr.throttled),
        denied: n(UsageAttr.denied),
        denied_access_denied: n('denied_access_denied'),
        serverErrors: n(UsageAttr.serverErrors),
      };
    };

    const series: [UsageDimension, string, string | undefined, (l: LogLine) => boolean][] = [];
    for (const [clientId, keys] of [
      ['alpha', [alpha.keyId]],
      ['beta', [beta1.keyId, beta2.keyId]],
      ['gamma', [gamma.keyId]],
    ] as const) {
      series.push(['client', clientId, undefined, (l) => l.clientId === clientId]);
      for (const keyId of keys) series.push(['key', clientId, keyId, (l) => l.clientId === clientId && l.keyId === keyId]);
      for (const route of ['GET /orders', 'GET /orders/{proxy+}', 'POST /orders', 'PUT /orders/{proxy+}', 'unmatched']) {
        series.push(['route', clientId, route, (l) => l.clientId === clientId && routeOf(l) === route]);
      }
    }
    for (const minute of minutes) {
      for (const [dimension, clientId, subject, filter] of series) {
        expect(await actual(dimension, clientId, subject, minute), `${dimension} ${clientId} ${subject ?? ''} @${minute}`).toEqual(expected(filter, minute));
      }
    }

    // Each row expires after its granularity's retention, counted from the end of its period.
    const [minuteRow] = await store.series(usageSeries('minute', 'client', 'alpha', undefined), minutes[0]!, minutes[0]!);
    expect(minuteRow?.[UsageAttr.expiresAt]).toBe(minutes[0]! + 60 + RETENTION.minuteDays * 86_400);
    const hour = Math.floor(minutes[0]! / 3600) * 3600;
    const [hourRow] = await store.series(usageSeries('hour', 'client', 'alpha', undefined), hour, hour);
    expect(hourRow?.[UsageAttr.expiresAt]).toBe(hour + 3600 + RETENTION.hourDays * 86_400);

    // And in total, what each client was answered.
    const sum = async (clientId: string, attribute: string) => {
      let total = 0;
      for (const minute of minutes) total += (await actual('client', clientId, undefined, minute))[attribute as 'requests'];
      return total;
    };
    expect(await sum('alpha', 'requests')).toBe(39);
    expect(await sum('alpha', 'allowed')).toBe(30);
    expect(await sum('alpha', 'denied_access_denied')).toBe(9);
    expect(await sum('beta', 'allowed')).toBe(20);
    expect(await sum('gamma', 'throttled')).toBe(gammaThrottled);
    expect(await sum('gamma', 'allowed')).toBe(10 - gammaThrottled);

    // The admin API reads the same numbers.
    const from = String(minutes[0]);
    const alphaView = await admin('GET', `/admin/clients/alpha/usage?from=${from}&granularity=minute`);
    expect(alphaView.status).toBe(200);
    expect(alphaView.body.totals).toEqual({ requests: 39, allowed: 30, throttled: 0, serverErrors: 0, denied: 9, deniedBy: { access_denied: 9 } });
    const betaKey = await admin('GET', `/admin/clients/beta/usage?from=${from}&keyId=${beta2.keyId}`);
    expect(betaKey.body.totals).toMatchObject({ requests: 8, allowed: 8 });
    const top = await admin('GET', '/admin/usage/top?by=requests&window=2h');
    expect((top.body.clients as { clientId: string; requests: number }[]).map((c) => [c.clientId, c.requests])).toEqual([
      ['alpha', 39],
      ['beta', 20],
      ['gamma', 10],
    ]);

    // And so does the CLI: a table with a trend per outcome, the server's JSON, the top clients.
    const env = { env: { TOLLGATE_ADMIN_TOKEN: stack.adminToken } };
    const table = await tollgate(['usage', 'alpha', '--from', from, '--url', stack.url], env);
    expect(table.code, table.stderr).toBe(0);
    const byOutcome = new Map(
      rows(table.stdout)
        .slice(2)
        .map((cells) => cells.filter((c) => c !== ''))
        .map(([name, total, trend]) => [name!, { total, trend }]),
    );
    expect(byOutcome.get('requests')?.total).toBe('39');
    expect(byOutcome.get('requests')?.trend).toMatch(/[▁▂▃▄▅▆▇█]/);
    expect(byOutcome.get('access_denied')?.total).toBe('9');
    const json = await tollgate(['usage', 'beta', '--from', from, '--key', beta1.keyId, '--json', '--url', stack.url], env);
    expect((JSON.parse(json.stdout) as { totals: unknown }).totals).toMatchObject({ requests: 12, allowed: 12 });
    const topCli = await tollgate(['usage', 'top', '--by', 'denied', '--window', '2h', '--url', stack.url], env);
    expect(rows(topCli.stdout).slice(1)).toEqual([
      ['CLIENT', 'REQUESTS', 'DENIED', 'THROTTLED'],
      ['alpha', '39', '9', '0'],
    ]);
    const refused = await tollgate(['usage', 'alpha', '--granularity', 'week', '--url', stack.url], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/granularity/);
  });
});
