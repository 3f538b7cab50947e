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
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { ApiKeyAttr, ClientAttr } from '../../../common/credential-items';
import { UsageRetentionDefaults } from '../../../common/usage';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { DynamoUsageStore } from '../../../lambda/adapters/usage-store';
import type { Decision } from '../../../lambda/core/authorizer/authorizer';
import { revocationFromRecord } from '../../../lambda/core/revocation/revocation-events';
import { meterLines, RouteLabeler } from '../../../lambda/core/usage/usage-meter';
import { meteredKeys, QuotaEnforcer, quotaPorts } from '../../../lambda/core/usage/usage-quota';
import { adminCall } from '../../support/api-events';
import { authorizerEvent, Clock, harness as authorizerHarness, SETTINGS } from '../../unit/authorizer/support/fixtures';
import { claims, generateTestKey, signToken } from '../../unit/authorizer/support/tokens';
import { line } from '../../unit/usage/lines';
import { body, harness, type Harness } from '../issuance/harness';

const RATE = 100;
const KEY_ID = 'key_0123456789abcdef0123';
/**
 * Noon (UTC) today, where the first two tests start: usage rows expire by TTL some days after
 * their own time and DynamoDB Local really deletes them, so meters dated at the authorizer
 * fixtures' fixed 2025 clock could vanish mid-test. Noon keeps the day's end hours away from
 * the tests' half minute of simulated traffic.
 */
const TODAY_NOON_MS = (Math.floor(Date.now() / 1000 / SECONDS_PER_DAY) * SECONDS_PER_DAY + SECONDS_PER_DAY / 2) * 1000;

describe('a 100-a-day metered quota, end to end with an injected clock', () => {
  let issuance: Harness;
  beforeAll(async () => {
    issuance = await harness({ seedKey: false });
    await issuance.createKey('acme');
  });

  it('stops the client after at most 100 + rate × (metering interval + one feed poll), refuses quota_exceeded, serves it the next day', async () => {
    const key = generateTestKey('ES256', { kid: 'es' });
    const a = await authorizerHarness([key.record], { clock: new Clock(TODAY_NOON_MS) });
    const { tables } = issuance;
    const quotaStore = new DynamoUsageQuotaStore(tables.doc, { clients: tables.names.clients, usage: tables.names.usage, apiKeys: tables.names.apiKeys });
    expect(await quotaStore.setQuota('acme', { limit: 100, period: 'DAY' })).toBe('written');
    const meters = new DynamoUsageStore(tables.doc, tables.names.usage, UsageRetentionDefaults);
    const quotas = new QuotaEnforcer(
      quotaPorts(quotaStore, async () => undefined),
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

    let token = `Bearer ${signToken(key, claims(Math.floor(a.clock.ms / 1000), { cid: KEY_ID }))}`;
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
    expect(refusal!.outcome === 'forbid' && refusal!.response.context).toMatchObject({ refusal: 'quota_exceeded' });
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

describe('a 20-a-day quota on one API key, end to end with an injected clock', () => {
  let issuance: Harness;
  let limited: string;
  let other: string;
  beforeAll(async () => {
    issuance = await harness({ seedKey: false });
    limited = (await issuance.createKey('acme')).key.keyId as string;
    other = (await issuance.createKey('acme')).key.keyId as string;
  });

  it("stops that key after at most 20 + rate × (metering interval + one feed poll), refuses it quota_exceeded with Retry-After, keeps the client's other key working", async () => {
    const signing = generateTestKey('ES256', { kid: 'es' });
    const a = await authorizerHarness([signing.record], { clock: new Clock(TODAY_NOON_MS) });
    const { tables } = issuance;
    const quotaStore = new DynamoUsageQuotaStore(tables.doc, { clients: tables.names.clients, usage: tables.names.usage, apiKeys: tables.names.apiKeys });
    expect(await quotaStore.setKeyQuota(limited, { limit: 20, period: 'DAY' })).toBe('written');
    const meters = new DynamoUsageStore(tables.doc, tables.names.usage, UsageRetentionDefaults);
    const events: { detailType: string; detail: Readonly<Record<string, string | number>> }[] = [];
    const quotas = new QuotaEnforcer(
      quotaPorts(quotaStore, async (event) => {
        events.push(event);
      }),
      a.clock.now,
    );
    const routes = new RouteLabeler(DEFAULT_ROUTES);
    const keyRecord = async (keyId: string) =>
      (await tables.doc.send(new GetCommand({ TableName: tables.names.apiKeys, Key: { [ApiKeyAttr.keyId]: keyId } }))).Item!;
    /** The key record's change, as the apiKeys stream delivers it, through the fan-out's decision into the feed. */
    const fanOut = (oldImage: Record<string, unknown>, newImage: Record<string, unknown>) => {
      const record = {
        eventName: 'MODIFY',
        eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${tables.names.apiKeys}/stream/2026`,
        dynamodb: { OldImage: marshall(oldImage, { removeUndefinedValues: true }), NewImage: marshall(newImage, { removeUndefinedValues: true }) },
      } as unknown as DynamoDBRecord;
      const entry = revocationFromRecord(record, tables.names, { nowMs: a.clock.ms, clockSkewSeconds: SETTINGS.clockSkewSeconds });
      if (entry) a.feed.add(entry.kind, entry.value, a.clock.ms, entry.purgeAt);
      return entry;
    };

    const tokenOf = (keyId: string) => `Bearer ${signToken(signing, claims(Math.floor(a.clock.ms / 1000), { cid: keyId }))}`;
    const limitedToken = tokenOf(limited);
    const otherToken = tokenOf(other);
    // 4 a second: the meters pass 16 (80%) on the way, so the notice is seen before the suspension.
    const KEY_RATE = 4;
    let served = 0;
    let otherServed = 0;
    let refusal: Decision | undefined;
    for (let second = 0; second < 30 && refusal === undefined; second += 1) {
      const lines: string[] = [];
      for (let i = 0; i < KEY_RATE; i += 1) {
        a.clock.advance(1000 / KEY_RATE / 2);
        const decision = await a.authorizer.decide(authorizerEvent(limitedToken, 'GET', `/orders/${i}`));
        if (decision.outcome === 'allow') {
          served += 1;
          lines.push(line({ atMs: a.clock.ms, clientId: 'acme', keyId: limited }));
        } else {
          refusal ??= decision;
        }
        a.clock.advance(1000 / KEY_RATE / 2);
        expect((await a.authorizer.decide(authorizerEvent(otherToken, 'GET', `/orders/${i}`))).outcome).toBe('allow');
        otherServed += 1;
        lines.push(line({ atMs: a.clock.ms, clientId: 'acme', keyId: other }));
      }
      const batch = meterLines(lines, routes);
      const before = await keyRecord(limited);
      await meters.apply(`key-second-${second}`, batch);
      const outcomes = await quotas.check(['acme'], meteredKeys(batch.minutes));
      if (outcomes.some((o) => o.outcome === 'suspended')) expect(fanOut(before, await keyRecord(limited))).toMatchObject({ kind: 'ksus' });
    }

    expect(refusal).toMatchObject({ outcome: 'forbid', reason: 'quota_exceeded' });
    const context = (refusal as { response: { context: Record<string, string> } }).response.context;
    expect(context).toMatchObject({ refusal: 'quota_exceeded', keyId: limited });
    const dayEnd = Math.ceil(a.clock.ms / 1000 / SECONDS_PER_DAY) * SECONDS_PER_DAY;
    expect(Math.abs(Number(context.retryAfter) - (dayEnd - a.clock.ms / 1000))).toBeLessThanOrEqual(2);
    // The documented bound: metered once a second, read by the authorizer at its next poll.
    expect(served).toBeGreaterThanOrEqual(20);
    expect(served - 20).toBeLessThanOrEqual(KEY_RATE * (1 + SETTINGS.revocationPollMs / 1000));
    // The same client's other key was served throughout, and still is; the client itself is not suspended.
    expect(otherServed).toBeGreaterThan(served);
    expect((await a.authorizer.decide(authorizerEvent(otherToken))).outcome).toBe('allow');
    expect(await quotaStore.state('acme')).toEqual({});
    // UsageLimitApproaching at 80% named the key (95% = 19 falls between two batches: 16, then 20), then the exceeded event.
    expect(events.map((e) => [e.detailType, e.detail.keyId, e.detail.threshold])).toEqual([
      ['Tollgate Usage Limit Approaching', limited, 0.8],
      ['Tollgate Usage Quota Exceeded', limited, undefined],
    ]);

    // Served again after midnight (a new token: the old one has expired by then).
    a.clock.ms = dayEnd * 1000 + 5_000;
    expect((await a.authorizer.decide(authorizerEvent(tokenOf(limited)))).outcome).toBe('allow');
  }, 120_000);
});

describe('rolling a key suspended by its per-key quota', () => {
  it('gives a successor the authorizers refuse quota_exceeded until the period turns, through its own ksus feed entry', async () => {
    const issuance = await harness({ seedKey: false });
    const { tables } = issuance;
    const predecessor = (await issuance.createKey('acme')).key.keyId as string;
    const signing = generateTestKey('ES256', { kid: 'es' });
    // One clock for both harnesses: the suspension the meters write must still be in force when the admin API rolls.
    const a = await authorizerHarness([signing.record], { clock: new Clock(issuance.nowSeconds() * 1000) });
    const quotaStore = new DynamoUsageQuotaStore(tables.doc, { clients: tables.names.clients, usage: tables.names.usage, apiKeys: tables.names.apiKeys });
    expect(await quotaStore.setKeyQuota(predecessor, { limit: 20, period: 'DAY' })).toBe('written');
    const meters = new DynamoUsageStore(tables.doc, tables.names.usage, UsageRetentionDefaults);
    const quotas = new QuotaEnforcer(
      quotaPorts(quotaStore, async () => undefined),
      a.clock.now,
    );
    const keyRecord = async (keyId: string) =>
      (await tables.doc.send(new GetCommand({ TableName: tables.names.apiKeys, Key: { [ApiKeyAttr.keyId]: keyId } }))).Item!;
    /** The key record's change (or, without an old image, its insertion), as the apiKeys stream delivers it, into the feed. */
    const fanOut = (newImage: Record<string, unknown>, oldImage?: Record<string, unknown>) => {
      const options = { removeUndefinedValues: true };
      const record = {
        eventName: oldImage ? 'MODIFY' : 'INSERT',
        eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${tables.names.apiKeys}/stream/2026`,
        dynamodb: { NewImage: marshall(newImage, options), ...(oldImage && { OldImage: marshall(oldImage, options) }) },
      } as unknown as DynamoDBRecord;
      const entry = revocationFromRecord(record, tables.names, { nowMs: a.clock.ms, clockSkewSeconds: SETTINGS.clockSkewSeconds });
      if (entry) a.feed.add(entry.kind, entry.value, a.clock.ms, entry.purgeAt);
      return entry;
    };
    const tokenOf = (keyId: string) => `Bearer ${signToken(signing, claims(Math.floor(a.clock.ms / 1000), { cid: keyId }))}`;
    const advance = (seconds: number) => {
      a.clock.advance(seconds * 1000);
      issuance.advance(seconds);
    };

    // The predecessor uses its 20 and is suspended until the day ends, as the metering function does it.
    const lines = Array.from({ length: 20 }, () => line({ atMs: a.clock.ms, clientId: 'acme', keyId: predecessor }));
    const batch = meterLines(lines, new RouteLabeler(DEFAULT_ROUTES));
    const before = await keyRecord(predecessor);
    await meters.apply('exhaust', batch);
    expect(await quotas.check([], meteredKeys(batch.minutes))).toMatchObject([{ keyId: predecessor, outcome: 'suspended' }]);
    expect(fanOut(await keyRecord(predecessor), before)).toMatchObject({ kind: 'ksus' });
    const dayEnd = Math.ceil(a.clock.ms / 1000 / SECONDS_PER_DAY) * SECONDS_PER_DAY;

    advance(2);
    const rolled = await issuance.admin(adminCall('POST', '/admin/keys/{keyId}/roll', { keyId: predecessor }, {}));
    expect(rolled.statusCode, rolled.body).toBe(201);
    const successor = String((body(rolled).key as Record<string, unknown>).keyId);
    // The roll's Put of the successor is an INSERT with the suspension: the fan-out makes it the successor's own entry,
    // written at the suspension's own time (carried from the predecessor).
    const successorRecord = await keyRecord(successor);
    const suspendedAtMs = Number(successorRecord[ApiKeyAttr.suspendedAtMs]);
    expect(suspendedAtMs).toBe(Number((await keyRecord(predecessor))[ApiKeyAttr.suspendedAtMs]));
    expect(fanOut(successorRecord)).toEqual({
      kind: 'ksus',
      value: `${successor}#${dayEnd}#quota_exceeded#${suspendedAtMs}`,
      revokedAtMs: suspendedAtMs,
      purgeAt: dayEnd,
    });

    advance(2);
    for (const keyId of [predecessor, successor]) {
      const decision = await a.authorizer.decide(authorizerEvent(tokenOf(keyId)));
      expect(decision, keyId).toMatchObject({ outcome: 'forbid', reason: 'quota_exceeded' });
      const context = (decision as { response: { context: Record<string, string> } }).response.context;
      expect(context).toMatchObject({ refusal: 'quota_exceeded', keyId });
      expect(Math.abs(Number(context.retryAfter) - (dayEnd - a.clock.ms / 1000))).toBeLessThanOrEqual(2);
    }
    // The successor's meters start from zero under its own keyId: nothing to suspend it again within the period.
    expect(await quotas.check([], [{ clientId: 'acme', keyId: successor }])).toEqual([{ clientId: 'acme', keyId: successor, outcome: 'already_suspended' }]);

    // Served again when the day turns (a new token: the old one has expired by then).
    a.clock.ms = dayEnd * 1000 + 5_000;
    expect((await a.authorizer.decide(authorizerEvent(tokenOf(successor)))).outcome).toBe('allow');
  }, 60_000);
});
