/**
 * Issue #14 finding 6: a client-supplied `X-Tollgate-*` header is refused by the authorizer
 * (any case, repeated, multi-value), with the reason logged and the contract's generic 401.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../lambda/authorizer/authorize';
import { AuthorizerTelemetry, type LogSink } from '../../../lambda/authorizer/telemetry';
import { isReserved, reservedHeaderName } from '../../../lambda/core/authorizer/reserved-headers';
import { METHOD_OVERRIDE_HEADERS, PATH_OVERRIDE_HEADERS, RESERVED_HEADER_PREFIX, UpstreamHeader, UpstreamHeaderSource } from '../../../common/gateway-contract';
import { authorizerEvent, harness, NOW_S } from './support/fixtures';
import { claims, generateTestKey, signToken, type TestKey } from './support/tokens';

/** Any spelling of `name`: each ASCII letter upper or lower case. */
const anyCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

const headerSuffix = fc.stringMatching(/^[A-Za-z0-9-]{0,20}$/);
const reservedName = fc.oneof(
  fc.constantFrom(...Object.values(UpstreamHeader)).chain(anyCase),
  fc.tuple(anyCase(RESERVED_HEADER_PREFIX), headerSuffix).map(([prefix, suffix]) => prefix + suffix),
  // CGI-style servers read `_` as `-` (HTTP_X_TOLLGATE_CLIENT_ID): the same header to them.
  fc.tuple(anyCase(RESERVED_HEADER_PREFIX.replaceAll('-', '_')), headerSuffix).map(([prefix, suffix]) => prefix + suffix),
);

/** The rule, written plainly: Tollgate's prefix with `_` read as `-`, or an override header spelled with `_`. */
const OVERRIDES = [...METHOD_OVERRIDE_HEADERS, ...PATH_OVERRIDE_HEADERS].map((name) => name.toLowerCase());
function reference(name: string): boolean {
  const normalised = name.toLowerCase().replaceAll('_', '-');
  return normalised.startsWith(RESERVED_HEADER_PREFIX) || (name.includes('_') && OVERRIDES.includes(normalised));
}

describe('isReserved', () => {
  it('matches the prefix case-insensitively and with `_` for `-`, exactly as a reference does, for any string', () => {
    const nearMiss = fc
      .tuple(fc.nat({ max: RESERVED_HEADER_PREFIX.length - 1 }), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }))
      .map(([at, c]) => RESERVED_HEADER_PREFIX.slice(0, at) + c + RESERVED_HEADER_PREFIX.slice(at + 1));
    const overrideSpelling = fc
      .constantFrom(...METHOD_OVERRIDE_HEADERS, ...PATH_OVERRIDE_HEADERS)
      .chain(anyCase)
      .chain((name) =>
        fc
          .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
          .map((flip) => [...name].map((c, i) => (c === '-' && flip[i] ? '_' : c)).join('')),
      );
    const anything = fc.oneof(
      fc.string({ unit: 'binary' }),
      overrideSpelling,
      reservedName,
      nearMiss,
      fc.tuple(nearMiss, headerSuffix).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(anything, (name) => isReserved(name) === reference(name)),
      { numRuns: 2000 },
    );
  });

  it('does not match names that only resemble the prefix', () => {
    for (const name of [
      'x-tollgate',
      'X-Tollgate',
      'x-tollgat-client-id',
      'xtollgate-id',
      ' x-tollgate-id',
      'y-tollgate-id',
      'x-toll\u0130gate-',
      'x.tollgate-client-id',
    ]) {
      expect(isReserved(name)).toBe(false);
    }
  });

  it('matches the underscore spellings a CGI-style upstream reads as the same header', () => {
    for (const name of ['x_tollgate-client-id', 'X_Tollgate_Client_Id', 'x-tollgate_scopes', 'X_TOLLGATE_']) expect(isReserved(name)).toBe(true);
    for (const name of ['X_HTTP_Method_Override', 'x-http_method', 'X_Method-Override', 'x_original_url', 'X_REWRITE_URL'])
      expect([name, isReserved(name)]).toEqual([name, true]);
    // The hyphen spellings are the integration's to overwrite, not refused; near names are no override.
    for (const name of ['X-HTTP-Method-Override', 'X-Original-URL', 'x_http_method_overrides', 'x_original'])
      expect([name, isReserved(name)]).toEqual([name, false]);
  });
});

describe('reservedHeaderName', () => {
  it('finds a reserved name in headers or in multiValueHeaders alone, and nothing in ordinary requests', () => {
    fc.assert(
      fc.property(reservedName, fc.constantFrom('headers', 'multi', 'both'), (name, where) => {
        const headers = { Host: 'h', Authorization: 'Bearer t', ...(where !== 'multi' && { [name]: 'forged' }) };
        const multi = { Host: ['h'], Authorization: ['Bearer t'], ...(where !== 'headers' && { [name]: ['forged', 'again'] }) };
        return reservedHeaderName(headers, multi) === name;
      }),
    );
    expect(reservedHeaderName({ Host: 'h', 'X-Forwarded-For': '1.2.3.4' }, { Host: ['h'], 'X-Forwarded-For': ['1.2.3.4'] })).toBeUndefined();
    expect(reservedHeaderName(null, undefined)).toBeUndefined();
  });
});

class RecordingLog implements LogSink {
  readonly lines: { level: string; message: string; extra: Record<string, unknown>[] }[] = [];
  info(message: string, ...extra: Record<string, unknown>[]) {
    this.lines.push({ level: 'info', message, extra });
  }
  warn(message: string, ...extra: Record<string, unknown>[]) {
    this.lines.push({ level: 'warn', message, extra });
  }
  error(message: string, ...extra: Record<string, unknown>[]) {
    this.lines.push({ level: 'error', message, extra });
  }
}

describe('the authorizer refuses a request carrying an X-Tollgate-* header', () => {
  let es: TestKey;
  beforeAll(() => {
    es = generateTestKey('ES256', { kid: 'es' });
  });

  async function setup() {
    const log = new RecordingLog();
    const telemetry = new AuthorizerTelemetry({
      log,
      metrics: { publish: () => undefined },
      allowLogSampleRate: 0,
      flushIntervalMs: 30_000,
      monotonicNow: () => 0,
    });
    const h = await harness([es.record]);
    telemetry.attach(h.authorizer);
    return { log, handler: createHandler(h.authorizer, telemetry) };
  }

  it('with the generic 401, one log line naming the reason, and never the token — whatever the spelling or count', async () => {
    const { log, handler } = await setup();
    const bearer = `Bearer ${signToken(es, claims(NOW_S))}`;
    // The same token is allowed without the header: the refusal is the header's, not the token's.
    const allowed = await handler(authorizerEvent(bearer));
    expect(allowed.principalId).toBe('acme');
    // Every context key the integration maps to an upstream header is set (lib/gateway/routes.ts maps context.authorizer.<key>).
    for (const source of Object.values(UpstreamHeaderSource)) if (source !== null) expect(allowed.context?.[source]).toEqual(expect.any(String));
    const variants: { headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> }[] = [
      { headers: { 'X-Tollgate-Client-Id': 'admin' } },
      { headers: { 'x-tollgate-scopes': 'orders:write' } },
      { headers: { 'X-TOLLGATE-KEY-ID': 'key_other' } },
      { headers: { 'X-Tollgate-Service': 'billing' } },
      { headers: { 'x-ToLLgAtE-anything-else': '1' } },
      // A repeated header: API Gateway puts the last value in `headers`, all of them in `multiValueHeaders`.
      { headers: { 'X-Tollgate-Token-Id': 'b' }, multiValueHeaders: { 'X-Tollgate-Token-Id': ['a', 'b'] } },
      // Only in multiValueHeaders (defence in depth: API Gateway builds both from the same request).
      { multiValueHeaders: { 'x-tollgate-client-id': ['forged'] } },
    ];
    for (const extra of variants) await expect(handler(authorizerEvent(bearer, 'GET', '/orders/42', extra))).rejects.toThrow(/^Unauthorized$/);
    const refusals = log.lines.filter((l) => l.message === 'authorizer decision');
    expect(refusals).toHaveLength(variants.length);
    for (const line of refusals) expect(line.extra[0]).toMatchObject({ outcome: 'reject', reason: 'reserved_header', method: 'GET', path: '/orders/42' });
    expect(JSON.stringify(log.lines)).not.toContain(bearer.slice(7));
  });

  it('also without a token (the header is refused before the token is read)', async () => {
    const { log, handler } = await setup();
    await expect(handler(authorizerEvent(undefined, 'GET', '/orders/42', { headers: { 'X-Tollgate-Scopes': 'x' } }))).rejects.toThrow(/^Unauthorized$/);
    expect(log.lines.find((l) => l.message === 'authorizer decision')!.extra[0]).toMatchObject({ reason: 'reserved_header' });
  });
});
