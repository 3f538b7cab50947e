/**
 * The REQUEST authorizer, wired once per execution environment. Configuration is read and validated
 * once at cold start (a bad value fails the init, naming the variable); the key ring and
 * the revocation view start loading during init and the first requests wait for them.
 *
 * It reads DynamoDB through `DynamoHttpClient` (SigV4 over `node:https`), not the AWS SDK:
 * importing the SDK was most of the cold start (BENCHMARKS.md, P5.init), and the
 * authorizer only ever runs one kind of call, a Query. `test/unit/authorizer/bundle.test.ts`
 * fails if any `@aws-sdk/*` package reaches this bundle.
 */
import { powertoolsLogger, powertoolsMetrics } from '../adapters/clients/powertools';
import { DynamoHttpClient } from '../adapters/dynamodb-http/client';
import { dynamoHttpOptionsFrom } from '../adapters/dynamodb-http/config';
import { authorizerConfigFrom } from './config';
import { createAuthorizer } from '../core/authorizer/create-authorizer';
import { createHandler } from './authorize';
import { EmfMetricsPublisher } from './metrics-publisher';
import { authorizerSources } from './sources';
import { AuthorizerTelemetry } from './telemetry';

const config = authorizerConfigFrom(process.env);
const dynamo = new DynamoHttpClient(dynamoHttpOptionsFrom(process.env));
const telemetry = new AuthorizerTelemetry({
  log: powertoolsLogger('authorizer'),
  metrics: new EmfMetricsPublisher(powertoolsMetrics('authorizer')),
  allowLogSampleRate: config.allowLogSampleRate,
});
export const authorizer = createAuthorizer(config, {
  ...authorizerSources(dynamo, config.tables, telemetry.malformedFeedItems),
  now: Date.now,
  onKeyRingEvent: telemetry.keyRingEvent,
  onRevocationEvent: telemetry.revocationEvent,
});
telemetry.attach(authorizer);
void authorizer.start();

/** API Gateway's event → the core's decision → its answer (`authorize.ts`). */
export const authorize = createHandler(authorizer, telemetry);
