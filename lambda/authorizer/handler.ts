/**
 * Lambda entry point of the REQUEST authorizer: API Gateway's event in, the decision's answer
 * out (`authorize.ts` maps it). `app.ts` wires the configuration, adapters and core once at
 * cold start; `config.ts` reads the settings.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authorize } from './app';

export { authorizer } from './app';

// Returns the answer's promise as it is (no `async`): a cached decision settles without an extra turn.
export const handler = (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => authorize(event);
