/**
 * The revocation fan-out, wired once per execution environment: DynamoDB stream batches from the API-key, client, token and
 * signing-key tables in, revocation-feed entries and authorizer-cache flushes out
 * (docs/revocation.md). Configuration and clients are built here, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { serviceNameFrom } from '../../common/metrics';
import { METRICS_NAMESPACE } from '../../common/names';
import { apiGatewayClient } from '../adapters/clients/api-gateway';
import { documentClient } from '../adapters/clients/dynamodb';
import { ApiGatewayAuthorizerCacheFlusher } from '../adapters/authorizer-cache-flusher';
import { DynamoRevocationFeedWriter } from '../adapters/revocation-feed-writer';
import { readFanoutConfig } from './config';
import { createFanout, flushDelayMs } from './fan-out';
import { PowertoolsFanoutTelemetry } from './telemetry';

const config = readFanoutConfig(process.env);
const SERVICE = serviceNameFrom(process.env, 'fanout');

export const fanout = createFanout({
  streamTables: config.streamTables,
  writer: new DynamoRevocationFeedWriter(documentClient(), config.revocationsTable),
  flusher: new ApiGatewayAuthorizerCacheFlusher(apiGatewayClient()),
  flushStages: config.flushStages,
  flushDelayMs: flushDelayMs(config.revocationPollMs),
  telemetry: new PowertoolsFanoutTelemetry(new Logger({ serviceName: SERVICE }), new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE })),
  clockSkewSeconds: config.clockSkewSeconds,
  now: Date.now,
});
