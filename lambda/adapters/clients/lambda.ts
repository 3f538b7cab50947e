import { LambdaClient } from '@aws-sdk/client-lambda';
import { DependencyBudget } from '../../../common/defaults';
import { bounded, clientOptions, type Environment } from './options';

/** Invoke runs a function: one attempt (a retry would run it again), as long as it may take. */
export function lambdaClient(env: Environment = process.env): LambdaClient {
  return bounded(new LambdaClient(clientOptions('lambda', env, { attemptTimeoutMs: DependencyBudget.invokeTimeoutMs, maxAttempts: 1 })), 'lambda');
}
