/**
 * Per-test access to the run's local AWS services: fresh, uniquely named tables built from
 * the shared definitions, and SDK clients pointed at the local endpoints over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables, LOCAL_AWS, localDynamoClient, tableEnvironment, tableNames } from '../../local/dynamodb';
import type { TableNames } from '../../common/tables';

export interface TestTables {
  readonly names: TableNames;
  /** Table-name environment exactly as the stack hands it to a function. */
  readonly env: Record<string, string>;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
}

export function dynamoEndpoint(): string {
  return inject('dynamoEndpoint');
}

export function kmsEndpoint(): string {
  return inject('kmsEndpoint');
}

export function dynamoClient(): DynamoDBClient {
  return localDynamoClient(dynamoEndpoint());
}

export function kmsClient(): KMSClient {
  return new KMSClient({ endpoint: kmsEndpoint(), ...LOCAL_AWS });
}

/** Creates a fresh set of every Tollgate table under a random prefix. */
export async function freshTables(): Promise<TestTables> {
  const names = tableNames(`t${randomBytes(4).toString('hex')}-`);
  const client = dynamoClient();
  await createTables(client, names);
  return {
    names,
    env: tableEnvironment(names),
    client,
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
  };
}
