/**
 * Starts DynamoDB Local and the local KMS endpoint once per test run, on ports the system chooses as each binds, and
 * stops both when the run ends, whether tests passed or failed. Tests reach them with
 * `inject('dynamoEndpoint')` / `inject('kmsEndpoint')` (see `test/support/aws.ts`).
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb';
import { startLocalKms } from '../../local/kms';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    kmsEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A JVM start on a loaded 2-core CI host can take 15 s or more; a failure here fails the whole run.
  const [dynamo, kms] = await Promise.all([startDynamoDbLocal({ startTimeoutMs: 120_000 }), startLocalKms({ port: 0 })]);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('kmsEndpoint', kms.endpoint);
  const stopAll = async () => {
    await Promise.allSettled([dynamo.stop(), kms.close()]);
  };
  // Belt and braces: an interrupted run (Ctrl-C) still stops DynamoDB Local.
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  };
}
