import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { bounded, clientOptions, type Environment } from './options';

export function apiGatewayClient(env: Environment = process.env): APIGatewayClient {
  return bounded(new APIGatewayClient(clientOptions('apigateway', env)), 'api_gateway');
}
