/**
 * A leak report whose write commits but whose answer never arrives is still announced: the
 * audit line and the `KeyLeaked` event go out and GitHub hears `true_positive`, in `revoke`
 * and `notify` mode alike. DynamoDB Local behind a fault proxy that forwards the write and
 * drops its answer: within the request the SDK retries the committed write (its condition
 * then fails); with a budget shorter than one attempt the request ends 503 and GitHub's
 * retry finds the write done but unannounced. EventBridge is a loopback stub, which can
 * refuse every entry (PutEvents' partial failure): the announcement then stays owed too.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ApiKeyAttr, CredentialStatus } from '../../../common/credential-items';
import type { LeakResponse } from '../../../common/leaks';
import { Metric } from '../../../common/metrics';
import { LeakPath } from '../../../common/leaks';
import { apiEvent } from '../../support/api-events';
import { DynamoApiKeyStore } from '../../../lambda/adapters/api-key-store';
import { setLeakResponse } from '../../../lambda/adapters/leak-store';
import { generateApiKey, hashApiKey } from '../../../lambda/core/credentials/api-keys';
import { githubSigner } from '../../support/github-reports';
import { testEventBridge, testLeakHandler } from '../../support/leak-handler';
import { dynamoEndpoint, freshTables, type TestTables } from '../../support/aws';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';
import { startHttpStub, type HttpStub, type RecordedRequest } from '../../support/http-stub';

let dynamo: FaultProxy;
let tables: TestTables;
let eventBridge: HttpStub;
/** Whether the EventBridge stub refuses every entry; the requests whose entries it took. */
let eventBridgeRefuses = false;
const taken = new Set<RecordedRequest>();
const github = githubSigner();
const logLines: string[] = [];

beforeAll(async () => {
  [dynamo, tables, eventBridge] = await Promise.all([
    startFaultProxy(dynamoEndpoint()),
    freshTables(),
    startHttpStub((request) => {
      if (eventBridgeRefuses) {
        // PutEvents' partial failure: a 200 whose entries say they were not taken.
        const entries = (JSON.parse(request.body) as { Entries: unknown[] }).Entries.map(() => ({
          ErrorCode: 'ThrottlingException',
          ErrorMessage: 'Rate exceeded',
        }));
        return {
          status: 200,
          headers: { 'Content-Type': 'application/x-amz-json-1.1' },
          body: JSON.stringify({ FailedEntryCount: entries.length, Entries: entries }),
        };
      }
      taken.add(request);
      return {
        status: 200,
        headers: { 'Content-Type': 'application/x-amz-json-1.1' },
        body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: randomBytes(8).toString('hex') }] }),
      };
    }),
  ]);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write);
});
afterEach(() => {
  eventBridgeRefuses = false;
  return dynamo.pass();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all([dynamo.close(), eventBridge.close()]);
});

function leakHandler(budgetMs?: number) {
  const metrics = new Map<string, number>();
  const handle = testLeakHandler(tables, dynamo.endpoint, {
    events: testEventBridge(eventBridge.url),
    logger: new Logger({ serviceName: 'leaks-test' }),
    metrics: { addMetric: (name, _unit, value) => void metrics.set(name, (metrics.get(name) ?? 0) + value), publishStoredMetrics: () => undefined },
    keyList: github.keyList,
    ...(budgetMs !== undefined && { budgetMs }),
  });
  return { handle, metrics };
}

async function liveKey(clientId: string, mode: LeakResponse) {
  const key = generateApiKey();
  const store = new DynamoApiKeyStore(tables.doc, { apiKeys: tables.names.apiKeys, clients: tables.names.clients });
  await store.create({ keyId: key.keyId, keyHash: key.keyHash, clientId, scopes: ['a'], status: CredentialStatus.Active, createdAt: 1 });
  await setLeakResponse(tables.doc, tables.names.clients, clientId, mode);
  return key;
}

function report(token: string) {
  return github.signedReport([{ token, type: 'tollgate_api_key', url: 'https://github.com/acme/app/blob/main/config.js', source: 'content' }]);
}

async function stored(keyId: string) {
  const { Item } = await tables.doc.send(new GetCommand({ TableName: tables.names.apiKeys, Key: { [ApiKeyAttr.keyId]: keyId }, ConsistentRead: true }));
  return Item!;
}

/** What was announced for one key: its audit lines' actions and its events' actions. */
function announcements(keyId: string) {
  const audit = logLines.filter((line) => line.includes('"audit"') && line.includes(keyId)).map((line) => JSON.parse(line).audit.action as string);
  const events = eventBridge.requests
    .filter((request) => taken.has(request))
    .flatMap((request) => (JSON.parse(request.body) as { Entries: { Detail: string }[] }).Entries)
    .map((entry) => JSON.parse(entry.Detail) as { keyId: string; action: string })
    .filter((detail) => detail.keyId === keyId)
    .map((detail) => detail.action);
  return { audit, events };
}

const MODES = [
  { mode: 'revoke', status: CredentialStatus.Revoked, audit: 'key.leak_revoke', action: 'revoked' },
  { mode: 'notify', status: CredentialStatus.Active, audit: 'key.leak_notify', action: 'notified' },
] as const;

describe('a leak write whose answer is lost', () => {
  it.each(MODES)('$mode: the SDK retries the committed write, and the report is announced and answered true_positive', async (mode) => {
    const key = await liveKey(`lost-${mode.mode}`, mode.mode);
    const updatesBefore = dynamo.seen.get('UpdateItem') ?? 0;
    dynamo.lose({ only: ['UpdateItem'], times: 1 });
    const { handle, metrics } = leakHandler();
    const response = await handle(report(key.apiKey));
    expect(response.statusCode, response.body).toBe(200);
    expect(JSON.parse(response.body)).toEqual([{ token_hash: hashApiKey(key.apiKey), token_type: 'tollgate_api_key', label: 'true_positive' }]);
    // The lost write, the SDK's retry of it (condition failed), the announcement's marker.
    expect(dynamo.seen.get('UpdateItem')! - updatesBefore).toBeGreaterThanOrEqual(3);
    const item = await stored(key.keyId);
    expect(item[ApiKeyAttr.status]).toBe(mode.status);
    expect(item[ApiKeyAttr.leakUnannounced]).toBeUndefined();
    expect(announcements(key.keyId)).toEqual({ audit: [mode.audit], events: [mode.action] });
    expect(metrics.get(Metric.leakedKeys)).toBe(1);
    expect(logLines.some((line) => line.includes(key.apiKey))).toBe(false);
  });

  it.each(MODES)('$mode: the budget ends the request after the write (503); the retry announces it and answers true_positive', async (mode) => {
    const key = await liveKey(`cut-${mode.mode}`, mode.mode);
    dynamo.lose({ only: ['UpdateItem'], times: 1 });
    // Shorter than one SDK attempt (1 s): the write commits, the request ends before its answer.
    const first = await leakHandler(700).handle(report(key.apiKey));
    expect(first.statusCode, first.body).toBe(503);
    expect((await stored(key.keyId))[ApiKeyAttr.status]).toBe(mode.status);
    expect(announcements(key.keyId)).toEqual({ audit: [], events: [] });

    await dynamo.pass();
    const { handle, metrics } = leakHandler();
    const retry = await handle(report(key.apiKey));
    expect(retry.statusCode, retry.body).toBe(200);
    expect(JSON.parse(retry.body)[0].label).toBe('true_positive');
    expect(announcements(key.keyId)).toEqual({ audit: [mode.audit], events: [mode.action] });
    expect(metrics.get(Metric.leakedKeys)).toBe(1);
    expect((await stored(key.keyId))[ApiKeyAttr.leakUnannounced]).toBeUndefined();

    // Announced once: GitHub's next retry writes and announces nothing, and is still a true positive.
    const again = await handle(report(key.apiKey));
    expect(JSON.parse(again.body)[0].label).toBe('true_positive');
    expect(announcements(key.keyId)).toEqual({ audit: [mode.audit], events: [mode.action] });
    expect(logLines.some((line) => line.includes(key.apiKey))).toBe(false);
  });
});

describe('a leak announcement EventBridge does not take', () => {
  it.each(MODES)('$mode, reported on the public endpoint: answered 202 as always, the event owed until the next report', async (mode) => {
    const key = await liveKey(`public-${mode.mode}`, mode.mode);
    eventBridgeRefuses = true;
    const body = JSON.stringify({ credentials: [key.apiKey] });
    const first = await leakHandler().handle(apiEvent({ method: 'POST', resource: LeakPath.revoke, headers: { 'Content-Type': 'application/json' }, body }));
    expect(first.statusCode, first.body).toBe(202);
    expect((await stored(key.keyId))[ApiKeyAttr.leakUnannounced]).toBe(mode.action);
    expect(announcements(key.keyId)).toEqual({ audit: [mode.audit], events: [] });

    eventBridgeRefuses = false;
    expect((await leakHandler().handle(report(key.apiKey))).statusCode).toBe(200);
    expect(announcements(key.keyId).events).toEqual([mode.action]);
    expect((await stored(key.keyId))[ApiKeyAttr.leakUnannounced]).toBeUndefined();
  });

  it.each(MODES)('$mode: the request ends 503 with Retry-After and the event stays owed; the retry announces it once', async (mode) => {
    const key = await liveKey(`refused-${mode.mode}`, mode.mode);
    eventBridgeRefuses = true;
    const first = await leakHandler().handle(report(key.apiKey));
    expect(first.statusCode, first.body).toBe(503);
    expect(first.headers?.['Retry-After']).toMatch(/^[1-9][0-9]*$/);
    expect(JSON.parse(first.body).error).toBe('temporarily_unavailable');
    const item = await stored(key.keyId);
    expect(item[ApiKeyAttr.status]).toBe(mode.status);
    expect(item[ApiKeyAttr.leakUnannounced]).toBe(mode.action);
    expect(announcements(key.keyId)).toEqual({ audit: [mode.audit], events: [] });

    eventBridgeRefuses = false;
    const { handle, metrics } = leakHandler();
    const retry = await handle(report(key.apiKey));
    expect(retry.statusCode, retry.body).toBe(200);
    expect(JSON.parse(retry.body)[0].label).toBe('true_positive');
    expect(announcements(key.keyId)).toEqual({ audit: [mode.audit, mode.audit], events: [mode.action] });
    expect(metrics.get(Metric.leakedKeys)).toBe(1);
    expect((await stored(key.keyId))[ApiKeyAttr.leakUnannounced]).toBeUndefined();
    expect(JSON.parse((await handle(report(key.apiKey))).body)[0].label).toBe('true_positive');
    expect(announcements(key.keyId).events).toEqual([mode.action]);
    expect(logLines.some((line) => line.includes(key.apiKey))).toBe(false);
  });
});
