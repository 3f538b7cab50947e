/**
 * Lambda entry point: `POST /secret-scanning/github` and `POST /leaks/revoke`. API Gateway's proxy event in, the response out;
 * `app.ts` wires the function once at cold start, `config.ts` reads its settings.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyEvent } from '../http/request';
import { lambdaLeakApp } from './app';

const app = lambdaLeakApp();

export const handler = (event: ProxyEvent): Promise<APIGatewayProxyResult> => app(event);
