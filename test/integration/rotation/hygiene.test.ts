/**
 * Credential hygiene on DynamoDB Local: API keys seeded in the layout of `common/credential-items.ts`,
 * a scheduled run with an injected clock, and EventBridge PutEvents served by a local stub
 * (`TOLLGATE_EVENTS_ENDPOINT`) that records what would have been published.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createHash, randomBytes } from 'node:crypto';
import { EndpointEnv, Env, HygieneEvent } from '../../../common/names';
import { ACTIVE_PARTITION, ApiKeyAttr, CredentialStatus } from '../../../common/credential-items';
import { DynamoApiKeyHygiene } from '../../../lambda/adapters/api-key-hygiene';
import { freshTables, type TestTables } from '../../support/aws';
import { startHttpStub, type HttpStub, type RecordedRequest } from '../../support/http-stub';
import { rotationApp, TestClock } from './support';
import { SCHEDULED_EVENT } from '../../unit/rotation/fixtures';

const DAY = 86_400;
interface SeededKey {
  readonly keyId: string;
  readonly apiKey: string;
  readonly keyHash: string;
}

/** Writes an API key item as the issuance code stores it (status, sparse index partition, times). */
async function seedApiKey(
  tables: TestTables,
  fields: { clientId: string; createdAt: number; expiresAt?: number; lastUsedAt: number; active?: boolean },
): Promise<SeededKey> {
  const apiKey = `tg_${randomBytes(32).toString('base64url').replace(/[-_]/g, 'x').slice(0, 49)}`;
  const keyHash = createHash('sha256').update(apiKey).digest('hex');
  const keyId = `key_${keyHash.slice(0, 20)}`;
  const active = fields.active ?? true;
  await tables.doc.send(
    new PutCommand({
      TableName: tables.names.apiKeys,
      Item: {
        [ApiKeyAttr.keyId]: keyId,
        [ApiKeyAttr.keyHash]: keyHash,
        [ApiKeyAttr.clientId]: fields.clientId,
        [ApiKeyAttr.scopes]: ['orders:read'],
        [ApiKeyAttr.status]: active ? CredentialStatus.Active : CredentialStatus.Revoked,
        [ApiKeyAttr.description]: `ci key ${apiKey.slice(0, 12)}`,
        [ApiKeyAttr.metadata]: { owner: 'team-orders' },
        [ApiKeyAttr.createdAt]: fields.createdAt,
        [ApiKeyAttr.lastUsedAt]: fields.lastUsedAt,
        ...(fields.expiresAt !== undefined && { [ApiKeyAttr.expiresAt]: fields.expiresAt }),
        ...(active && { [ApiKeyAttr.activePartition]: ACTIVE_PARTITION }),
      },
    }),
  );
  return { keyId, apiKey, keyHash };
}

type Refusal = (entry: Record<string, unknown>, call: number) => string | undefined;

/** EventBridge PutEvents (JSON 1.1 protocol) on loopback; `refuse` names an ErrorCode for entries to fail. */
async function eventBridgeStub(refuse: Refusal = () => undefined): Promise<HttpStub> {
  let calls = 0;
  return startHttpStub((request) => {
    if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') return { status: 400, body: { __type: 'UnknownOperationException' } };
    calls += 1;
    const entries = (JSON.parse(request.body) as { Entries: Record<string, unknown>[] }).Entries;
    const results = entries.map((entry) => {
      const code = refuse(entry, calls);
      return code ? { ErrorCode: code, ErrorMessage: 'refused by the stub' } : { EventId: randomBytes(8).toString('hex') };
    });
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return {
      status: 200,
      headers: { 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ FailedEntryCount: failed, Entries: results }),
    };
  });
}

function sentEntries(requests: readonly RecordedRequest[]): Record<string, unknown>[] {
  return requests.flatMap((request) => (JSON.parse(request.body) as { Entries: Record<string, unknown>[] }).Entries);
}

const stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

async function scenario(refuse?: Refusal, env: Record<string, string> = {}) {
  const tables = await freshTables();
  const stub = await eventBridgeStub(refuse);
  stubs.push(stub);
  const clock = new TestClock();
  // One hour into the next UTC day, so the "later the same day" runs below stay in it. Not in
  // the past: DynamoDB Local's TTL would delete keys whose expiresAt has really passed.
  clock.set(Math.floor(clock.seconds() / DAY) * DAY + DAY + 3600);
  const now = clock.seconds();
  const app = rotationApp(tables, clock, { env: { [EndpointEnv.events]: stub.url, ...env } });
  return { tables, stub, clock, now, app };
}

describe('credential hygiene (DynamoDB Local + EventBridge stub)', () => {
  it('a scheduled run reports expiring and stale keys and publishes them without any secret', async () => {
    const { tables, stub, now, app } = await scenario(undefined, { [Env.eventBusName]: 'ops-events' });
    const expiring = await seedApiKey(tables, { clientId: 'orders-app', createdAt: now - 80 * DAY, expiresAt: now + 3 * DAY, lastUsedAt: now - DAY });
    const stale = await seedApiKey(tables, { clientId: 'billing', createdAt: now - 200 * DAY, lastUsedAt: now - 120 * DAY });
    const fine = await seedApiKey(tables, { clientId: 'orders-app', createdAt: now - 10 * DAY, expiresAt: now + 60 * DAY, lastUsedAt: now - 3600 });
    const revoked = await seedApiKey(tables, {
      clientId: 'billing',
      createdAt: now - 300 * DAY,
      expiresAt: now + DAY,
      lastUsedAt: now - 200 * DAY,
      active: false,
    });

    const report = await app.handle(SCHEDULED_EVENT);

    expect(report.scheduled).toBe(true);
    expect(report.hygiene).toMatchObject({
      expiring: [{ keyId: expiring.keyId, clientId: 'orders-app', expiresAt: new Date((now + 3 * DAY) * 1000).toISOString() }],
      stale: [{ keyId: stale.keyId, clientId: 'billing', lastUsedAt: new Date((now - 120 * DAY) * 1000).toISOString() }],
      truncated: false,
      events: 2,
    });
    const entries = sentEntries(stub.requests);
    expect(entries).toEqual([
      {
        Source: HygieneEvent.source,
        DetailType: HygieneEvent.keyExpiring,
        Detail: JSON.stringify({ keyId: expiring.keyId, clientId: 'orders-app', expiresAt: now + 3 * DAY, expiresInDays: 3 }),
        EventBusName: 'ops-events',
        Time: now,
      },
      {
        Source: HygieneEvent.source,
        DetailType: HygieneEvent.keyStale,
        Detail: JSON.stringify({ keyId: stale.keyId, clientId: 'billing', lastUsedAt: now - 120 * DAY, unusedDays: 120 }),
        EventBusName: 'ops-events',
        Time: now,
      },
    ]);
    const wire = stub.requests.map((request) => request.body).join('\n') + JSON.stringify(report);
    for (const key of [expiring, stale, fine, revoked]) {
      expect(wire).not.toContain(key.apiKey);
      expect(wire).not.toContain(key.keyHash);
      expect(wire).not.toContain(key.apiKey.slice(0, 12));
    }
    expect(wire).not.toContain(fine.keyId);
    expect(wire).not.toContain(revoked.keyId);
  });

  it('publishes once per UTC day, in PutEvents batches of at most 10', async () => {
    const { tables, stub, clock, now, app } = await scenario();
    for (let i = 0; i < 23; i += 1) {
      await seedApiKey(tables, { clientId: `client-${i}`, createdAt: now - DAY, expiresAt: now + (i % 14) * DAY + 7200, lastUsedAt: now });
    }
    const report = await app.handle(SCHEDULED_EVENT);
    expect(report.hygiene?.events).toBe(23);
    expect(stub.requests.map((request) => (JSON.parse(request.body) as { Entries: unknown[] }).Entries.length)).toEqual([10, 10, 3]);

    clock.advance(3600);
    expect((await app.handle(SCHEDULED_EVENT)).hygiene?.events).toBe('published earlier today');
    expect(stub.requests).toHaveLength(3);
    const status = await app.handle({ action: 'status' });
    expect(status.hygiene).toMatchObject({ events: 'only on step' });
    expect(status.hygiene?.expiring).toHaveLength(23);
  });

  it('resends entries PutEvents refused (FailedEntryCount) once', async () => {
    const { tables, stub, now, app } = await scenario((entry, call) =>
      call === 1 && entry.DetailType === HygieneEvent.keyStale ? 'ThrottlingException' : undefined,
    );
    await seedApiKey(tables, { clientId: 'a', createdAt: now - 300 * DAY, expiresAt: now + DAY, lastUsedAt: now - 100 * DAY });

    const report = await app.handle(SCHEDULED_EVENT);
    expect(report.hygiene?.events).toBe(2);
    expect(report.problems).toEqual([]);
    expect(sentEntries(stub.requests).map((entry) => entry.DetailType)).toEqual([HygieneEvent.keyExpiring, HygieneEvent.keyStale, HygieneEvent.keyStale]);
  });

  it('reports entries refused twice as a problem and publishes them on the next run', async () => {
    let outage = true;
    const { tables, stub, clock, now, app } = await scenario(() => (outage ? 'InternalFailure' : undefined));
    await seedApiKey(tables, { clientId: 'a', createdAt: now - DAY, expiresAt: now + DAY, lastUsedAt: now });

    const failed = await app.handle(SCHEDULED_EVENT);
    expect(failed.hygiene?.events).toBe('failed');
    expect(failed.problems).toEqual([
      'publishing 1 hygiene event(s) failed (EventPublishFailed: EventBridge refused 1 event(s): InternalFailure); the next run retries',
    ]);
    expect(failed.ring.activeKid).not.toBeNull();

    outage = false;
    clock.advance(3600);
    expect((await app.handle(SCHEDULED_EVENT)).hygiene?.events).toBe(1);
    expect(stub.requests).toHaveLength(3);
  });

  it('reads the sparse indexes in bounded pages and says when it stopped early', async () => {
    const tables = await freshTables();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 12; i += 1)
      await seedApiKey(tables, { clientId: `c${i}`, createdAt: now - DAY, expiresAt: now + DAY + i, lastUsedAt: now - 100 * DAY });
    const bounded = new DynamoApiKeyHygiene(tables.doc, tables.names.apiKeys, { maxPages: 2, pageSize: 5 });
    const expiring = await bounded.expiringBetween(now, now + 2 * DAY);
    expect(expiring.items).toHaveLength(10);
    expect(expiring.truncated).toBe(true);
    expect(expiring.items.map((key) => key.expiresAt)).toEqual([...expiring.items.map((key) => key.expiresAt)].sort((a, b) => a - b));
    const all = await new DynamoApiKeyHygiene(tables.doc, tables.names.apiKeys).unusedSince(now - 90 * DAY);
    expect(all).toMatchObject({ truncated: false });
    expect(all.items).toHaveLength(12);
    expect(Object.keys(all.items[0]!).sort()).toEqual(['clientId', 'keyId', 'lastUsedAt']);
  });
});
