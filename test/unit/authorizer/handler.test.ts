import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../lambda/authorizer/authorize';
import { AuthorizerTelemetry, type LogSink, type TelemetrySnapshot } from '../../../lambda/authorizer/telemetry';
import { authorizerEvent, harness, NOW_S } from './support/fixtures';
import { claims, generateTestKey, signToken, type TestKey } from './support/tokens';

interface Line {
  level: 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>[];
}

class RecordingLog implements LogSink {
  readonly lines: Line[] = [];
  /** The per-request lines, without the cold-start ones. */
  get decisions(): Line[] {
    return this.lines.filter((l) => l.message === 'authorizer decision' || l.message === 'authorizer internal error');
  }
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

let es: TestKey;
beforeAll(() => {
  es = generateTestKey('ES256', { kid: 'es' });
});

async function setup(options: { sampleRate?: number; random?: () => number } = {}) {
  const log = new RecordingLog();
  const published: TelemetrySnapshot[] = [];
  let monotonic = 0;
  const telemetry = new AuthorizerTelemetry({
    log,
    metrics: { publish: (s) => published.push(s) },
    allowLogSampleRate: options.sampleRate ?? 0,
    flushIntervalMs: 30_000,
    monotonicNow: () => monotonic,
    random: options.random,
  });
  const h = await harness([es.record], { onKeyRingEvent: telemetry.keyRingEvent, onRevocationEvent: telemetry.revocationEvent });
  telemetry.attach(h.authorizer);
  const handler = createHandler(h.authorizer, telemetry);
  return { h, log, published, telemetry, handler, setMonotonic: (ms: number) => (monotonic = ms) };
}

const token = (overrides: Record<string, unknown> = {}) => `Bearer ${signToken(es, claims(NOW_S, overrides))}`;

describe('authorizer handler', () => {
  it('returns the policy response on allow, and logs nothing when the allow is not sampled', async () => {
    const { handler, log } = await setup();
    const result = await handler(authorizerEvent(token()));
    expect(result.principalId).toBe('acme');
    expect(result.context).toMatchObject({ clientId: 'acme', scopes: 'orders:read' });
    expect(log.decisions).toEqual([]);
    expect(log.lines.map((l) => l.message)).toEqual(['revocation view loaded']);
  });

  it('logs allows at the sample rate', async () => {
    const draws = [0.5, 0.005];
    const { handler, log } = await setup({ sampleRate: 0.01, random: () => draws.shift() ?? 1 });
    await handler(authorizerEvent(token()));
    expect(log.decisions).toHaveLength(0);
    await handler(authorizerEvent(token()));
    expect(log.decisions).toHaveLength(1);
    expect(log.decisions[0]!.extra[0]).toMatchObject({ outcome: 'allow', reason: 'allow', clientId: 'acme', method: 'GET', path: '/orders/42' });
  });

  it('throws exactly "Unauthorized" for a 401, logging one line with the reason and never the token', async () => {
    const { handler, log } = await setup();
    const expired = token({ iat: NOW_S - 2000, exp: NOW_S - 1000, jti: 'jti-expired' });
    await expect(handler(authorizerEvent(expired))).rejects.toThrow(/^Unauthorized$/);
    expect(log.decisions).toHaveLength(1);
    const [line] = log.decisions;
    expect(line!.level).toBe('info');
    expect(line!.extra[0]).toMatchObject({
      outcome: 'reject',
      reason: 'expired',
      clientId: 'acme',
      jti: 'jti-expired',
      kid: 'es',
      method: 'GET',
      path: '/orders/42',
    });
    expect(typeof line!.extra[0]!.latencyUs).toBe('number');
    const text = JSON.stringify(log.lines);
    expect(text).not.toContain(expired.slice(7));
    expect(text).not.toContain(expired.split('.')[2]!);
  });

  it("clips a refused token's header kid in its line, as it does the path: neither is signed", async () => {
    const { handler, log } = await setup();
    const forged = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'k'.repeat(2400) })).toString('base64url')}.e30.${'A'.repeat(86)}`;
    await expect(handler(authorizerEvent(`Bearer ${forged}`, 'GET', `/${'p'.repeat(1000)}`))).rejects.toThrow(/^Unauthorized$/);
    const line = log.decisions[0]!.extra[0]!;
    expect(line).toMatchObject({ outcome: 'reject', reason: 'unknown_kid', kid: 'k'.repeat(128) });
    expect((line.path as string).length).toBe(256);
  });

  it('returns a denying policy for a 403 and logs it', async () => {
    const { handler, log } = await setup();
    const result = await handler(authorizerEvent(token(), 'DELETE', '/orders/1'));
    expect(result.policyDocument.Statement.some((s) => s.Effect === 'Deny')).toBe(true);
    expect(log.decisions[0]!.extra[0]).toMatchObject({ outcome: 'forbid', reason: 'insufficient_scope', method: 'DELETE', path: '/orders/1' });
  });

  it('turns anything unexpected into a 401 with an error log, never another error', async () => {
    const { handler, log } = await setup();
    await expect(handler(null as never)).rejects.toThrow(/^Unauthorized$/);
    await expect(handler({ ...authorizerEvent(token()), methodArn: 42 as never })).rejects.toThrow(/^Unauthorized$/);
    expect(log.decisions.map((l) => [l.level, l.extra[0]!.reason])).toEqual([
      ['error', 'internal_error'],
      ['error', 'internal_error'],
    ]);
    expect(log.decisions[0]!.extra[1]).toHaveProperty('error');
  });

  it('still answers when logging itself fails', async () => {
    const h = await harness([es.record]);
    const broken: LogSink = {
      info: () => {
        throw new Error('stdout closed');
      },
      warn: () => undefined,
      error: () => undefined,
    };
    const telemetry = new AuthorizerTelemetry({ log: broken, metrics: { publish: () => undefined }, allowLogSampleRate: 1 });
    const handler = createHandler(h.authorizer, telemetry);
    expect((await handler(authorizerEvent(token()))).principalId).toBe('acme');
    await expect(handler(authorizerEvent('Basic x'))).rejects.toThrow(/^Unauthorized$/);
  });

  it('logs and counts a stale revocation view, failing closed with the error API Gateway answers 503 (not Unauthorized: the token may be good)', async () => {
    const { h, handler, log, telemetry, published } = await setup();
    h.feed.failing = true;
    h.clock.advance(31_000);
    await expect(handler(authorizerEvent(token()))).rejects.toThrow(/^TemporarilyUnavailable$/);
    expect(log.lines.map((l) => l.message)).toContain('revocation feed read failed');
    expect(log.lines.find((l) => l.message === 'authorizer decision')!.extra[0]).toMatchObject({ reason: 'revocation_view_stale' });
    telemetry.flush();
    expect(published[0]!.decisions).toContainEqual({ outcome: 'reject', reason: 'revocation_view_stale', count: 1 });
    expect(published[0]!.revocationReadFailures).toBeGreaterThanOrEqual(1);
    // The worst age a decision may have used is published, not only the age at publish time.
    expect(Math.max(...published[0]!.revocationViewAgesMs)).toBeGreaterThan(30_000);
  });
});

describe('authorizer metrics', () => {
  it('aggregate in memory and publish at most once per interval, after the request', async () => {
    const { h, handler, published, setMonotonic } = await setup();
    const t = token();
    await handler(authorizerEvent(t));
    await handler(authorizerEvent(t));
    await handler(authorizerEvent(t, 'POST', '/orders'));
    await expect(handler(authorizerEvent('Basic x'))).rejects.toThrow();
    setMonotonic(29_999);
    await handler(authorizerEvent(t));
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toEqual([]);
    setMonotonic(30_000);
    await handler(authorizerEvent(t));
    expect(published).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toHaveLength(1);
    const snapshot = published[0]!;
    expect(snapshot.decisions).toEqual([
      { outcome: 'allow', reason: 'allow', count: 4 },
      { outcome: 'forbid', reason: 'insufficient_scope', count: 1 },
      { outcome: 'reject', reason: 'malformed_authorization', count: 1 },
    ]);
    expect([snapshot.cacheHits, snapshot.cacheMisses]).toEqual([4, 1]);
    expect([snapshot.keyRingRefreshes, snapshot.revocationEntriesAdded, snapshot.revocationViewAgesMs]).toEqual([1, 0, [0]]);
    expect(snapshot.latencySamplesMs).toHaveLength(6);
    expect(snapshot.latencySamplesMs.every((ms) => ms >= 0)).toBe(true);
    expect(h.authorizer.stats).toEqual({ cacheHits: 0, cacheMisses: 0 });
  });

  it('count key-ring refreshes and revocation entries, and keep going when publishing fails', async () => {
    const log = new RecordingLog();
    const telemetry = new AuthorizerTelemetry({
      log,
      metrics: {
        publish: () => {
          throw new Error('stdout closed');
        },
      },
      allowLogSampleRate: 0,
    });
    telemetry.keyRingEvent({ type: 'refreshed', keys: 1, skipped: [{ kid: 'bad', problem: 'bad DER' }] });
    telemetry.revocationEvent({ type: 'loaded', added: 1, durationMs: 3 });
    telemetry.flush();
    expect(log.lines.map((l) => l.message)).toEqual(['signing key skipped', 'revocation view loaded', 'metrics publish failed']);
  });
});
