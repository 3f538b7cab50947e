/**
 * The leak function's request budget: a report is answered within API Gateway's 29 s
 * integration timeout however slow DynamoDB is, with 503 and Retry-After (GitHub and the
 * public caller retry; every revocation already made stays made) instead of API Gateway's
 * own 504. DynamoDB Local behind a fault proxy that delays every answer by less than the
 * attempt timeout, so no single call fails: only the budget can end the request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeakPath } from '../../../common/leaks';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { apiEvent } from '../../support/api-events';
import { dynamoEndpoint, freshTables, type TestTables } from '../../support/aws';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';
import { testLeakHandler } from '../../support/leak-handler';

let dynamo: FaultProxy;
let tables: TestTables;

beforeAll(async () => {
  [dynamo, tables] = await Promise.all([startFaultProxy(dynamoEndpoint()), freshTables()]);
});
afterAll(() => dynamo.close());

function leakHandler(budgetMs: number) {
  return testLeakHandler(tables, dynamo.endpoint, { keyList: async () => ({ public_keys: [] }), budgetMs });
}

/** Well-formed keys that exist nowhere: each costs one key read. */
const credentials = (count: number) => JSON.stringify({ credentials: Array.from({ length: count }, () => generateApiKey().apiKey) });
const revoke = (body: string) => apiEvent({ method: 'POST', resource: LeakPath.revoke, headers: { 'Content-Type': 'application/json' }, body });

describe('the leak function on a slow DynamoDB', () => {
  it('answers 503 with Retry-After when the request budget is spent, not after the last read', async () => {
    // 64 reads, 16 at a time, 400 ms each: 1.6 s of reads against a 700 ms budget.
    dynamo.delay(400);
    try {
      const response = await leakHandler(700)(revoke(credentials(64)));
      expect(response.statusCode, response.body).toBe(503);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'temporarily_unavailable' });
      expect(response.headers).toMatchObject({ 'Retry-After': expect.stringMatching(/^\d+$/) });
    } finally {
      await dynamo.pass();
    }
  });

  it('answers within the budget as before when the reads fit in it', async () => {
    dynamo.delay(50);
    try {
      const response = await leakHandler(5_000)(revoke(credentials(16)));
      expect(response.statusCode, response.body).toBe(202);
    } finally {
      await dynamo.pass();
    }
  });
});
