/**
 * Anomaly detection over DynamoDB Local, with an injected clock: the meters of a client's
 * ordinary traffic, then a 20× spike from new networks; the monitor flags it within the
 * documented delay, suspends the client under policy `suspend`, and the admin API lists it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { UsageRetentionDefaults } from '../../../common/usage';
import { DynamoUsageAnomalyStore } from '../../../lambda/adapters/usage-anomaly-store';
import { DynamoUsageQuotaStore } from '../../../lambda/adapters/usage-quota-store';
import { DynamoUsageStore } from '../../../lambda/adapters/usage-store';
import { AnomalyMonitor, AnomalyEvent, type AnomalyFlag } from '../../../lambda/core/usage/usage-anomaly';
import { anomalyPorts } from '../../../lambda/core/usage/usage-anomaly-ports';
import type { AuditEvent } from '../../../lambda/core/shared/audit';
import { meterLines, RouteLabeler } from '../../../lambda/core/usage/usage-meter';
import { adminCall } from '../../support/api-events';
import { dynamoEndpoint } from '../../support/aws';
import { startFaultProxy } from '../../support/fault-proxy';
import { EndpointEnv } from '../../../common/names';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { line } from '../../unit/usage/lines';
import { body, harness, type Harness } from '../issuance/harness';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { revocationFromRecord } from '../../../lambda/core/revocation/revocation-events';
import { authorizerEvent, harness as authorizerHarness, NOW_S, SETTINGS } from '../../unit/authorizer/support/fixtures';
import { claims, generateTestKey, signToken } from '../../unit/authorizer/support/tokens';

const signingKey = generateTestKey('ES256', { kid: 'es' });

const KEY = 'key_00000000000000000001';

describe('AnomalyMonitor on DynamoDB Local', () => {
  let h: Harness;
  let meters: DynamoUsageStore;
  beforeAll(async () => {
    h = await harness({ seedKey: false });
    await h.createKey('victim');
    await h.createKey('steady');
    meters = new DynamoUsageStore(h.tables.doc, h.tables.names.usage, UsageRetentionDefaults);
  });

  /** 30 scope refusals of `clientId` in the minute from `start` (epoch s), metered: denied probing, which needs no warm-up. */
  const probing = (batchId: string, start: number, clientId: string, keyOf: (i: number) => string) =>
    meters.apply(
      batchId,
      meterLines(
        Array.from({ length: 30 }, (_, i) =>
          line({
            atMs: (start + i) * 1000,
            clientId,
            keyId: keyOf(i),
            method: 'DELETE',
            path: `/orders/${i}`,
            status: 403,
            errorType: 'ACCESS_DENIED',
            sourceIp: '100.64.1.1',
          }),
        ),
        new RouteLabeler(DEFAULT_ROUTES),
      ),
    );

  /** The monitor over this test's tables, its clock at `nowSeconds`. */
  const monitorAt = (nowSeconds: number, publish: (event: { detail: Readonly<Record<string, unknown>> }) => void = () => undefined) => {
    const names = { clients: h.tables.names.clients, usage: h.tables.names.usage, apiKeys: h.tables.names.apiKeys };
    return new AnomalyMonitor(
      anomalyPorts(
        new DynamoUsageAnomalyStore(h.tables.doc, names),
        new DynamoUsageQuotaStore(h.tables.doc, names),
        { record: () => undefined, warn: () => undefined },
        async (e) => publish(e),
      ),
      () => nowSeconds * 1000,
    );
  };

  it('flags a stolen key within two closed minutes, suspends under policy suspend, never flags the steady client, and lists the flags', async () => {
    const start = Math.floor(h.nowSeconds() / 60) * 60 - 100 * 60;
    const routes = new RouteLabeler(DEFAULT_ROUTES);
    const lines: string[] = [];
    for (let m = 0; m < 90; m += 1) {
      for (const clientId of ['victim', 'steady']) {
        for (let r = 0; r < 5; r += 1) lines.push(line({ atMs: (start + m * 60 + r) * 1000, clientId, keyId: KEY, sourceIp: '198.51.100.9' }));
      }
    }
    await meters.apply('ordinary', meterLines(lines, routes));
    expect((await h.admin(adminCall('PUT', '/admin/clients/{clientId}/anomaly-policy', { clientId: 'victim' }, { policy: 'suspend' }))).statusCode).toBe(200);

    const events: { detailType: string; detail: Record<string, unknown> }[] = [];
    const audits: AuditEvent[] = [];
    const anomalyStore = new DynamoUsageAnomalyStore(h.tables.doc, {
      clients: h.tables.names.clients,
      usage: h.tables.names.usage,
      apiKeys: h.tables.names.apiKeys,
    });
    const quotaStore = new DynamoUsageQuotaStore(h.tables.doc, {
      clients: h.tables.names.clients,
      usage: h.tables.names.usage,
      apiKeys: h.tables.names.apiKeys,
    });
    let nowMs = (start + 91 * 60) * 1000;
    const monitor = new AnomalyMonitor(
      anomalyPorts(
        anomalyStore,
        quotaStore,
        { record: (e) => void audits.push(e), warn: () => undefined },
        async (e) => void events.push({ detailType: e.detailType, detail: { ...e.detail } }),
      ),
      () => nowMs,
    );
    expect(await monitor.check(['victim', 'steady'])).toEqual([]);

    // Minutes 90 and 91: 20× the usual rate, from ten networks never seen.
    const spikeStart = start + 90 * 60;
    const thief = Array.from({ length: 2 * 100 }, (_, i) =>
      line({ atMs: (spikeStart + Math.floor(i / 100) * 60 + (i % 60)) * 1000, clientId: 'victim', keyId: KEY, sourceIp: `100.64.${i % 10}.7` }),
    );
    const steady = Array.from({ length: 10 }, (_, i) =>
      line({ atMs: (spikeStart + Math.floor(i / 5) * 60 + i) * 1000, clientId: 'steady', keyId: KEY, sourceIp: '198.51.100.9' }),
    );
    await meters.apply('spike', meterLines([...thief, ...steady], routes));

    // The first spiking minute closes (it ends, plus the 60 s metering allowance): new networks.
    nowMs = (spikeStart + 60 + 60) * 1000;
    const first = await monitor.check(['victim', 'steady']);
    // The key was in use from the client's office a minute before: the far networks are also a spread of that key.
    expect(first.map((f) => [f.clientId, f.rule, f.minute, f.keyId])).toEqual([
      ['victim', 'new_networks', spikeStart, undefined],
      ['victim', 'key_network_spread', spikeStart, KEY],
    ]);
    expect(first[0]).toMatchObject({ response: 'suspend', baseline: 1, observed: 10, suspendedUntil: Math.floor(nowMs / 1000) + 3600 });
    expect(first[1]).toMatchObject({ response: 'suspend', baseline: 1, observed: 2 });
    // The second closes: the rate rule (two minutes in a row above 10× the baseline).
    nowMs += 60_000;
    const second = await monitor.check(['victim', 'steady']);
    expect(second.map((f) => [f.clientId, f.rule, f.minute])).toEqual([['victim', 'rate_spike', spikeStart + 60]]);
    expect(second[0]!.observed).toBe(100);
    expect(second[0]!.baseline).toBeLessThan(10);

    const [victim] = (await h.items('clients')).filter((c) => c.clientId === 'victim');
    // Each flag suspends for an hour from its own time: the later end stands.
    expect(victim).toMatchObject({ suspendedReason: 'anomaly', suspendedUntil: Math.floor(nowMs / 1000) + 3600 });
    expect(events.map((e) => [e.detailType, e.detail.rule, e.detail.keyId])).toEqual([
      [AnomalyEvent.detailType, 'new_networks', undefined],
      [AnomalyEvent.detailType, 'key_network_spread', KEY],
      [AnomalyEvent.detailType, 'rate_spike', undefined],
    ]);
    expect(audits.map((a) => a.action)).toEqual(['usage.anomaly', 'usage.anomaly', 'usage.anomaly']);
    // Checked again: nothing is folded twice, nothing flagged twice.
    expect(await monitor.check(['victim'])).toEqual([]);

    const listed = await h.admin(adminCall('GET', '/admin/anomalies', undefined, undefined, { days: '2' }));
    expect(listed.statusCode).toBe(200);
    expect((body(listed).anomalies as AnomalyFlag[]).map((f) => f.rule).sort()).toEqual(['key_network_spread', 'new_networks', 'rate_spike']);
    const steadyOnly = await h.admin(adminCall('GET', '/admin/anomalies', undefined, undefined, { clientId: 'steady' }));
    expect(body(steadyOnly).anomalies).toEqual([]);
  });

  it('under policy revoke, revokes the keys used in the flagged minute through the revocation path, and only those: the authorizer then refuses the tokens of that key and serves the others', async () => {
    const stolen = await h.createKey('owner');
    const spare = await h.createKey('owner');
    expect((await h.admin(adminCall('PUT', '/admin/clients/{clientId}/anomaly-policy', { clientId: 'owner' }, { policy: 'revoke' }))).statusCode).toBe(200);
    const stolenKey = String(stolen.key.keyId);
    const start = Math.floor(h.nowSeconds() / 60) * 60 - 10 * 60;
    // Denied probing needs no warm-up: 30 scope refusals in one minute with the stolen key.
    await probing('probe', start, 'owner', () => stolenKey);
    const events: Record<string, unknown>[] = [];
    const monitor = monitorAt(start + 5 * 60, (e) => void events.push({ ...e.detail }));
    const flags = await monitor.check(['owner']);
    expect(flags).toMatchObject([{ rule: 'denied_probing', observed: 30, response: 'revoke', revokedKeys: [stolenKey] }]);
    expect(events).toMatchObject([{ rule: 'denied_probing', response: 'revoke', revokedKeys: stolenKey }]);
    const keys = await h.items('apiKeys');
    expect(keys.find((k) => k.keyId === stolenKey)).toMatchObject({ status: 'revoked' });
    expect(keys.find((k) => k.keyId === stolenKey)).not.toHaveProperty('activePartition');
    expect(keys.find((k) => k.keyId === spare.key.keyId)).toMatchObject({ status: 'active' });

    // The revoked key's stream record, through the fan-out's own decision, reaches an authorizer's feed:
    // a token the key minted is refused at the next poll, one of the spare key still served.
    const a = await authorizerHarness([signingKey.record]);
    const stolenToken = `Bearer ${signToken(signingKey, claims(NOW_S, { sub: 'owner', client_id: 'owner', cid: stolenKey }))}`;
    const spareToken = `Bearer ${signToken(signingKey, claims(NOW_S, { sub: 'owner', client_id: 'owner', cid: String(spare.key.keyId) }))}`;
    expect((await a.authorizer.decide(authorizerEvent(stolenToken))).outcome).toBe('allow');
    const revokedItem = keys.find((k) => k.keyId === stolenKey)!;
    const record = {
      eventName: 'MODIFY',
      eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${h.tables.names.apiKeys}/stream/2026`,
      dynamodb: { OldImage: marshall({ ...revokedItem, status: 'active' }), NewImage: marshall(revokedItem, { convertClassInstanceToMap: true }) },
    } as unknown as DynamoDBRecord;
    const entry = revocationFromRecord(record, h.tables.names, { nowMs: a.clock.ms, clockSkewSeconds: 30 })!;
    expect(entry).toMatchObject({ kind: 'cid', value: stolenKey });
    a.feed.add(entry.kind, entry.value, a.clock.ms + 10, entry.purgeAt);
    a.clock.advance(SETTINGS.revocationPollMs + 1);
    await a.authorizer.decide(authorizerEvent(stolenToken));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await a.authorizer.decide(authorizerEvent(stolenToken))).toMatchObject({ outcome: 'reject', reason: 'revoked' });
    expect((await a.authorizer.decide(authorizerEvent(spareToken))).outcome).toBe('allow');
  });

  it("under policy revoke, never revokes another client's key, even when the flagged minute's meters name it", async () => {
    const own = String((await h.createKey('prober')).key.keyId);
    const bystander = String((await h.createKey('bystander')).key.keyId);
    expect((await h.admin(adminCall('PUT', '/admin/clients/{clientId}/anomaly-policy', { clientId: 'prober' }, { policy: 'revoke' }))).statusCode).toBe(200);
    const start = Math.floor(h.nowSeconds() / 60) * 60 - 10 * 60;
    // Lines that name the bystander's key under the prober's client: what a forged access-log line would meter.
    await probing('cross-client', start, 'prober', (i) => (i % 2 ? own : bystander));
    const monitor = monitorAt(start + 5 * 60);
    expect(await monitor.check(['prober'])).toMatchObject([{ rule: 'denied_probing', response: 'revoke', revokedKeys: [own] }]);
    const keys = await h.items('apiKeys');
    expect(keys.find((k) => k.keyId === own)).toMatchObject({ status: 'revoked' });
    expect(keys.find((k) => k.keyId === bystander)).toMatchObject({ status: 'active' });
  });

  it("revokes a key whose write's answer was lost, and reports it revoked: the retried write is known as its own", async () => {
    const own = String((await h.createKey('unlucky')).key.keyId);
    const dynamo = await startFaultProxy(dynamoEndpoint());
    try {
      const store = new DynamoUsageAnomalyStore(documentClient({ ...h.tables.env, [EndpointEnv.dynamodb]: dynamo.endpoint }), {
        clients: h.tables.names.clients,
        usage: h.tables.names.usage,
        apiKeys: h.tables.names.apiKeys,
      });
      dynamo.lose({ only: ['UpdateItem'], times: 1 });
      const before = dynamo.seen.get('UpdateItem') ?? 0;
      expect(await store.revokeKeys([own], h.nowSeconds())).toEqual([own]);
      // The committed write, and the SDK's retry of it, whose condition failed.
      expect((dynamo.seen.get('UpdateItem') ?? 0) - before).toBeGreaterThanOrEqual(2);
      expect((await h.items('apiKeys')).find((k) => k.keyId === own)).toMatchObject({ status: 'revoked', revocationId: expect.any(String) });
      // A later flag finds it revoked by someone else's write: not reported again.
      expect(await store.revokeKeys([own], h.nowSeconds())).toEqual([]);
    } finally {
      await dynamo.close();
    }
  });

  it.each([
    ['GET', '/admin/anomalies', undefined, { days: '0' }],
    ['GET', '/admin/anomalies', undefined, { days: '31' }],
    ['GET', '/admin/anomalies', undefined, { since: '1' }],
    ['GET', '/admin/anomalies', undefined, { clientId: 'a|b' }],
    ['PUT', '/admin/clients/{clientId}/anomaly-policy', { policy: 'revoke-everything' }, undefined],
    ['PUT', '/admin/clients/{clientId}/anomaly-policy', {}, undefined],
  ])('refuses %s %s %j %j with 400 invalid_request', async (method, resource, input, query) => {
    const response = await h.admin(
      adminCall(method, resource, resource.includes('{clientId}') ? { clientId: 'victim' } : undefined, input, query as Record<string, string> | undefined),
    );
    expect(response.statusCode, response.body).toBe(400);
    expect(body(response).error).toBe('invalid_request');
  });

  it('answers 404 for the policy of a client that never had a key', async () => {
    const response = await h.admin(adminCall('PUT', '/admin/clients/{clientId}/anomaly-policy', { clientId: 'ghost' }, { policy: 'notify' }));
    expect(response.statusCode).toBe(404);
  });

  it('flags the same key from a far network within minutes (key_network_spread), and under policy revoke revokes that key only, not the others used in the minute', async () => {
    const roaming = String((await h.createKey('roamer')).key.keyId);
    const steadyKey = String((await h.createKey('roamer')).key.keyId);
    expect((await h.admin(adminCall('PUT', '/admin/clients/{clientId}/anomaly-policy', { clientId: 'roamer' }, { policy: 'revoke' }))).statusCode).toBe(200);
    const start = Math.floor(h.nowSeconds() / 60) * 60 - 100 * 60;
    const routes = new RouteLabeler(DEFAULT_ROUTES);
    // 90 minutes from the office's NAT pool (two /24s of one /16), both keys.
    const ordinary = Array.from({ length: 90 * 4 }, (_, i) =>
      line({
        atMs: (start + Math.floor(i / 4) * 60 + (i % 4)) * 1000,
        clientId: 'roamer',
        keyId: i % 2 ? roaming : steadyKey,
        sourceIp: `198.51.${100 + (i % 3 === 0 ? 1 : 0)}.9`,
      }),
    );
    await meters.apply('roamer-ordinary', meterLines(ordinary, routes));
    // Minute 90: the roaming key from the office and, within the same minute, from a far network; the other key from the office only.
    const minute90 = start + 90 * 60;
    const spread = [
      line({ atMs: minute90 * 1000, clientId: 'roamer', keyId: roaming, sourceIp: '198.51.100.9' }),
      line({ atMs: (minute90 + 20) * 1000, clientId: 'roamer', keyId: roaming, sourceIp: '100.64.77.1' }),
      line({ atMs: (minute90 + 30) * 1000, clientId: 'roamer', keyId: steadyKey, sourceIp: '198.51.100.9' }),
    ];
    await meters.apply('roamer-spread', meterLines(spread, routes));

    const store = new DynamoUsageAnomalyStore(h.tables.doc, { clients: h.tables.names.clients, usage: h.tables.names.usage, apiKeys: h.tables.names.apiKeys });
    const rows = await store.minutes('roamer', minute90, minute90);
    expect(new Set(rows[0]!.keyNetworks)).toEqual(new Set([`${roaming} 198.51.0.0/16`, `${roaming} 100.64.0.0/16`, `${steadyKey} 198.51.0.0/16`]));

    const quotaStore = new DynamoUsageQuotaStore(h.tables.doc, {
      clients: h.tables.names.clients,
      usage: h.tables.names.usage,
      apiKeys: h.tables.names.apiKeys,
    });
    const events: Record<string, unknown>[] = [];
    const audits: AuditEvent[] = [];
    let nowMs = (minute90 - 60) * 1000;
    const monitor = new AnomalyMonitor(
      anomalyPorts(store, quotaStore, { record: (e) => void audits.push(e), warn: () => undefined }, async (e) => void events.push({ ...e.detail })),
      () => nowMs,
    );
    expect(await monitor.check(['roamer'])).toEqual([]);
    nowMs = (minute90 + 120) * 1000;
    const flags = await monitor.check(['roamer']);
    expect(flags).toMatchObject([
      { rule: 'key_network_spread', minute: minute90, keyId: roaming, baseline: 1, observed: 2, response: 'revoke', revokedKeys: [roaming] },
    ]);
    expect(events).toMatchObject([{ rule: 'key_network_spread', keyId: roaming, revokedKeys: roaming }]);
    expect(audits).toMatchObject([{ action: 'usage.anomaly', clientId: 'roamer', keyId: roaming }]);
    const keys = await h.items('apiKeys');
    expect(keys.find((k) => k.keyId === roaming)).toMatchObject({ status: 'revoked' });
    expect(keys.find((k) => k.keyId === steadyKey)).toMatchObject({ status: 'active' });
    const listed = await h.admin(adminCall('GET', '/admin/anomalies', undefined, undefined, { clientId: 'roamer' }));
    expect(body(listed).anomalies).toMatchObject([{ rule: 'key_network_spread', keyId: roaming }]);
  });
});
