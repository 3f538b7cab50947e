/**
 * Issue #15: the authorizer handler module, with its real SDK clients, behind a fault proxy
 * that freezes DynamoDB Local (requests accepted, never answered). Warm tokens keep being
 * served while the key-ring refresh and the feed polls hang; once the revocation view is
 * older than `revocationViewMaxStaleSeconds` the authorizer answers "unavailable" (API
 * Gateway: 503), never "Unauthorized" (401: the token is fine); it recovers by itself.
 * Real timers: only generous "eventually" bounds, never tight timing.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Env, EndpointEnv } from '../../../common/names';
import { UNAUTHORIZED, UNAVAILABLE } from '../../../lambda/authorizer/authorize';
import { dynamoEndpoint, freshTables } from '../../support/aws';
import { startFaultProxy } from '../../support/fault-proxy';
import { authorizerEvent } from '../../unit/authorizer/support/fixtures';
import { claims, generateTestKey, ISSUER, signToken } from '../../unit/authorizer/support/tokens';
import { eventually, putKeys } from './support';
import * as Setting from '../../../common/settings';

const MAX_STALE_S = 12;
const RING_REFRESH_S = 5;
/** Far beyond any answer the authorizer should take: it was answered, not hung. */
const ANSWERED_WITHIN_MS = 10_000;

describe('authorizer with DynamoDB frozen', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
    vi.resetModules();
  });

  it('serves warm tokens through a hung ring refresh and feed, then answers unavailable (not Unauthorized), then recovers', async () => {
    const proxy = await startFaultProxy(dynamoEndpoint());
    try {
      const tables = await freshTables();
      const key = generateTestKey('ES256');
      await putKeys(tables.doc, tables.names.signingKeys, [key]);
      Object.assign(process.env, tables.env, {
        [Env.issuer]: ISSUER,
        [Setting.revocationPollMs.env]: '100',
        [Setting.revocationViewMaxStaleSeconds.env]: String(MAX_STALE_S),
        [Env.keyRingRefreshSeconds]: String(RING_REFRESH_S),
        [EndpointEnv.dynamodb]: proxy.endpoint,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      });
      vi.resetModules();
      const { handler } = await import('../../../lambda/authorizer/handler');
      const token = `Bearer ${signToken(key, claims(Math.floor(Date.now() / 1000), { exp: Math.floor(Date.now() / 1000) + 600 }))}`;
      const outcome = () =>
        handler(authorizerEvent(token)).then(
          () => 'allow',
          (error: Error) => error.message,
        );
      expect(await outcome()).toBe('allow');

      proxy.hang();
      const frozenAt = Date.now();
      // Past a ring refresh, well within the staleness bound: every answer is an allow, and comes.
      while (Date.now() - frozenAt < (RING_REFRESH_S + 1) * 1000) {
        const started = Date.now();
        expect(await outcome()).toBe('allow');
        expect(Date.now() - started).toBeLessThan(ANSWERED_WITHIN_MS);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // The view ages past the bound: "we are down", which API Gateway answers 503.
      const unavailable = await eventually(async () => (await outcome()) === UNAVAILABLE, 60_000, 250);
      expect(unavailable).toBeDefined();
      expect(await outcome()).not.toBe(UNAUTHORIZED);

      await proxy.pass();
      const recovered = await eventually(async () => (await outcome()) === 'allow', 30_000, 250);
      expect(recovered).toBeDefined();
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
