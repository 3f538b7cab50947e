/**
 * The fan-out under faults, on DynamoDB Local's real streams through the local poller:
 * a writer that fails mid-batch, a crash and restart from the checkpoint file, a poison
 * record, and TTL deletions and other changes that must not become revocations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DynamoDBDocumentClient, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { CredentialStatus, TOKEN_RECORD_GRACE_SECONDS } from '../../../common/credential-items';
import { FEED_MARKER_PREFIX, FeedAttr, type RevocationEntry } from '../../../common/revocation-feed';
import { RING_PARTITION } from '../../../common/signing-key-items';
import { DynamoRevocationFeedWriter, type AppendResult, type RevocationFeedWriter } from '../../../lambda/adapters/revocation-feed-writer';
import { DynamoTokenStore } from '../../../lambda/adapters/token-store';
import { createFanout, type FanoutHandler } from '../../../lambda/fanout/fan-out';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from '../../../local/stream-poller';
import { createTables, localDynamoClient, startDynamoDbLocal, tableEnvironment, tableNames } from '../../../local/dynamodb';
import { dynamoEndpoint, freshTables, type TestTables } from '../../support/aws';
import { RecordingFanoutTelemetry } from '../../support/fanout-telemetry';
import { tempDirs } from '../../support/temp-dirs';
import { startFaultProxy } from '../../support/fault-proxy';
import { EndpointEnv } from '../../../common/names';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const pollers: StreamPoller[] = [];
const stops: (() => Promise<void>)[] = [];
const tempDir = tempDirs('tollgate-faults-');

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  for (const stop of stops.splice(0).reverse()) await stop();
});

function fanoutOn(tables: TestTables, writer: RevocationFeedWriter, telemetry = new RecordingFanoutTelemetry()): FanoutHandler {
  const streamTables = { apiKeys: tables.names.apiKeys, clients: tables.names.clients, tokens: tables.names.tokens, signingKeys: tables.names.signingKeys };
  return createFanout({
    streamTables,
    writer,
    flusher: { flush: async () => undefined },
    flushStages: [],
    flushDelayMs: 0,
    telemetry,
    clockSkewSeconds: 30,
    now: Date.now,
  });
}

async function poll(tables: TestTables, handler: StreamPollerOptions['handler'], options: Partial<StreamPollerOptions> = {}): Promise<StreamPoller> {
  const poller = await startStreamPoller({ endpoint: dynamoEndpoint(), tableNames: tables.names, handler, intervalMs: 50, log: () => undefined, ...options });
  pollers.push(poller);
  return poller;
}

async function activeTokens(tables: TestTables, jtis: readonly string[]): Promise<void> {
  const t = nowSeconds();
  for (const jti of jtis) {
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.tokens,
        Item: {
          jti,
          clientId: 'acme',
          keyId: 'key_0000000000000000acme',
          kid: 'k1',
          iat: t,
          exp: t + 900,
          status: CredentialStatus.Active,
          purgeAt: t + 900 + TOKEN_RECORD_GRACE_SECONDS,
        },
      }),
    );
  }
}

async function revokeTokens(tables: TestTables, jtis: readonly string[]): Promise<void> {
  const store = new DynamoTokenStore(tables.doc, tables.names.tokens);
  for (const jti of jtis) expect(await store.revoke(jti, nowSeconds())).toBe('revoked');
}

/** Every feed item, markers apart. */
async function feed(tables: TestTables): Promise<{ entries: RevocationEntry[]; markers: number }> {
  const { Items = [] } = await tables.doc.send(new ScanCommand({ TableName: tables.names.revocations, ConsistentRead: true }));
  const isMarker = (item: Record<string, unknown>) => String(item[FeedAttr.bucket]).startsWith(FEED_MARKER_PREFIX);
  return { entries: Items.filter((item) => !isMarker(item)) as RevocationEntry[], markers: Items.filter(isMarker).length };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A feed writer that fails the appends `fail` says, while armed. */
class FaultyWriter implements RevocationFeedWriter {
  appends = 0;
  armed = true;
  constructor(
    private readonly inner: RevocationFeedWriter,
    private readonly fail: (appendNumber: number) => boolean,
  ) {}

  async append(entry: RevocationEntry): Promise<AppendResult> {
    this.appends += 1;
    if (this.armed && this.fail(this.appends)) throw Object.assign(new Error('injected feed write failure'), { name: 'InternalServerError' });
    return this.inner.append(entry);
  }
}

const JTIS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
const countByValue = (entries: readonly RevocationEntry[]) => Object.fromEntries(JTIS.map((jti) => [jti, entries.filter((e) => e.value === jti).length]));
const exactlyOnce = Object.fromEntries(JTIS.map((jti) => [jti, 1]));

describe('fan-out faults on DynamoDB Local streams', () => {
  it('a feed write failing in the middle of a batch: the batch is re-delivered from the failure and every revocation lands exactly once', async () => {
    const tables = await freshTables();
    await activeTokens(tables, JTIS);
    await revokeTokens(tables, JTIS);

    // The 4th append of the batch fails once; the records after it succeed and are re-delivered anyway.
    const writer = new FaultyWriter(new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations), (n) => n === 4);
    const telemetry = new RecordingFanoutTelemetry();
    const fanout = fanoutOn(tables, writer, telemetry);
    const responses: DynamoDBBatchResponse[] = [];
    await poll(tables, async (event) => {
      const response = await fanout(event);
      responses.push(response);
      if (response.batchItemFailures.length) writer.armed = false;
      return response;
    });

    await until(async () => (await feed(tables)).entries.length === JTIS.length && telemetry.of('appended').length >= JTIS.length + 2, 'all six revocations');
    const { entries, markers } = await feed(tables);
    expect(countByValue(entries)).toEqual(exactlyOnce);
    expect(markers).toBe(JTIS.length);
    expect(responses.some((r) => r.batchItemFailures.length === 1)).toBe(true);
    const outcomes = telemetry.of('appended').map((e) => `${e.entry.value}:${e.outcome}`);
    expect(outcomes.filter((o) => o.endsWith(':written')).sort()).toEqual(JTIS.map((jti) => `${jti}:written`));
    // The re-delivered records after the failed one were already in the feed: skipped, not written twice.
    expect(outcomes).toEqual(expect.arrayContaining(['f5:duplicate', 'f6:duplicate']));
  });

  it('DynamoDB hanging in the middle of a batch (fault proxy, bounded clients): the failure is reported, and after recovery every revocation lands exactly once', async () => {
    const tables = await freshTables();
    await activeTokens(tables, JTIS);
    await revokeTokens(tables, JTIS);
    const proxy = await startFaultProxy(dynamoEndpoint());
    stops.push(() => proxy.close());
    // The feed writer as the fan-out function builds it: bounded client, through the proxy.
    const writer = new DynamoRevocationFeedWriter(documentClient({ [EndpointEnv.dynamodb]: proxy.endpoint }), tables.names.revocations);
    const telemetry = new RecordingFanoutTelemetry();
    const fanout = fanoutOn(tables, writer, telemetry);
    // Three writes go through, then every write hangs: the poller's batch is stuck mid-way.
    proxy.hang({ only: ['PutItem', 'TransactWriteItems', 'DeleteItem'], after: { remaining: 3 } });
    const responses: DynamoDBBatchResponse[] = [];
    await poll(tables, async (event) => {
      const response = await fanout(event);
      responses.push(response);
      if (response.batchItemFailures.length) await proxy.pass();
      return response;
    });

    await until(() => responses.some((r) => r.batchItemFailures.length > 0), 'a batch item failure for the hung write', 60_000);
    // The fan-out appends a batch's records concurrently, so one entry landing says nothing of the
    // others still in flight: wait until every revocation's append has returned, then count.
    await until(() => new Set(telemetry.of('appended').map((e) => e.entry.value)).size === JTIS.length, 'every revocation after recovery', 60_000);
    const { entries } = await feed(tables);
    expect(countByValue(entries)).toEqual(exactlyOnce);
  }, 120_000);

  it('a crash in the middle of a batch and a restart from the checkpoint file: every revocation exactly once', async () => {
    const tables = await freshTables();
    const checkpointPath = join(tempDir('crash-'), 'checkpoints.json');
    await activeTokens(tables, JTIS);
    await revokeTokens(tables, JTIS);

    // First life: three feed writes go through, then the execution environment dies (the invocation throws,
    // no batch response reaches the poller), and the process is stopped.
    const dying = new FaultyWriter(new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations), (n) => n > 3);
    const firstFanout = fanoutOn(tables, dying);
    let crashes = 0;
    const first = await poll(
      tables,
      async (event: DynamoDBStreamEvent) => {
        await firstFanout(event);
        if (dying.appends > 3) {
          crashes += 1;
          throw new Error('execution environment died');
        }
        return { batchItemFailures: [] };
      },
      { checkpointPath, maxRetryAttempts: 1_000 },
    );
    await until(() => crashes >= 1, 'the crash');
    await first.stop();
    expect((await feed(tables)).entries).toHaveLength(3);

    // Second life: the same checkpoint file, a healthy fan-out.
    const telemetry = new RecordingFanoutTelemetry();
    const healthy = fanoutOn(tables, new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations), telemetry);
    await poll(tables, healthy, { checkpointPath });
    await until(() => telemetry.of('appended').length === JTIS.length, 'the re-delivered batch');

    const { entries } = await feed(tables);
    expect(countByValue(entries)).toEqual(exactlyOnce);
    const outcomes = telemetry.of('appended').map((e) => e.outcome);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(3);
  });

  it('a poison record is acknowledged as discarded at once, and the rest of the batch is applied', async () => {
    const tables = await freshTables();
    const t = nowSeconds();
    await activeTokens(tables, ['g1', 'g2', 'g3']);
    // All in one table (one shard), written before the poller starts, so they arrive in one batch.
    await revokeTokens(tables, ['g1', 'g2']);
    await tables.doc.send(
      new PutCommand({ TableName: tables.names.tokens, Item: { jti: 'poison', status: CredentialStatus.Revoked, revokedAt: 'yesterday', exp: t + 60 } }),
    );
    await revokeTokens(tables, ['g3']);

    const telemetry = new RecordingFanoutTelemetry();
    const fanout = fanoutOn(tables, new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations), telemetry);
    const responses: DynamoDBBatchResponse[] = [];
    await poll(tables, async (event) => {
      const response = await fanout(event);
      responses.push(response);
      return response;
    });
    await until(() => telemetry.of('appended').length === 3, 'the batch to be applied');

    // Retrying it could never help and would hold back every record behind it.
    expect(responses[0]!.batchItemFailures).toEqual([]);
    expect(telemetry.of('recordDiscarded')).toEqual([expect.objectContaining({ error: 'MalformedStreamRecord' })]);
    expect(telemetry.of('recordFailed')).toEqual([]);
    const { entries } = await feed(tables);
    expect(entries.map((e) => e.value).sort()).toEqual(['g1', 'g2', 'g3']);
  });

  it('a revocation the feed refuses for longer than any bounded retry would allow reaches it once the feed takes writes again', async () => {
    const tables = await freshTables();
    await activeTokens(tables, ['late']);
    await revokeTokens(tables, ['late']);
    const real = new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations);
    // More refusals than the local poller once allowed (5) before it discarded the record.
    let refusals = 7;
    const outage: RevocationFeedWriter = {
      append: async (entry) => {
        if (refusals-- > 0)
          throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException' });
        return real.append(entry);
      },
    };
    const telemetry = new RecordingFanoutTelemetry();
    const logLines: string[] = [];
    await poll(tables, fanoutOn(tables, outage, telemetry), { intervalMs: 20, log: (line) => logLines.push(line) });
    await until(() => telemetry.of('appended').length === 1, 'the revocation to reach the feed after the outage', 30_000);

    expect(telemetry.of('recordFailed')).toHaveLength(7);
    expect(telemetry.of('recordDiscarded')).toEqual([]);
    expect(logLines.filter((line) => line.includes('stream_record_discarded'))).toEqual([]);
    expect((await feed(tables)).entries.map((e) => e.value)).toEqual(['late']);
  });

  it("DynamoDB Local's real TTL deletions and changes that are not revocations write nothing to the feed", { timeout: 180_000 }, async () => {
    // DynamoDB Local's TTL sweeper falls far behind once an instance holds a few dozen tables (the
    // shared test instance does), so this test gets an instance of its own with one set of tables.
    const ddb = await startDynamoDbLocal({ startTimeoutMs: 120_000 });
    stops.push(() => ddb.stop());
    const client = localDynamoClient(ddb.endpoint);
    stops.push(async () => client.destroy());
    const names = tableNames('ttl-');
    await createTables(client, names);
    const tables: TestTables = { names, env: tableEnvironment(names), client, doc: DynamoDBDocumentClient.from(client) };
    const t = nowSeconds();
    // Past TTL: DynamoDB Local deletes these within seconds and streams the deletions. (It never
    // TTL-deletes from the API-key table, whose TTL attribute is also a GSI key, so tokens it is.)
    await tables.doc.send(
      new PutCommand({ TableName: tables.names.tokens, Item: { jti: 'expired-1', clientId: 'acme', status: 'active', exp: t - 400, purgeAt: t - 100 } }),
    );
    await tables.doc.send(
      new PutCommand({ TableName: tables.names.tokens, Item: { jti: 'expired-2', clientId: 'acme', status: 'active', exp: t - 900, purgeAt: t - 600 } }),
    );
    // Live changes that are not revocations.
    await tables.doc.send(
      new PutCommand({ TableName: tables.names.apiKeys, Item: { keyId: 'key_live', clientId: 'acme', status: 'active', createdAt: t, expiresAt: t + 86_400 } }),
    );
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.apiKeys,
        Key: { keyId: 'key_live' },
        UpdateExpression: 'SET lastUsedAt = :t',
        ExpressionAttributeValues: { ':t': t },
      }),
    );
    await tables.doc.send(new PutCommand({ TableName: tables.names.clients, Item: { clientId: 'acme', status: 'active', createdAt: t } }));
    await tables.doc.send(new PutCommand({ TableName: tables.names.signingKeys, Item: { ring: RING_PARTITION, kid: 'k1', state: 'pending', version: 1 } }));
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.signingKeys,
        Key: { ring: RING_PARTITION, kid: 'k1' },
        UpdateExpression: 'SET #state = :active, #version = :v',
        ExpressionAttributeNames: { '#state': 'state', '#version': 'version' },
        ExpressionAttributeValues: { ':active': 'active', ':v': 2 },
      }),
    );

    const seen: DynamoDBStreamEvent['Records'] = [];
    const responses: DynamoDBBatchResponse[] = [];
    const fanout = fanoutOn(tables, new DynamoRevocationFeedWriter(tables.doc, tables.names.revocations));
    await poll(
      tables,
      async (event) => {
        seen.push(...event.Records);
        const response = await fanout(event);
        responses.push(response);
        return response;
      },
      { endpoint: ddb.endpoint },
    );

    const ttlRemovals = () => seen.filter((r) => r.eventName === 'REMOVE' && r.userIdentity?.principalId === 'dynamodb.amazonaws.com');
    await until(() => ttlRemovals().length === 2 && seen.length === 9, 'both TTL deletions and every change', 60_000);
    expect(
      ttlRemovals()
        .map((r) => r.dynamodb?.Keys?.jti?.S)
        .sort(),
    ).toEqual(['expired-1', 'expired-2']);
    expect(ttlRemovals().every((r) => r.userIdentity?.type === 'Service' && r.dynamodb?.OldImage !== undefined)).toBe(true);
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(await feed(tables)).toEqual({ entries: [], markers: 0 });
  });
});
