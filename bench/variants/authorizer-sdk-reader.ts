/**
 * The authorizer as it was wired before it had its own DynamoDB client: the same core and
 * telemetry, reading the key ring and the revocation feed through the AWS SDK's document
 * client. Bundled and cold-started next to the real handler by the P5 suite, so the
 * trade-off between the two readers is measured in the same run (BENCHMARKS.md, P5).
 * Benchmark-only: nothing deploys it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../common/names';
import { serviceNameFrom } from '../../common/metrics';
import { documentClient } from '../../lambda/adapters/clients/dynamodb';
import { sdkQueryClient } from '../../lambda/adapters/sdk-query-client';
import { createHandler } from '../../lambda/authorizer/authorize';
import { EmfMetricsPublisher } from '../../lambda/authorizer/metrics-publisher';
import { AuthorizerTelemetry } from '../../lambda/authorizer/telemetry';
import { authorizerConfigFrom } from '../../lambda/authorizer/config';
import { authorizerSources } from '../../lambda/authorizer/sources';
import { createAuthorizer } from '../../lambda/core/authorizer/create-authorizer';

const SERVICE = serviceNameFrom(process.env, 'authorizer');

const config = authorizerConfigFrom(process.env);
const dynamo = sdkQueryClient(documentClient());
const telemetry = new AuthorizerTelemetry({
  log: new Logger({ serviceName: SERVICE }),
  metrics: new EmfMetricsPublisher(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE })),
  allowLogSampleRate: config.allowLogSampleRate,
});
const authorizer = createAuthorizer(config, {
  ...authorizerSources(dynamo, config.tables, telemetry.malformedFeedItems),
  now: Date.now,
  onKeyRingEvent: telemetry.keyRingEvent,
  onRevocationEvent: telemetry.revocationEvent,
});
telemetry.attach(authorizer);
void authorizer.start();

export const handler = createHandler(authorizer, telemetry);
