/** `POST /oauth/token`, `POST /oauth/revoke`, `GET /.well-known/jwks.json`: see `app.ts`. */
import { Logger } from '@aws-lambda-powertools/logger';
import { documentClient, kmsClient } from '../adapters/aws-clients';
import { createTokenHandler } from './app';

export const handler = createTokenHandler({
  env: process.env,
  doc: documentClient(),
  kms: kmsClient(),
  logger: new Logger({ serviceName: 'tollgate-token' }),
});
