/**
 * SDK clients, created once per execution environment (module scope of the caller).
 * In AWS the endpoints come from the SDK's defaults; local mode sets the endpoint
 * variables so the same handlers talk to DynamoDB Local and the local KMS endpoint.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { Env } from '../../common/config';

type Environment = Readonly<Record<string, string | undefined>>;

function localOverrides(endpoint: string | undefined) {
  if (!endpoint) return {};
  // Local services accept any credentials; never let a developer's real ones leave the machine.
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

export function documentClient(env: Environment = process.env): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...localOverrides(env[Env.dynamoEndpoint]) });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function kmsClient(env: Environment = process.env): KMSClient {
  return new KMSClient({ ...localOverrides(env[Env.kmsEndpoint]) });
}
