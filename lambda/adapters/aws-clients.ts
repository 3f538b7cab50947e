/**
 * SDK clients, created once per execution environment (module scope of the caller).
 * In AWS the endpoints come from the SDK's defaults; local mode and tests set the
 * `EndpointEnv` variables so the same handlers talk to local stand-ins.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EndpointEnv } from '../../common/config';

type Environment = Readonly<Record<string, string | undefined>>;

/** Client options for one service: the SDK defaults in AWS, a local endpoint where one is set. */
export function clientOptions(service: keyof typeof EndpointEnv, env: Environment = process.env) {
  const endpoint = env[EndpointEnv[service]];
  if (!endpoint) return {};
  // Local stand-ins accept any credentials; never let a developer's real ones leave the machine.
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

export function documentClient(env: Environment = process.env): DynamoDBDocumentClient {
  const client = new DynamoDBClient(clientOptions('dynamodb', env));
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function kmsClient(env: Environment = process.env): KMSClient {
  return new KMSClient(clientOptions('kms', env));
}

export function lambdaClient(env: Environment = process.env): LambdaClient {
  return new LambdaClient(clientOptions('lambda', env));
}

export function apiGatewayClient(env: Environment = process.env): APIGatewayClient {
  return new APIGatewayClient(clientOptions('apigateway', env));
}

export function eventBridgeClient(env: Environment = process.env): EventBridgeClient {
  return new EventBridgeClient(clientOptions('events', env));
}
