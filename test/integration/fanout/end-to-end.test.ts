/**
 * The revocation path on DynamoDB Local, as deployed minus AWS: revocation writes exactly
 * as the admin API and the rotation function make them → DynamoDB stream → local stream
 * poller → the real fan-out handler (module-scope config from the environment) → feed →
 * an authorizer's revocation view; API Gateway's flush endpoint is an HTTP stub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { Defaults } from '../../../common/defaults';
import { Env, EndpointEnv } from '../../../common/names';
import { ACTIVE_PARTITION, ApiKeyAttr, TOKEN_RECORD_GRACE_SECONDS } from '../../../common/credential-items';
import { FEED_MARKER_PREFIX, FeedAttr, type RevocationEntry } from '../../../common/revocation-feed';
import { RING_PARTITION, SigningKeyAttr, SigningKeyState } from '../../../common/signing-key-items';
import { conditionalRevoke } from '../../../lambda/adapters/conditional-revoke';
import { DynamoTokenStore } from '../../../lambda/adapters/token-store';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import { RevocationFeedReader } from '../../../lambda/adapters/revocation-feed-reader';
import { sdkQueryClient } from '../../../lambda/adapters/sdk-query-client';
import { RevocationView } from '../../../lambda/core/revocation/revocation-view';
import { revocationFromRecord } from '../../../lambda/core/revocation/revocation-events';
import { startStreamPoller, type StreamPoller } from '../../../local/stream-poller';
import { dynamoEndpoint, freshTables, type TestTables } from '../../support/aws';
import { startHttpStub, type HttpStub, type StubResponse } from '../../support/http-stub';
import { streamArn, streamRecord } from '../../support/stream-records';
import { tempDirs } from '../../support/temp-dirs';
import * as Setting from '../../../common/settings';

type Handler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

const STAGES = ['e2eapi/v1', 'e2eapi/canary'];
const FLUSH_PATH = /^\/restapis\/([^/]+)\/stages\/([^/]+)\/cache\/authorizers$/;

let tables: TestTables;
const tempDir = tempDirs('tollgate-fanout-e2e-');
let stub: HttpStub;
let respond: (path: string) => StubResponse = () => ({ status: 202 });
let handler: Handler;

beforeAll(async () => {
  tables = await freshTables();
  stub = await startHttpStub((request) => respond(request.pathname));
  // The handler reads its configuration once, at import, as in Lambda: set it first.
  Object.assign(process.env, tables.env, {
    [EndpointEnv.dynamodb]: dynamoEndpoint(),
    [EndpointEnv.apigateway]: stub.url,
    [Env.flushStages]: STAGES.join(','),
    // The view below polls every 100 ms; the fan-out times its flush by the same interval.
    [Setting.revocationPollMs.env]: '100',
    POWERTOOLS_SERVICE_NAME: 'tollgate-fanout',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  ({ handler } = (await import('../../../lambda/fanout/handler')) as { handler: Handler });
});

afterAll(async () => {
  await stub.close();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Feed entries (markers excluded), by `kind#value`. */
async function feedEntries(): Promise<Map<string, RevocationEntry & { seq: string }>> {
  const { Items = [] } = await tables.doc.send(new ScanCommand({ TableName: tables.names.revocations, ConsistentRead: true }));
  const entries = Items.filter((item) => !String(item[FeedAttr.bucket]).startsWith(FEED_MARKER_PREFIX)) as (RevocationEntry & { seq: string })[];
  return new Map(entries.map((entry) => [`${entry.kind}#${entry.value}`, entry]));
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const flushRequests = () =>
  stub.requests.filter((r) => r.method === 'DELETE' && FLUSH_PATH.test(r.pathname)).map((r) => r.pathname.replace(FLUSH_PATH, '$1/$2'));

describe('revocation fan-out, end to end on DynamoDB Local', () => {
  it('carries every kind of revocation to the feed, flushes the stages, and a running view refuses the tokens', { timeout: 180_000 }, async () => {
    // Eight waits of up to 15 s each: the test's own bound must never cut one short.
    const t = nowSeconds();
    const exp = t + 900;
    const ids = { jti: 'jti-e2e-1', keyId: 'key_00000000000000000e2e', clientId: 'acme-e2e', kid: 'kid-e2e' };
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.tokens,
        Item: {
          jti: ids.jti,
          clientId: 'other-client',
          keyId: 'key_0000000000000000othr',
          kid: 'kid-other',
          scope: 'orders:read',
          iat: t,
          exp,
          status: 'active',
          purgeAt: exp + TOKEN_RECORD_GRACE_SECONDS,
        },
      }),
    );
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.apiKeys,
        Item: {
          keyId: ids.keyId,
          keyHash: 'f'.repeat(64),
          clientId: 'other-client',
          scopes: ['orders:read'],
          status: 'active',
          createdAt: t,
          activePartition: ACTIVE_PARTITION,
        },
      }),
    );
    await tables.doc.send(new PutCommand({ TableName: tables.names.clients, Item: { clientId: ids.clientId, status: 'active', createdAt: t } }));
    await new DynamoSigningKeyStore(tables.doc, tables.names.signingKeys).put({
      kid: ids.kid,
      state: SigningKeyState.Active,
      alg: 'ES256',
      keySpec: 'ECC_NIST_P256',
      kmsKeyArn: 'arn:aws:kms:us-east-1:000000000000:key/e2e',
      publicKey: 'AA==',
      createdAt: t,
      activatedAt: t,
      version: 1,
    });

    const delivered: { event: DynamoDBStreamEvent; response: DynamoDBBatchResponse }[] = [];
    const poller: StreamPoller = await startStreamPoller({
      endpoint: dynamoEndpoint(),
      tableNames: tables.names,
      handler: async (event) => {
        const response = await handler(event);
        delivered.push({ event, response });
        return response;
      },
      checkpointPath: join(tempDir('checkpoints-'), 'checkpoints.json'),
      intervalMs: 100,
    });

    const view = new RevocationView({
      source: new RevocationFeedReader(sdkQueryClient(tables.doc), tables.names.revocations),
      pollIntervalMs: 100,
      maxStalenessMs: 30_000,
      windowSeconds: Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds + 300,
      now: Date.now,
    });
    const refused = (token: { jti: string; keyId: string; clientId: string; kid: string }) => view.isRevoked(token.jti, token.keyId, token.clientId, token.kid);
    const innocent = { jti: 'jti-innocent', keyId: 'key_000000000000innocent', clientId: 'innocent', kid: 'kid-innocent' };

    try {
      await view.refresh(Date.now());
      expect(refused({ ...innocent, jti: ids.jti })).toBe(false);

      // One revocation at a time, exactly as written in production, timing each to its feed entry and to the view.
      const revocations: [string, string, () => Promise<unknown>][] = [
        ['jti', ids.jti, () => new DynamoTokenStore(tables.doc, tables.names.tokens).revoke(ids.jti, nowSeconds())],
        [
          'cid',
          ids.keyId,
          () =>
            conditionalRevoke(tables.doc, { tableName: tables.names.apiKeys, key: { keyId: ids.keyId }, remove: [ApiKeyAttr.activePartition] }, nowSeconds()),
        ],
        ['sub', ids.clientId, () => conditionalRevoke(tables.doc, { tableName: tables.names.clients, key: { clientId: ids.clientId } }, nowSeconds())],
        [
          'kid',
          ids.kid,
          () =>
            tables.doc.send(
              new UpdateCommand({
                TableName: tables.names.signingKeys,
                Key: { [SigningKeyAttr.ring]: RING_PARTITION, [SigningKeyAttr.kid]: ids.kid },
                UpdateExpression: 'SET #state = :retired, #compromisedAt = :now, #retiredAt = :now, #version = :next',
                ConditionExpression: '#version = :current',
                ExpressionAttributeNames: {
                  '#state': SigningKeyAttr.state,
                  '#compromisedAt': SigningKeyAttr.compromisedAt,
                  '#retiredAt': SigningKeyAttr.retiredAt,
                  '#version': SigningKeyAttr.version,
                },
                ExpressionAttributeValues: { ':retired': SigningKeyState.Retired, ':now': nowSeconds(), ':next': 2, ':current': 1 },
              }),
            ),
        ],
      ];
      const timings: string[] = [];
      for (const [kind, value, revoke] of revocations) {
        const startedMs = Date.now();
        expect(await revoke()).not.toBe('not_found');
        const writtenMs = Date.now();
        await waitFor(async () => (await feedEntries()).get(`${kind}#${value}`), `feed entry ${kind}#${value}`);
        const feedMs = Date.now();
        await waitFor(async () => {
          await view.refresh(Date.now());
          return view.entries >= revocations.findIndex(([k]) => k === kind) + 1 ? true : undefined;
        }, `view to learn ${kind}#${value}`);
        timings.push(`${kind}: write ${writtenMs - startedMs} ms, write→feed ${feedMs - writtenMs} ms, write→view ${Date.now() - writtenMs} ms`);
      }
      const endSeconds = nowSeconds();
      process.stdout.write(`\n[fanout e2e] propagation on DynamoDB Local (poller interval 100 ms, view poll 100 ms):\n  ${timings.join('\n  ')}\n`);

      const entries = await feedEntries();
      expect([...entries.keys()].sort()).toEqual([`cid#${ids.keyId}`, `jti#${ids.jti}`, `kid#${ids.kid}`, `sub#${ids.clientId}`].sort());
      expect(entries.get(`jti#${ids.jti}`)?.purgeAt).toBe(exp + Defaults.clockSkewSeconds);
      for (const key of [`cid#${ids.keyId}`, `sub#${ids.clientId}`, `kid#${ids.kid}`]) {
        const purgeAt = entries.get(key)!.purgeAt;
        // A compromised key's entry also outlives the longest KMS deletion window.
        const beyond = key.startsWith('kid#') ? Setting.keyDeletionWindowDays.max * 86_400 : 0;
        expect(purgeAt).toBeGreaterThanOrEqual(t + Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds + beyond);
        expect(purgeAt).toBeLessThanOrEqual(endSeconds + Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds + beyond);
      }
      for (const entry of entries.values()) expect(entry.revokedAtMs).toBeGreaterThanOrEqual(t * 1000);

      // Each is refused on its own: by jti, by the key that minted it, by its client, by the key that signed it.
      expect(refused({ ...innocent, jti: ids.jti })).toBe(true);
      expect(refused({ ...innocent, keyId: ids.keyId })).toBe(true);
      expect(refused({ ...innocent, clientId: ids.clientId })).toBe(true);
      expect(refused({ ...innocent, kid: ids.kid })).toBe(true);
      expect(refused(innocent)).toBe(false);

      // Flushes: each stage once per batch that carried a revocation, none for the others (e.g. the seeding inserts).
      const names = tables.names;
      const batchesWithRevocations = () =>
        delivered.filter(({ event }) =>
          event.Records.some((record) => revocationFromRecord(record, names, { nowMs: Date.now(), clockSkewSeconds: Defaults.clockSkewSeconds }) !== undefined),
        ).length;
      // A batch is recorded when the handler returns, one flush delay after its feed write:
      // the four tables' batches (one stream shard each) may still be waiting to flush.
      const withRevocations = await waitFor(
        async () => (batchesWithRevocations() >= revocations.length ? batchesWithRevocations() : undefined),
        'every batch to flush',
      );
      expect(delivered.every(({ response }) => response.batchItemFailures.length === 0)).toBe(true);
      expect(flushRequests().sort()).toEqual(STAGES.flatMap((stage) => Array<string>(withRevocations).fill(stage)).sort());
    } finally {
      await poller.stop();
    }
  });
});

describe('revocation fan-out handler: authorizer cache flush over HTTP', () => {
  const t = nowSeconds();
  const revokedClient = (clientId: string) =>
    streamRecord({
      tableName: tables.names.clients,
      eventName: 'MODIFY',
      keys: { clientId },
      oldImage: { clientId, status: 'active' },
      newImage: { clientId, status: 'revoked', revokedAt: t },
    });
  const keyUsed = (keyId: string) =>
    streamRecord({
      tableName: tables.names.apiKeys,
      eventName: 'MODIFY',
      keys: { keyId },
      oldImage: { keyId, status: 'active' },
      newImage: { keyId, status: 'active', lastUsedAt: t },
    });

  it('flushes each configured stage exactly once for a batch of several revocations', async () => {
    stub.requests.length = 0;
    respond = () => ({ status: 202 });
    const response = await handler({ Records: [revokedClient('c-1'), revokedClient('c-2'), keyUsed('k-1'), revokedClient('c-3')] });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(flushRequests().sort()).toEqual([...STAGES].sort());
  });

  it('does not flush for a batch without revocations', async () => {
    stub.requests.length = 0;
    await handler({ Records: [keyUsed('k-2'), keyUsed('k-3')] });
    expect(flushRequests()).toEqual([]);
  });

  it('retries a failing stage, then logs and counts the failure, and the feed entries are still written', { timeout: 20_000 }, async () => {
    stub.requests.length = 0;
    // A non-retryable error for the SDK, so every attempt here is one of the fan-out's own.
    respond = (path) =>
      path.includes('/stages/canary/')
        ? { status: 400, headers: { 'x-amzn-ErrorType': 'BadRequestException' }, body: { message: 'stage cache is being updated' } }
        : { status: 202 };
    let response: DynamoDBBatchResponse;
    let lines: Record<string, unknown>[];
    try {
      ({ response, lines } = await logged(() => handler({ Records: [revokedClient('c-flush-fail')] })));
    } finally {
      respond = () => ({ status: 202 });
    }
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await feedEntries()).has('sub#c-flush-fail')).toBe(true);
    expect(flushRequests().filter((stage) => stage === 'e2eapi/canary')).toHaveLength(3);
    expect(flushRequests().filter((stage) => stage === 'e2eapi/v1')).toHaveLength(1);
    expect(lines.filter((l) => l.message === 'authorizer cache flush failed; retrying')).toHaveLength(2);
    expect(lines.find((l) => l.level === 'ERROR')).toMatchObject({
      restApiId: 'e2eapi',
      stageName: 'canary',
      attempt: 3,
      error: { name: 'BadRequestException' },
    });
    expect(lines.find((l) => '_aws' in l)).toMatchObject({ AuthorizerCacheFlushFailures: 1, RevocationsFannedOut: 1 });
  });

  it('acknowledges a record of a table it does not know, and logs and counts it as discarded', async () => {
    const stray = { ...revokedClient('c-stray'), eventSourceARN: streamArn(tables.names.revocations) };
    const { response, lines } = await logged(() => handler({ Records: [stray] }));
    expect(response.batchItemFailures).toEqual([]);
    expect(lines.find((l) => l.level === 'ERROR')).toMatchObject({
      message: 'stream record discarded: no retry can read it',
      sequenceNumber: stray.dynamodb!.SequenceNumber,
      error: { name: 'UnknownStreamSource' },
    });
    expect(lines.find((l) => '_aws' in l)).toMatchObject({ FanoutRecordsDiscarded: 1 });
    expect((await feedEntries()).has('sub#c-stray')).toBe(false);
  });
});

/** What `run` answered, and the JSON lines the handler wrote (Powertools logs and EMF) while it ran. */
async function logged(run: () => Promise<DynamoDBBatchResponse>): Promise<{ response: DynamoDBBatchResponse; lines: Record<string, unknown>[] }> {
  const output: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  };
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    const response = await run();
    const lines = output
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { response, lines };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}
