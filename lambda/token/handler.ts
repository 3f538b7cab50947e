/**
 * Lambda entry point: `POST /oauth/token`, `POST /oauth/revoke`, `GET /.well-known/jwks.json`. API Gateway's proxy event in, the response out;
 * `app.ts` wires the function once at cold start, `config.ts` reads its settings.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyEvent } from '../http/request';
import { lambdaTokenApp } from './app';

const app = lambdaTokenApp();

export const handler = (event: ProxyEvent): Promise<APIGatewayProxyResult> => app(event);
