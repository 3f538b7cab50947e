/**
 * The metered-quota loop with one injected clock, every piece real but the transports: the
 * authorizer decides requests at 100 a second; each second's allowed requests are metered
 * into DynamoDB Local and the quota checked; the client record's change becomes the fan-out's
 * feed entry (`revocationFromRecord` on the record's old and new images, as the stream
 * delivers them), which the authorizer's view reads at its poll. A 100-a-day client is
 * stopped after at most 100 + the documented overshoot, refused with `quota_exceeded`, and
 * served again when the day turns.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { DEFAULT_ROUTES, SECONDS_PER_DAY } from '../../../common/config';
import { ClientAttr } from '../../../common/tables';
import { UsageRetentionDefaults } from '../../../common/usage';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { DynamoUsageStore } from '../../../lambda/adapters/usage-store';
import type { Decision } from '../../../lambda/core/authorizer/authorizer';
import { revocationFromRecord } from '../../../lambda/core/revocation/revocation-events';
import { meterLines, RouteLabeler } from '../../../lambda/core/usage/usage-meter';
import { QuotaEnforcer } from '../../../lambda/core/usage/usage-quota';
import { authorizerEvent, harness as authorizerHarness, NOW_S, SETTINGS } from '../../unit/authorizer/support/fixtures';
import { claims, generateTestKey, signToken } from '../../unit/authorizer/support/tokens';
import { line } from '../../unit/usage/lines';
import { harness, type Harness } from '../issuance/harness';

const RATE = 100;
const KEY_ID = 'key_0123456789abcdef0123';

describe('a 100-a-day metered quota, end to end with an injected clock', () => {
  let issuance: Harness;
  beforeAll(async () => {
    issuance = await harness({ seedKey: false });
    await issuance.createKey('acme');
  });

  it('stops the client after at most 100 + rate × (metering interval + one feed poll), refuses quota_exceeded, serves it the next day', async () => {
    const key = generateTestKey('ES256', { kid: 'es' });
    const a = await authorizerHarness([key.record]);
    const { tables } = issuance;
    const quotaStore = new DynamoUsageQuotaStore(tables.doc, { clients: tables.names.clients, usage: tables.names.usage });
    expect(await quotaStore.setQuota('acme', { limit: 100, period: 'DAY' })).toBe('written');
    const meters = new DynamoUsageStore(tables.doc, tables.names.usage, UsageRetentionDefaults);
    const quotas = new QuotaEnforcer(
      {
        state: (c) => quotaStore.state(c),
        used: (c, s, n) => quotaStore.used(c, s, n),
        suspend: (c, u, n) => quotaStore.suspend(c, u, n),
        noticeOnce: (c, s, t, e) => quotaStore.noticeOnce(c, s, t, e),
        publish: async () => undefined,
      },
      a.clock.now,
    );
    const routes = new RouteLabeler(DEFAULT_ROUTES);
    const clientRecord = async () => (await tables.doc.send(new GetCommand({ TableName: tables.names.clients, Key: { [ClientAttr.clientId]: 'acme' } }))).Item!;
    /** What the stream would deliver for the record's change, through the fan-out's own decision, into the feed. */
    const fanOut = (oldImage: Record<string, unknown>, newImage: Record<string, unknown>) => {
      const record = {
        eventName: 'MODIFY',
        eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${tables.names.clients}/stream/2026`,
        dynamodb: { OldImage: marshall(oldImage), NewImage: marshall(newImage) },
      } as unknown as DynamoDBRecord;
      const entry = revocationFromRecord(record, tables.names, { nowMs: a.clock.ms, clockSkewSeconds: SETTINGS.clockSkewSeconds });
      if (entry) a.feed.add(entry.kind, entry.value, a.clock.ms, entry.purgeAt);
      return entry;
    };

    let token = `Bearer ${signToken(key, claims(NOW_S, { cid: KEY_ID }))}`;
    let served = 0;
    let crossedAtMs: number | undefined;
    let refusal: Decision | undefined;
    for (let second = 0; second < 30 && refusal === undefined; second += 1) {
      const lines: string[] = [];
      for (let i = 0; i < RATE; i += 1) {
        a.clock.advance(1000 / RATE);
        const decision = await a.authorizer.decide(authorizerEvent(token, 'GET', `/orders/${i % 7}`));
        if (decision.outcome === 'allow') {
          served += 1;
          if (served === 100) crossedAtMs = a.clock.ms;
          lines.push(line({ atMs: a.clock.ms, clientId: 'acme', keyId: KEY_ID }));
        } else if (refusal === undefined) {
          refusal = decision;
        }
      }
      // Once a second: the batch is metered and the quota checked; a suspension goes through the fan-out.
      const before = await clientRecord();
      await meters.apply(`second-${second}`, meterLines(lines, routes));
      const outcomes = await quotas.check(['acme']);
      if (outcomes.some((o) => o.outcome === 'suspended')) expect(fanOut(before, await clientRecord())).toMatchObject({ kind: 'sus' });
    }

    expect(refusal).toMatchObject({ outcome: 'forbid', reason: 'quota_exceeded' });
    expect(refusal!.outcome === 'forbid' && refusal!.response.context).toMatchObject({ error: 'quota_exceeded' });
    const dayEnd = Math.ceil(a.clock.ms / 1000 / SECONDS_PER_DAY) * SECONDS_PER_DAY;
    // The seconds to the end of the day, from the moment of the refusal (within the second it was decided).
    const retryAfter = Number((refusal as { response: { context: Record<string, string> } }).response.context.retryAfter);
    expect(Math.abs(retryAfter - (dayEnd - a.clock.ms / 1000))).toBeLessThanOrEqual(2);
    // The documented bound: metered once a second, read by the authorizer at its next poll (1 s in this harness).
    expect(served).toBeGreaterThanOrEqual(100);
    expect(served - 100).toBeLessThanOrEqual(RATE * (1 + SETTINGS.revocationPollMs / 1000));
    expect(crossedAtMs).toBeDefined();

    // Still refused until the day turns; served again after it (a new token: the old one has expired by then).
    a.clock.advance(1000);
    expect((await a.authorizer.decide(authorizerEvent(token))).outcome).toBe('forbid');
    a.clock.ms = dayEnd * 1000 + 5_000;
    token = `Bearer ${signToken(key, claims(Math.floor(a.clock.ms / 1000), { cid: KEY_ID }))}`;
    expect((await a.authorizer.decide(authorizerEvent(token))).outcome).toBe('allow');
    expect(await quotas.check(['acme'])).toEqual([{ clientId: 'acme', outcome: 'within' }]);
  }, 120_000);
});
