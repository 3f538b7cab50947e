/**
 * The leak function over a test's tables, with what a test does not look at stubbed: an
 * EventBridge that takes every entry (in process, through the SDK's own serialisation), a
 * silent logger, discarded metrics. A test overrides what it does look at.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { HttpResponse } from '@smithy/protocol-http';
import { Readable } from 'node:stream';
import { EndpointEnv } from '../../common/names';
import { documentClient } from '../../lambda/adapters/clients/dynamodb';
import { createLeakHandler, type LeakAppDependencies } from '../../lambda/leaks/app';
import type { TestTables } from './aws';

/** An EventBridge client for `endpoint`. */
export function testEventBridge(endpoint: string): EventBridgeClient {
  return new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
}

/** An EventBridge client whose every PutEvents is answered, in process, with each entry taken. */
export function acceptingEventBridge(): EventBridgeClient {
  const client = testEventBridge('http://eventbridge.invalid');
  client.config.requestHandler = {
    handle: async (request: { body?: string }) => {
      const { Entries } = JSON.parse(request.body ?? '{}') as { Entries?: unknown[] };
      const body = JSON.stringify({ FailedEntryCount: 0, Entries: (Entries ?? []).map((_, index) => ({ EventId: `event-${index}` })) });
      return { response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([body]) }) };
    },
  } as unknown as typeof client.config.requestHandler;
  return client;
}

export function testLeakHandler(tables: TestTables, dynamodbEndpoint: string, overrides: Partial<Omit<LeakAppDependencies, 'env' | 'doc'>> = {}) {
  const env = { ...tables.env, [EndpointEnv.dynamodb]: dynamodbEndpoint };
  return createLeakHandler({
    env,
    doc: documentClient(env),
    events: acceptingEventBridge(),
    logger: new Logger({ serviceName: 'leaks-test', logLevel: 'SILENT' }),
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
    ...overrides,
  });
}
