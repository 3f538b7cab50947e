import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { bounded, clientOptions, type Environment } from './options';

export function dynamoDbClient(env: Environment = process.env): DynamoDBClient {
  return bounded(new DynamoDBClient(clientOptions('dynamodb', env)), 'dynamodb');
}

export function documentClient(env: Environment = process.env): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamoDbClient(env), { marshallOptions: { removeUndefinedValues: true } });
}
