/** `POST /secret-scanning/github` and `POST /leaks/revoke`: see `app.ts`. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../common/names';
import { serviceName } from '../../common/metrics';
import { documentClient } from '../adapters/clients/dynamodb';
import { eventBridgeClient } from '../adapters/clients/eventbridge';
import { createLeakHandler } from './app';

export const handler = createLeakHandler({
  env: process.env,
  doc: documentClient(),
  events: eventBridgeClient(),
  logger: new Logger({ serviceName: serviceName('leaks') }),
  metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceName('leaks') }),
});
