/**
 * The revocation fan-out, wired once per execution environment: DynamoDB stream batches from the API-key, client, token and
 * signing-key tables in, revocation-feed entries and authorizer-cache flushes out
 * (docs/revocation.md). Configuration and clients are built here, at cold start.
 */
import { apiGatewayClient } from '../adapters/clients/api-gateway';
import { documentClient } from '../adapters/clients/dynamodb';
import { powertoolsLogger, powertoolsMetrics } from '../adapters/clients/powertools';
import { ApiGatewayAuthorizerCacheFlusher } from '../adapters/authorizer-cache-flusher';
import { DynamoRevocationFeedWriter } from '../adapters/revocation-feed-writer';
import { readFanoutConfig } from './config';
import { createFanout, flushDelayMs } from './fan-out';
import { PowertoolsFanoutTelemetry } from './telemetry';

const config = readFanoutConfig(process.env);

export const fanout = createFanout({
  streamTables: config.streamTables,
  writer: new DynamoRevocationFeedWriter(documentClient(), config.revocationsTable),
  flusher: new ApiGatewayAuthorizerCacheFlusher(apiGatewayClient()),
  flushStages: config.flushStages,
  flushDelayMs: flushDelayMs(config.revocationPollMs),
  telemetry: new PowertoolsFanoutTelemetry(powertoolsLogger('fanout'), powertoolsMetrics('fanout')),
  clockSkewSeconds: config.clockSkewSeconds,
  now: Date.now,
});
