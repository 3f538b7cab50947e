import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_CLIENT_TEXT, ACCESS_LOG_FIELDS, accessLogFormat, type AccessLogFieldName } from '../../../common/access-log';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { DENIAL_REASONS } from '../../../common/usage';
import {
  classify,
  meterLines,
  parseAccessLogLine,
  RouteLabeler,
  sourceNetwork,
  UNMATCHED_ROUTE,
  type Counts,
  type MeteredBatch,
} from '../../../lambda/core/usage/usage-meter';
import { line } from './lines';

const T0 = Date.UTC(2026, 11, 6, 20, 0, 0);
const routes = new RouteLabeler(DEFAULT_ROUTES);

describe('parseAccessLogLine', () => {
  it('reads the fields of a line the local gateway wrote, with "-" as absent', () => {
    const record = parseAccessLogLine(line({ atMs: T0 + 5, clientId: 'acme', keyId: 'key_0123456789abcdef0123', status: 403, errorType: 'ACCESS_DENIED' }));
    expect(record).toEqual({
      epochMs: T0 + 5,
      method: 'GET',
      path: '/orders/1',
      resourcePath: '/{proxy+}',
      status: 403,
      errorType: 'ACCESS_DENIED',
      clientId: 'acme',
      keyId: 'key_0123456789abcdef0123',
      sourceIp: '198.51.100.7',
    });
    expect(parseAccessLogLine(line({ atMs: T0 }))).toMatchObject({ clientId: undefined, keyId: undefined, errorType: undefined });
  });

  it("reads a line with exactly the deployed stage's fields, the REST API's id among them", () => {
    const deployed = { ...(JSON.parse(line({ atMs: T0, clientId: 'acme' })) as object), apiId: 'a1b2c3d4e5' };
    expect(Object.keys(deployed).sort()).toEqual(Object.keys(ACCESS_LOG_FIELDS).sort());
    expect(parseAccessLogLine(JSON.stringify(deployed))).toMatchObject({ epochMs: T0, status: 200, clientId: 'acme', sourceIp: '198.51.100.7' });
  });

  it('ignores what is not an access-log line: gateway_failure lines, truncated JSON, lines without a numeric time or status', () => {
    expect(parseAccessLogLine(JSON.stringify({ event: 'gateway_failure', requestId: 'r', error: 'x' }))).toBeUndefined();
    expect(parseAccessLogLine('{"requestId":"r","requestTimeEpoch":17')).toBeUndefined();
    expect(parseAccessLogLine(JSON.stringify({ requestTimeEpoch: '1', status: 200 }))).toBeUndefined();
    expect(parseAccessLogLine('null')).toBeUndefined();
  });

  it('treats a client id the issuer could not have minted as no client (series keys stay plain)', () => {
    expect(parseAccessLogLine(line({ atMs: T0, clientId: 'a|b' }))?.clientId).toBeUndefined();
  });
});

/**
 * A line as the deployed stage writes it: API Gateway pastes each variable's value into the
 * format as it is, no JSON escaping (`escaped`: as the local gateway's writer, or API Gateway
 * if it escaped).
 */
function deployedLine(values: Readonly<Record<AccessLogFieldName, string | number>>, escaped = false): string {
  const byExpression = new Map(Object.entries(ACCESS_LOG_FIELDS).map(([name, field]) => [field.expression, name as AccessLogFieldName]));
  return accessLogFormat().replace(/\$context\.[A-Za-z.]+/g, (expression) => {
    const text = String(values[byExpression.get(expression)!]);
    return escaped ? JSON.stringify(text).slice(1, -1) : text;
  });
}

const UNAUTHORIZED_LINE: Record<AccessLogFieldName, string | number> = {
  requestId: 'req-1',
  apiId: 'a1b2c3d4e5',
  requestTime: '06/Dec/2026:20:00:00 +0000',
  requestTimeEpoch: T0,
  httpMethod: 'GET',
  resourcePath: '/{proxy+}',
  status: 401,
  responseLatency: 2,
  errorType: 'UNAUTHORIZED',
  principalId: '-',
  clientId: '-',
  jti: '-',
  scopes: '-',
  keyId: '-',
  kid: '-',
  authorizerError: 'Unauthorized',
  refusal: '-',
  authorizerLatency: '1',
  integrationStatus: '-',
  sourceIp: '203.0.113.9',
  callerAccount: '-',
  caller: '-',
  path: '/orders/1',
};

describe('parseAccessLogLine on what the client writes into the line', () => {
  it('keeps the client-chosen path last in the format, after every field the meter reads', () => {
    expect(Object.keys(ACCESS_LOG_FIELDS).at(-1)).toBe(ACCESS_LOG_CLIENT_TEXT);
    expect(accessLogFormat()).toMatch(/,"path":"\$context\.path"\}$/);
    expect(accessLogFormat()).not.toContain('userAgent');
  });

  it("does not let a path forge another client's allowed request into an unauthenticated 401's line", () => {
    const path = '/x","clientId":"victim","keyId":"key_00000000000000000001","status":200,"errorType":"-","sourceIp":"198.51.100.1","x":"';
    const forged = deployedLine({ ...UNAUTHORIZED_LINE, path });
    // The forged keys are in the line: a plain JSON.parse would read the attacker's.
    expect(JSON.parse(forged)).toMatchObject({ clientId: 'victim', status: 200, errorType: '-' });
    const record = parseAccessLogLine(forged)!;
    expect(record).toMatchObject({ clientId: undefined, keyId: undefined, status: 401, errorType: 'UNAUTHORIZED', sourceIp: '203.0.113.9' });
    expect(classify(record)).toEqual({ kind: 'denied', reason: 'unauthorized' });
  });

  it('reads every field but the path from the trusted part for any path, escaped or not; the path itself when written escaped', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('"', '\\', '\\"', '"}', '","clientId":"victim', '","status":200,"x":"', ',"path":"/a', '\\u0022', '"}{"a":"'),
    );
    const path = fc.array(text, { maxLength: 6 }).map((parts) => `/${parts.join('')}`);
    const trusted = fc.record({
      clientId: fc.constantFrom('acme', '-'),
      keyId: fc.constantFrom('key_00000000000000000001', '-'),
      status: fc.constantFrom(200, 401, 403, 429, 502),
      errorType: fc.constantFrom('-', 'UNAUTHORIZED', 'ACCESS_DENIED', 'THROTTLED'),
      sourceIp: fc.constantFrom('203.0.113.9', '2001:db8::1'),
      refusal: fc.constantFrom('-', 'quota_exceeded', 'suspended'),
    });
    fc.assert(
      fc.property(path, trusted, fc.boolean(), (p, t, escaped) => {
        const record = parseAccessLogLine(deployedLine({ ...UNAUTHORIZED_LINE, ...t, path: p }, escaped));
        expect(record).toBeDefined();
        expect(record).toMatchObject({
          epochMs: T0,
          status: t.status,
          clientId: t.clientId === '-' ? undefined : t.clientId,
          keyId: t.keyId === '-' ? undefined : t.keyId,
          errorType: t.errorType === '-' ? undefined : t.errorType,
          sourceIp: t.sourceIp,
          refusal: t.refusal === '-' ? undefined : t.refusal,
        });
        if (escaped || !p.includes('\\')) expect(record!.path).toBe(p);
      }),
    );
  });

  it('refuses a line whose trusted part holds a repeated, unknown or missing member, or whose path member is missing', () => {
    const good = deployedLine(UNAUTHORIZED_LINE);
    expect(parseAccessLogLine(good)).toBeDefined();
    expect(parseAccessLogLine(good.replace('"status":401,', '"status":401,"clientId":"victim",'))).toBeUndefined();
    expect(parseAccessLogLine(good.replace('"kid":"-",', '"kid":"-","extra":"-",'))).toBeUndefined();
    expect(parseAccessLogLine(good.replace('"kid":"-",', ''))).toBeUndefined();
    expect(parseAccessLogLine(good.replace(',"path":"/orders/1"}', '}'))).toBeUndefined();
    expect(parseAccessLogLine(good.slice(0, -1))).toBeUndefined();
  });
});

describe('classify', () => {
  const of = (status: number, errorType?: string) => classify(parseAccessLogLine(line({ atMs: T0, status, ...(errorType ? { errorType } : {}) }))!);

  it('gives every request exactly one outcome', () => {
    expect(of(200)).toEqual({ kind: 'allowed' });
    expect(of(404)).toEqual({ kind: 'allowed' }); // the upstream's own 404: the gateway let it through
    expect(of(429, 'THROTTLED')).toEqual({ kind: 'throttled' });
    expect(of(429, 'QUOTA_EXCEEDED')).toEqual({ kind: 'denied', reason: 'quota_exceeded' });
    expect(of(403, 'ACCESS_DENIED')).toEqual({ kind: 'denied', reason: 'access_denied' });
    expect(of(401, 'UNAUTHORIZED')).toEqual({ kind: 'denied', reason: 'unauthorized' });
    expect(of(403, 'INVALID_API_KEY')).toEqual({ kind: 'denied', reason: 'invalid_api_key' });
    expect(of(413, 'REQUEST_TOO_LARGE')).toEqual({ kind: 'denied', reason: 'other' });
    expect(of(502, 'INTEGRATION_FAILURE')).toEqual({ kind: 'serverError' });
    expect(of(503)).toEqual({ kind: 'serverError' });
    expect(of(500, 'AUTHORIZER_FAILURE')).toEqual({ kind: 'serverError' });
  });
});

describe('sourceNetwork', () => {
  it('is the /24 of an IPv4 address and the /48 of an IPv6 one', () => {
    expect(sourceNetwork('203.0.113.77')).toBe('203.0.113.0/24');
    expect(sourceNetwork('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(sourceNetwork('2001:DB8::1')).toBe('2001:db8:0::/48');
    expect(sourceNetwork('::ffff:192.0.2.9')).toBe('192.0.2.0/24');
    expect(sourceNetwork('::1')).toBe('0:0:0::/48');
  });

  it('is undefined for what is not an address', () => {
    for (const bad of [undefined, '-', '256.1.1.1', '1.2.3', '1::2::3', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', 'abc']) expect(sourceNetwork(bad)).toBeUndefined();
  });

  it('puts every address of a /24 in one network and no address outside it', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), (a, b) => {
        const same = a.split('.').slice(0, 3).join('.') === b.split('.').slice(0, 3).join('.');
        expect(sourceNetwork(a) === sourceNetwork(b)).toBe(same);
      }),
    );
  });

  it('reads every IPv6 notation of an address as the same /48', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const network = sourceNetwork(ip);
        expect(network).toMatch(/^[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$|^\d+\.\d+\.\d+\.0\/24$/);
      }),
    );
  });
});

describe('RouteLabeler', () => {
  const label = (method: string, path: string, resourcePath = '/{proxy+}') => routes.label({ method, path, resourcePath });

  it('names a request by the route rule it falls under, as the authorizer matches (decoded, case-folded, HEAD under GET)', () => {
    expect(label('GET', '/orders')).toBe('GET /orders');
    expect(label('GET', '/orders/42/items')).toBe('GET /orders/{proxy+}');
    expect(label('GET', '/ORDERS/%34%32')).toBe('GET /orders/{proxy+}');
    expect(label('HEAD', '/orders')).toBe('GET /orders');
    expect(label('POST', '/orders')).toBe('POST /orders');
    expect(label('DELETE', '/orders/1')).toBe('DELETE /orders/{proxy+}');
  });

  it('puts everything no rule names under one label, so the route dimension stays bounded', () => {
    expect(label('GET', '/customers/1')).toBe(UNMATCHED_ROUTE);
    expect(label('POST', '/orders/1')).toBe(UNMATCHED_ROUTE);
    expect(label('GET', '/orders/')).toBe(UNMATCHED_ROUTE);
    expect(label('GET', '/orders/%2F')).toBe(UNMATCHED_ROUTE);
  });

  it("keeps Tollgate's own resources", () => {
    expect(label('POST', '/oauth/token', '/oauth/token')).toBe('POST /oauth/token');
  });

  it('matches {param} segments and ANY rules', () => {
    const custom = new RouteLabeler([{ method: 'ANY', path: '/users/{id}/cart', scopes: ['cart'] }]);
    expect(custom.label({ method: 'PUT', path: '/users/7/cart', resourcePath: '/{proxy+}' })).toBe('ANY /users/{id}/cart');
    expect(custom.label({ method: 'PUT', path: '/users/7/cart/x', resourcePath: '/{proxy+}' })).toBe(UNMATCHED_ROUTE);
  });
});

describe('meterLines', () => {
  it('counts per client, key, route and minute, with distinct networks, and leaves unattributed lines out', () => {
    const k1 = 'key_00000000000000000001';
    const k2 = 'key_00000000000000000002';
    const batch = meterLines(
      [
        line({ atMs: T0 + 1_000, clientId: 'acme', keyId: k1, sourceIp: '203.0.113.1' }),
        line({ atMs: T0 + 2_000, clientId: 'acme', keyId: k1, sourceIp: '203.0.113.2' }),
        line({
          atMs: T0 + 3_000,
          clientId: 'acme',
          keyId: k2,
          method: 'POST',
          path: '/orders',
          status: 403,
          errorType: 'ACCESS_DENIED',
          sourceIp: '198.51.100.1',
        }),
        line({ atMs: T0 + 61_000, clientId: 'acme', keyId: k1, status: 429, errorType: 'THROTTLED' }),
        line({ atMs: T0 + 4_000, clientId: 'zeta', keyId: k2, status: 502, errorType: 'INTEGRATION_FAILURE' }),
        line({ atMs: T0 + 5_000, status: 401, errorType: 'UNAUTHORIZED' }),
        JSON.stringify({ event: 'gateway_failure', requestId: 'x', error: 'boom' }),
      ],
      routes,
    );
    expect(batch).toMatchObject({ lines: 6, unattributed: 1, ignored: 1 });
    const minute = (clientId: string, at: number) => batch.minutes.find((m) => m.clientId === clientId && m.minute === at / 1000)!;
    const first = minute('acme', T0);
    expect(first.total).toEqual({ requests: 3, allowed: 2, throttled: 0, serverErrors: 0, denied: 1, deniedBy: { access_denied: 1 } });
    expect(first.keys.get(k1)).toMatchObject({ requests: 2, allowed: 2 });
    expect(first.keys.get(k2)).toMatchObject({ requests: 1, denied: 1 });
    expect(first.routes.get('GET /orders/{proxy+}')).toMatchObject({ requests: 2, allowed: 2 });
    expect(first.routes.get('POST /orders')).toMatchObject({ requests: 1, denied: 1 });
    expect([...first.networks].sort()).toEqual(['198.51.100.0/24', '203.0.113.0/24']);
    expect(minute('acme', T0 + 60_000).total).toMatchObject({ requests: 1, throttled: 1 });
    expect(minute('zeta', T0).total).toMatchObject({ requests: 1, serverErrors: 1 });
  });

  /** Sum of every client-minute of several batches, as the table would hold it. */
  const totals = (batches: readonly MeteredBatch[]) => {
    const sums = new Map<string, number>();
    const add = (key: string, counts: Counts) => {
      for (const field of ['requests', 'allowed', 'throttled', 'serverErrors', 'denied'] as const)
        sums.set(`${key}|${field}`, (sums.get(`${key}|${field}`) ?? 0) + counts[field]);
      for (const reason of DENIAL_REASONS) sums.set(`${key}|${reason}`, (sums.get(`${key}|${reason}`) ?? 0) + (counts.deniedBy[reason] ?? 0));
    };
    for (const batch of batches) {
      for (const m of batch.minutes) {
        add(`${m.clientId}|${m.minute}`, m.total);
        for (const [k, c] of m.keys) add(`${m.clientId}|${m.minute}|k|${k}`, c);
        for (const [r, c] of m.routes) add(`${m.clientId}|${m.minute}|r|${r}`, c);
      }
    }
    return Object.fromEntries([...sums].filter(([, n]) => n > 0).sort());
  };

  it('counts the same however the lines are split into batches and ordered (property)', () => {
    const spec = fc.record({
      atMs: fc.integer({ min: T0, max: T0 + 5 * 60_000 }),
      clientId: fc.constantFrom('acme', 'zeta', undefined),
      keyId: fc.constantFrom('key_00000000000000000001', 'key_00000000000000000002'),
      method: fc.constantFrom('GET', 'POST', 'HEAD'),
      path: fc.constantFrom('/orders', '/orders/1', '/other'),
      outcome: fc.constantFrom(
        [200, undefined],
        [403, 'ACCESS_DENIED'],
        [429, 'THROTTLED'],
        [429, 'QUOTA_EXCEEDED'],
        [502, 'INTEGRATION_FAILURE'],
        [401, 'UNAUTHORIZED'],
      ),
    });
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 6 }), (specs, cuts) => {
        const lines = specs.map((s) =>
          line({
            atMs: s.atMs,
            clientId: s.clientId,
            keyId: s.clientId && s.keyId,
            method: s.method,
            path: s.path,
            status: s.outcome[0] as number,
            errorType: s.outcome[1] as string | undefined,
          }),
        );
        const whole = meterLines(lines, routes);
        const points = [...new Set(cuts.map((c) => c % (lines.length + 1)))].sort((a, b) => a - b);
        const parts = [0, ...points, lines.length].slice(1).map((end, i, ends) => lines.slice(i === 0 ? 0 : ends[i - 1], end));
        const split = parts.map((part) => meterLines([...part].reverse(), routes));
        expect(totals(split)).toEqual(totals([whole]));
        // Every attributed line is counted once in its client total, once under a route.
        const attributed = specs.filter((s) => s.clientId !== undefined).length;
        expect(whole.minutes.reduce((n, m) => n + m.total.requests, 0)).toBe(attributed);
        expect(whole.minutes.reduce((n, m) => n + [...m.routes.values()].reduce((r, c) => r + c.requests, 0), 0)).toBe(attributed);
      }),
    );
  });
});
