/**
 * The leak function over a test's tables, with what a test does not look at stubbed: an
 * EventBridge nobody listens on (a failed publish only warns), a silent logger, discarded
 * metrics. A test overrides what it does look at.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EndpointEnv } from '../../common/names';
import { documentClient } from '../../lambda/adapters/clients/dynamodb';
import { createLeakHandler, type LeakAppDependencies } from '../../lambda/leaks/app';
import type { TestTables } from './aws';

/** An EventBridge client for `endpoint` (default: a port nothing listens on). */
export function testEventBridge(endpoint = 'http://127.0.0.1:9'): EventBridgeClient {
  return new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
}

export function testLeakHandler(tables: TestTables, dynamodbEndpoint: string, overrides: Partial<Omit<LeakAppDependencies, 'env' | 'doc'>> = {}) {
  const env = { ...tables.env, [EndpointEnv.dynamodb]: dynamodbEndpoint };
  return createLeakHandler({
    env,
    doc: documentClient(env),
    events: testEventBridge(),
    logger: new Logger({ serviceName: 'leaks-test', logLevel: 'SILENT' }),
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
    ...overrides,
  });
}
