/**
 * Realistic API Gateway REST proxy events (payload format 1.0) for calling the token and
 * admin handlers directly, shaped as API Gateway sends them: `resource` is the matched
 * route template, `path` the concrete path, headers in single- and multi-value maps.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface ApiRequest {
  readonly method: string;
  /** Route template, e.g. `/admin/keys/{keyId}`. */
  readonly resource: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string;
  /** Send the body base64-encoded, as API Gateway does for binary media types. */
  readonly base64?: boolean;
  /** The SigV4 signer of an IAM-authorized route, as API Gateway puts it in `$context.identity`. */
  readonly signer?: Signer;
}

export interface Signer {
  readonly userArn: string;
  readonly accountId: string;
  readonly caller: string;
}

/** The operator every `adminCall` is signed by unless it names another. */
export const OPERATOR: Signer = {
  userArn: 'arn:aws:sts::123456789012:assumed-role/tollgate-operator/alice',
  accountId: '123456789012',
  caller: 'AROAEXAMPLEOPERATOR01:alice',
};

function multi(values: Readonly<Record<string, string | readonly string[]>> | undefined) {
  if (!values || Object.keys(values).length === 0) return { single: null, multi: null };
  const multiValue = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, typeof value === 'string' ? [value] : [...value]]));
  // API Gateway's single-value map holds the last value of a repeated parameter.
  const single = Object.fromEntries(Object.entries(multiValue).map(([key, value]) => [key, value[value.length - 1] ?? '']));
  return { single, multi: multiValue };
}

export function apiEvent(request: ApiRequest): APIGatewayProxyEvent {
  const path = request.resource.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(request.pathParameters?.[name] ?? ''));
  const headers = { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'User-Agent': 'vitest', ...request.headers };
  const query = multi(request.query);
  const body = request.body === undefined ? null : request.base64 ? Buffer.from(request.body).toString('base64') : request.body;
  return {
    resource: request.resource,
    path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([key, value]) => [key, [value]])),
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters: request.pathParameters ? { ...request.pathParameters } : null,
    stageVariables: null,
    body,
    isBase64Encoded: Boolean(request.base64 && request.body !== undefined),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: null,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: randomUUID(),
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: request.signer?.accountId ?? null,
        apiKey: null,
        apiKeyId: null,
        caller: request.signer?.caller ?? null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: null,
        userAgent: 'vitest',
        userArn: request.signer?.userArn ?? null,
      },
      path: `/v1${path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: new Date().toUTCString(),
      requestTimeEpoch: Date.now(),
      resourceId: 'res123',
      resourcePath: request.resource,
      stage: 'v1',
    },
  };
}

/** A form-urlencoded POST (RFC 6749 §3.2 token and revocation requests). */
export function formPost(resource: string, fields: Readonly<Record<string, string>>, headers: Readonly<Record<string, string>> = {}): APIGatewayProxyEvent {
  return apiEvent({
    method: 'POST',
    resource,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** An admin call with an optional JSON body. */
export function adminCall(
  method: string,
  resource: string,
  pathParameters?: Readonly<Record<string, string>>,
  body?: unknown,
  query?: Readonly<Record<string, string>>,
  signer: Signer = OPERATOR,
): APIGatewayProxyEvent {
  const json = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return apiEvent({
    method,
    resource,
    signer,
    ...(pathParameters ? { pathParameters } : {}),
    ...(query ? { query } : {}),
    ...(json === undefined ? {} : { body: json, headers: { 'Content-Type': 'application/json' } }),
  });
}

/** RFC 6749 §2.3.1 Basic credentials: each part form-urlencoded, then base64. */
export function basicAuth(clientId: string, secret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}
