/**
 * Lambda entry point of the REQUEST authorizer. Configuration is read and validated
 * once at cold start (a bad value fails the init, naming the variable); the key ring and
 * the revocation view start loading during init and the first requests wait for them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../common/config';
import { serviceName } from '../../common/metrics';
import { documentClient } from '../adapters/clients/dynamodb';
import { RevocationFeedReader } from '../adapters/revocation-feed-reader';
import { DynamoSigningKeyStore } from '../adapters/signing-key-store';
import { authorizerConfigFrom } from '../core/authorizer-config';
import { createAuthorizer } from '../core/create-authorizer';
import { createHandler } from './authorize';
import { EmfMetricsPublisher } from './metrics-publisher';
import { AuthorizerTelemetry } from './telemetry';

const SERVICE = serviceName('authorizer');

const config = authorizerConfigFrom(process.env);
const doc = documentClient();
const telemetry = new AuthorizerTelemetry({
  log: new Logger({ serviceName: SERVICE }),
  metrics: new EmfMetricsPublisher(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE })),
  allowLogSampleRate: config.allowLogSampleRate,
});
export const authorizer = createAuthorizer(config, {
  keySource: new DynamoSigningKeyStore(doc, config.tables.signingKeys),
  feed: new RevocationFeedReader(doc, config.tables.revocations, { onMalformed: telemetry.malformedFeedItems }),
  now: Date.now,
  onKeyRingEvent: telemetry.keyRingEvent,
  onRevocationEvent: telemetry.revocationEvent,
});
telemetry.attach(authorizer);
void authorizer.start();

export const handler = createHandler(authorizer, telemetry);
