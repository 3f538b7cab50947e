/** `POST /oauth/token`, `POST /oauth/revoke`, `GET /.well-known/jwks.json`: see `app.ts`. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../common/names';
import { serviceName } from '../../common/metrics';
import { documentClient } from '../adapters/clients/dynamodb';
import { kmsClient } from '../adapters/clients/kms';
import { createTokenHandler } from './app';

export const handler = createTokenHandler({
  env: process.env,
  doc: documentClient(),
  kms: kmsClient(),
  logger: new Logger({ serviceName: serviceName('token') }),
  metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceName('token') }),
});
