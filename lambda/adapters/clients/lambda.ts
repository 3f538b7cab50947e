import { LambdaClient } from '@aws-sdk/client-lambda';
import { bounded, clientOptions, type Environment } from './options';

export function lambdaClient(env: Environment = process.env): LambdaClient {
  return bounded(new LambdaClient(clientOptions('lambda', env)), 'lambda');
}
