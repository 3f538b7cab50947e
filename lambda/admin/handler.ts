/**
 * Lambda entry point: Every `admin` route of `common/api-routes.ts`. API Gateway's proxy event in, the response out;
 * `app.ts` wires the function once at cold start, `config.ts` reads its settings.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ProxyEvent } from '../http/request';
import { lambdaAdminApp } from './app';

const app = lambdaAdminApp();

export const handler = (event: ProxyEvent): Promise<APIGatewayProxyResult> => app(event);
