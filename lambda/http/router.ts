/**
 * Dispatch of a REST proxy event on `resource` + `httpMethod` (the route API Gateway
 * matched), wrapped so every outcome is a shaped response: typed errors go through the one
 * mapper, and nothing escapes to API Gateway as an unshaped 500.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ErrorCode, MethodNotAllowed, NotFound } from '../core/shared/issuance-errors';
import { errorResponse, type ErrorLogger } from './errors';
import type { ProxyEvent } from './request';

export type RouteHandler = (event: ProxyEvent) => Promise<APIGatewayProxyResult>;
export type RouteTable = Readonly<Record<string, Readonly<Record<string, RouteHandler>>>>;

export function route(event: ProxyEvent, routes: RouteTable): RouteHandler {
  const methods = Object.hasOwn(routes, event.resource) ? routes[event.resource] : undefined;
  if (!methods) throw new NotFound(ErrorCode.notFound, 'No route serves this method and path.');
  const handler = Object.hasOwn(methods, event.httpMethod) ? methods[event.httpMethod] : undefined;
  if (!handler) throw new MethodNotAllowed(Object.keys(methods));
  return handler;
}

export function proxyHandler(routes: RouteTable, log: ErrorLogger): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    try {
      return await route(event, routes)(event);
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}
