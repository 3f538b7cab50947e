import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { clientOptions, type Environment } from './options';

export function apiGatewayClient(env: Environment = process.env): APIGatewayClient {
  return new APIGatewayClient(clientOptions('apigateway', env));
}
