/** Every `admin` route of `common/api-routes.ts`: see `app.ts`. */
import { Logger } from '@aws-lambda-powertools/logger';
import { apiGatewayClient } from '../adapters/clients/api-gateway';
import { documentClient } from '../adapters/clients/dynamodb';
import { lambdaClient } from '../adapters/clients/lambda';
import { createAdminHandler } from './app';

export const handler = createAdminHandler({
  env: process.env,
  doc: documentClient(),
  lambda: lambdaClient(),
  apiGateway: apiGatewayClient(),
  logger: new Logger({ serviceName: 'tollgate-admin' }),
});
