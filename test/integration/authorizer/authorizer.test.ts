/**
 * The authorizer against DynamoDB Local over real HTTP with the real AWS SDK: ring keys
 * stored with the signing-key store, revocations written straight into the feed table,
 * real timers. Only "eventually, within N poll intervals" is asserted about time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Env, EndpointEnv } from '../../../common/config';
import { RevocationKind } from '../../../common/tables';
import { RevocationFeedReader } from '../../../lambda/adapters/revocation-feed-reader';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import type { Decision } from '../../../lambda/core/authorizer';
import { createAuthorizer } from '../../../lambda/core/create-authorizer';
import { createTables, localDynamoClient, startDynamoDbLocal, tableNames, type LocalDynamoDb } from '../../../local/dynamodb';
import { dynamoEndpoint, freshTables } from '../../support/aws';
import { authorizerEvent, SETTINGS } from '../../unit/authorizer/support/fixtures';
import { claims, generateTestKey, ISSUER, signToken, type TestKey } from '../../unit/authorizer/support/tokens';
import { eventually, putFeedEntry, putKeys } from './support';

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

  it('authorizes from the ring at cold start and refuses a revoked token within a few poll intervals', async () => {
    const tables = await freshTables();
    await putKeys(tables.doc, tables.names.signingKeys, [es, rs]);
    Object.assign(process.env, tables.env, {
      [Env.issuer]: ISSUER,
      [Env.revocationPollMs]: String(POLL_MS),
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
    const refusedAfter = await eventually(
      () => handler(authorizerEvent(revokedToken)).then(() => false, (error: Error) => error.message === 'Unauthorized'),
      8 * POLL_MS,
    );
    expect(refusedAfter).toBeDefined();
    // Only that token: the other client's token is still allowed.
    expect((await handler(authorizerEvent(otherToken))).principalId).toBe('globex');
    await expect(handler(authorizerEvent('Bearer x.y.z'))).rejects.toThrow(/^Unauthorized$/);
  }, 60_000);
});

describe('authorizer while DynamoDB Local is down', () => {
  let dynamo: LocalDynamoDb;
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-authorizer-outage-'));

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('serves from its view until the maximum staleness, then fails closed, then recovers', async () => {
    dynamo = await startDynamoDbLocal({ dataDir });
    const port = dynamo.port;
    const names = tableNames('outage-');
    const client = localDynamoClient(dynamo.endpoint);
    await createTables(client, names);
    const doc = DynamoDBDocumentClient.from(client);
    await putKeys(doc, names.signingKeys, [es]);
    const maxStalenessS = 3;
    const authorizer = createAuthorizer(
      { ...SETTINGS, revocationPollMs: POLL_MS, revocationMaxStalenessS: maxStalenessS },
      {
        keySource: new DynamoSigningKeyStore(doc, names.signingKeys),
        feed: new RevocationFeedReader(doc, names.revocations, { requestTimeoutMs: 1000 }),
        now: Date.now,
      },
    );
    await authorizer.start();
    const token = `Bearer ${signToken(es, claims(Math.floor(Date.now() / 1000)))}`;
    const decide = async (): Promise<Decision> => authorizer.decide(authorizerEvent(token));
    expect((await decide()).outcome).toBe('allow');

    await dynamo.stop();
    // Right after the outage starts the view is fresh: requests are still served from it.
    expect((await decide()).outcome).toBe('allow');
    let last: Decision | undefined;
    const failedClosedAfter = await eventually(async () => {
      last = await decide();
      return last.outcome === 'reject';
    }, (maxStalenessS + 5) * 1000, 100);
    expect(failedClosedAfter).toBeDefined();
    expect(last).toMatchObject({ outcome: 'reject', reason: 'revocation_view_stale' });

    dynamo = await startDynamoDbLocal({ port, dataDir });
    const recoveredAfter = await eventually(async () => (await decide()).outcome === 'allow', 20_000, 100);
    expect(recoveredAfter).toBeDefined();
    client.destroy();
  }, 120_000);
});
