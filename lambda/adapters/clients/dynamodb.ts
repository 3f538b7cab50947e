import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientOptions, type Environment } from './options';

export function documentClient(env: Environment = process.env): DynamoDBDocumentClient {
  const client = new DynamoDBClient(clientOptions('dynamodb', env));
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
