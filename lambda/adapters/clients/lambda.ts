import { LambdaClient } from '@aws-sdk/client-lambda';
import { clientOptions, type Environment } from './options';

export function lambdaClient(env: Environment = process.env): LambdaClient {
  return new LambdaClient(clientOptions('lambda', env));
}
