/**
 * The SDK clients of `lambda/adapters/clients/` against DynamoDB Local and the local KMS
 * endpoint through a fault proxy: attempt timeouts that really end an attempt, bounded
 * retries, the request budget that ends the call (and every retry) when it is spent, and
 * failures reaching callers typed. Counts of attempts are asserted, never durations beyond
 * a generous "it answered".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { DependencyBudget } from '../../../common/defaults';
import { EndpointEnv } from '../../../common/names';
import { withDeadline } from '../../../lambda/adapters/clients/deadline';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { kmsClient } from '../../../lambda/adapters/clients/kms';
import { DependencyUnavailable } from '../../../lambda/core/shared/issuance-errors';
import { dynamoEndpoint, freshTables, kmsEndpoint, type TestTables } from '../../support/aws';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';

let dynamo: FaultProxy;
let kms: FaultProxy;
let tables: TestTables;

beforeAll(async () => {
  [dynamo, kms, tables] = await Promise.all([startFaultProxy(dynamoEndpoint()), startFaultProxy(kmsEndpoint()), freshTables()]);
});
afterEach(() => Promise.all([dynamo.pass(), kms.pass()]));
afterAll(() => Promise.all([dynamo.close(), kms.close()]));

const doc = () => documentClient({ [EndpointEnv.dynamodb]: dynamo.endpoint });
const get = () => new GetCommand({ TableName: tables.names.clients, Key: { clientId: 'acme' } });
const seen = (proxy: FaultProxy, operation: string) => proxy.seen.get(operation) ?? 0;

describe('bounded SDK clients', () => {
  it('end each attempt on a hung service (throwOnRequestTimeout) and give up after maxAttempts, typed as a timeout', async () => {
    dynamo.hang();
    const before = seen(dynamo, 'GetItem');
    const error = await doc()
      .send(get())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailable);
    expect(error).toMatchObject({ dependency: 'dynamodb', failure: 'timeout', retryAfterSeconds: 1 });
    expect(seen(dynamo, 'GetItem') - before).toBe(DependencyBudget.maxAttempts);
  });

  it('answer when the request budget is spent, and start no attempt after it', async () => {
    dynamo.hang();
    const before = seen(dynamo, 'GetItem');
    const started = performance.now();
    const error = await withDeadline(1_200, () => doc().send(get())).catch((e: unknown) => e);
    const answeredMs = performance.now() - started;
    expect(error).toMatchObject({ name: 'DependencyUnavailable', failure: 'timeout' });
    // One attempt timed out at 1 s, the second was aborted by the budget: not the third.
    expect(seen(dynamo, 'GetItem') - before).toBeLessThanOrEqual(2);
    expect(answeredMs).toBeLessThan(DependencyBudget.maxAttempts * DependencyBudget.attemptTimeoutMs + 5_000);
    const attempts = seen(dynamo, 'GetItem');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(seen(dynamo, 'GetItem')).toBe(attempts);
  });

  it('answer at once when the budget is already spent, without calling the service', async () => {
    const before = seen(dynamo, 'GetItem');
    const error = await withDeadline(1, async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return doc().send(get());
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DependencyUnavailable', failure: 'timeout' });
    expect(seen(dynamo, 'GetItem')).toBe(before);
  });

  it('retry throttling maxAttempts times with backoff, then report it with the throttling Retry-After', async () => {
    dynamo.fail('ProvisionedThroughputExceededException');
    const before = seen(dynamo, 'GetItem');
    const error = await doc()
      .send(get())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'DependencyUnavailable',
      failure: 'throttled',
      retryAfterSeconds: 4,
      causeName: 'ProvisionedThroughputExceededException',
    });
    expect(seen(dynamo, 'GetItem') - before).toBe(DependencyBudget.maxAttempts);
  });

  it('report a budget spent while backing off from throttling as throttling, with its Retry-After', async () => {
    dynamo.fail('ThrottlingException');
    const error = await withDeadline(300, () => doc().send(get())).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DependencyUnavailable', failure: 'throttled', retryAfterSeconds: 4 });
  });

  it('leave answers that are not dependency failures as they are (a failed condition is an answer)', async () => {
    await doc().send(new PutCommand({ TableName: tables.names.clients, Item: { clientId: 'taken', status: 'active' } }));
    const error = await doc()
      .send(new PutCommand({ TableName: tables.names.clients, Item: { clientId: 'taken' }, ConditionExpression: 'attribute_not_exists(clientId)' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('classify a KMS client’s failures as kms', async () => {
    kms.fail('ThrottlingException');
    const error = await kmsClient({ [EndpointEnv.kms]: kms.endpoint })
      .send(new ListKeysCommand({}))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DependencyUnavailable', dependency: 'kms', failure: 'throttled' });
  });

  it('work normally once the service is back, with no new client', async () => {
    const client = doc();
    dynamo.hang();
    await expect(withDeadline(500, () => client.send(get()))).rejects.toBeInstanceOf(DependencyUnavailable);
    await dynamo.pass();
    await expect(client.send(get())).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });
});
