/**
 * The authorizer against DynamoDB Local over real HTTP with the real AWS SDK: ring keys
 * stored with the signing-key store, revocations written straight into the feed table.
 * The handler module runs on real timers, and only "eventually" is asserted about time;
 * the outage test moves an injected clock, so its staleness window is not a race.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Env, EndpointEnv } from '../../../common/names';
import { RevocationKind } from '../../../common/revocation-feed';
import { RevocationFeedReader } from '../../../lambda/adapters/revocation-feed-reader';
import { sdkQueryClient } from '../../../lambda/adapters/sdk-query-client';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import type { Decision } from '../../../lambda/core/authorizer/authorizer';
import { createAuthorizer } from '../../../lambda/core/authorizer/create-authorizer';
import { createTables, localDynamoClient, startDynamoDbLocal, tableNames } from '../../../local/dynamodb';
import { dynamoEndpoint, freshTables } from '../../support/aws';
import { tempDirs } from '../../support/temp-dirs';
import { authorizerEvent, SETTINGS } from '../../unit/authorizer/support/fixtures';
import { claims, generateTestKey, ISSUER, signToken, type TestKey } from '../../unit/authorizer/support/tokens';
import { eventually, putFeedEntry, putKeys } from './support';
import * as Setting from '../../../common/settings';

const POLL_MS = 250;
let es: TestKey;
let rs: TestKey;

beforeAll(() => {
  es = generateTestKey('ES256');
  rs = generateTestKey('RS256');
});

describe('authorizer handler module against DynamoDB Local', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
    vi.resetModules();
  });

  it('authorizes from the ring at cold start and refuses a revoked token eventually', async () => {
    const tables = await freshTables();
    await putKeys(tables.doc, tables.names.signingKeys, [es, rs]);
    Object.assign(process.env, tables.env, {
      [Env.issuer]: ISSUER,
      [Setting.revocationPollMs.env]: String(POLL_MS),
      [EndpointEnv.dynamodb]: dynamoEndpoint(),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    vi.resetModules();
    const { handler } = await import('../../../lambda/authorizer/handler');

    const now = Math.floor(Date.now() / 1000);
    const revoked = claims(now, { sub: 'acme', client_id: 'acme' });
    const other = claims(now, { sub: 'globex', client_id: 'globex' });
    const revokedToken = `Bearer ${signToken(es, revoked)}`;
    const otherToken = `Bearer ${signToken(rs, other)}`;
    expect((await handler(authorizerEvent(revokedToken))).principalId).toBe('acme');
    expect((await handler(authorizerEvent(otherToken))).principalId).toBe('globex');
    await expect(handler(authorizerEvent(revokedToken, 'POST', '/orders'))).resolves.toMatchObject({ principalId: 'acme' });

    await putFeedEntry(tables.doc, tables.names.revocations, { kind: RevocationKind.Token, value: revoked.jti as string });
    // Typically within one or two polls; the bound only has to outlast a GC pause or a starved
    // JVM on a loaded CI host (the shared DynamoDB Local serves both workers).
    const refusedAfter = await eventually(
      () =>
        handler(authorizerEvent(revokedToken)).then(
          () => false,
          (error: Error) => error.message === 'Unauthorized',
        ),
      30_000,
    );
    expect(refusedAfter).toBeDefined();
    // Only that token: the other client's token is still allowed.
    expect((await handler(authorizerEvent(otherToken))).principalId).toBe('globex');
    await expect(handler(authorizerEvent('Bearer x.y.z'))).rejects.toThrow(/^Unauthorized$/);
  }, 60_000);
});

describe('authorizer while DynamoDB Local is down', () => {
  const tempDir = tempDirs('tollgate-authorizer-outage-');
  const stops: (() => Promise<void>)[] = [];

  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('serves from its view until the maximum staleness, then fails closed, then recovers', async () => {
    const dataDir = tempDir('ddb-');
    // Reads go through whichever instance is up: the restart is on a new port, not a reused one.
    let doc: DynamoDBDocumentClient;
    const connect = async () => {
      const dynamo = await startDynamoDbLocal({ dataDir, startTimeoutMs: 120_000 });
      const client = localDynamoClient(dynamo.endpoint);
      stops.push(
        () => dynamo.stop(),
        async () => client.destroy(),
      );
      doc = DynamoDBDocumentClient.from(client);
      return { dynamo, client };
    };
    const first = await connect();
    const names = tableNames('outage-');
    await createTables(first.client, names);
    await putKeys(doc!, names.signingKeys, [es]);
    // Polls run only when `decide` is called, timed by this clock: nothing moves it but the test.
    let clockMs = Date.now();
    const maxStalenessS = 3;
    const authorizer = createAuthorizer(
      { ...SETTINGS, revocationPollMs: POLL_MS, revocationMaxStalenessS: maxStalenessS },
      {
        keySource: { load: () => new DynamoSigningKeyStore(doc, names.signingKeys).load() },
        feed: {
          read: (partitions, afterSeq) =>
            new RevocationFeedReader(sdkQueryClient(doc), names.revocations, { requestTimeoutMs: 1000 }).read(partitions, afterSeq),
        },
        now: () => clockMs,
      },
    );
    await authorizer.start();
    const token = `Bearer ${signToken(es, claims(Math.floor(clockMs / 1000)))}`;
    const decide = async (): Promise<Decision> => authorizer.decide(authorizerEvent(token));
    expect((await decide()).outcome).toBe('allow');

    await first.dynamo.stop();
    // Right after the outage starts the view is fresh: requests are still served from it.
    expect((await decide()).outcome).toBe('allow');
    // Past a poll interval the read is attempted and fails; within the staleness the last view still serves.
    clockMs += 4 * POLL_MS;
    expect((await decide()).outcome).toBe('allow');
    // Past the maximum staleness without a successful read: fail closed.
    clockMs += maxStalenessS * 1000;
    expect(await decide()).toMatchObject({ outcome: 'reject', reason: 'revocation_view_stale' });

    await connect();
    const recoveredAfter = await eventually(
      async () => {
        clockMs += POLL_MS;
        return (await decide()).outcome === 'allow';
      },
      30_000,
      100,
    );
    expect(recoveredAfter).toBeDefined();
  }, 300_000);
});
