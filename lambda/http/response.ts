/** API Gateway REST proxy responses: JSON bodies, and the headers every response shares. */
import type { APIGatewayProxyResult } from 'aws-lambda';

export type Headers = Readonly<Record<string, string>>;

/** Credentials and tokens must not be cached by intermediaries (RFC 6749 §5.1). */
export const NO_STORE: Headers = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function json(statusCode: number, body: unknown, headers: Headers = NO_STORE): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function empty(statusCode: 200 | 204, headers: Headers = NO_STORE): APIGatewayProxyResult {
  return { statusCode, headers: { ...headers }, body: '' };
}
