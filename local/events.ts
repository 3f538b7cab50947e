/**
 * Builds the events API Gateway (REST, v1 payload) sends to Lambda, from a plain HTTP
 * request, so local mode runs the real handlers on the events they receive in AWS.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayEventRequestContextWithAuthorizer, APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/** The fake account and API a local stack pretends to be. */
export const LOCAL_API = {
  region: 'us-east-1',
  accountId: '000000000000',
  apiId: 'tollgatelocal',
  stage: 'local',
} as const;

export interface IncomingCall {
  readonly method: string;
  /** Path without the query string, percent-decoding left as API Gateway leaves it. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header name (as sent) → every value. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly requestId: string;
  readonly receivedAtMs: number;
}

export function incomingCall(request: IncomingMessage, body: Buffer, now = Date.now()): IncomingCall {
  const target = request.url ?? '/';
  const url = new URL(target, 'http://local');
  const headers = new Map<string, string[]>();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const existing = [...headers.keys()].find((key) => key.toLowerCase() === name.toLowerCase());
    headers.set(existing ?? name, [...(headers.get(existing ?? name) ?? []), raw[i + 1]!]);
  }
  return {
    method: (request.method ?? 'GET').toUpperCase(),
    // The path as sent: WHATWG URL parsing would resolve dot segments (`%2e%2e` too) and
    // turn `\` into `/`, hiding from the authorizer paths it must see to refuse them.
    path: target.startsWith('/') ? target.split('?', 1)[0]! : url.pathname,
    query: url.searchParams,
    headers,
    body,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    requestId: randomUUID(),
    receivedAtMs: now,
  };
}

export function headerValue(call: IncomingCall, name: string): string | undefined {
  for (const [key, values] of call.headers) if (key.toLowerCase() === name.toLowerCase()) return values.at(-1);
  return undefined;
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path without leading slash}` */
export function methodArn(method: string, path: string): string {
  return `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}/${method}${path}`;
}

function singleAndMulti(entries: Iterable<[string, readonly string[]]>) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  let any = false;
  for (const [name, values] of entries) {
    any = true;
    single[name] = values.at(-1)!;
    multi[name] = [...values];
  }
  return any ? { single, multi } : { single: null, multi: null };
}

function queryEntries(query: URLSearchParams): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [key, value] of query) map.set(key, [...(map.get(key) ?? []), value]);
  return map;
}

/** Proxy events carry the authorizer's context here; authorizer events and Tollgate's own routes have none. */
/** The SigV4 caller of an IAM-authorized route, as `$context.identity` names it. */
export interface SignedCaller {
  readonly userArn?: string;
  readonly accountId?: string;
  readonly caller?: string;
}

function requestContext(call: IncomingCall, resource: string, identity: SignedCaller = {}): APIGatewayEventRequestContextWithAuthorizer<undefined> {
  return {
    accountId: LOCAL_API.accountId,
    apiId: LOCAL_API.apiId,
    authorizer: undefined,
    protocol: 'HTTP/1.1',
    httpMethod: call.method,
    path: `/${LOCAL_API.stage}${call.path}`,
    stage: LOCAL_API.stage,
    requestId: call.requestId,
    requestTimeEpoch: call.receivedAtMs,
    resourceId: 'local',
    resourcePath: resource,
    identity: {
      accessKey: null,
      accountId: identity.accountId ?? null,
      apiKey: null,
      apiKeyId: null,
      caller: identity.caller ?? null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: call.sourceIp,
      user: null,
      userAgent: headerValue(call, 'user-agent') ?? null,
      userArn: identity.userArn ?? null,
    },
  };
}

/** The Lambda proxy event of a REST API method whose resource is `resource`. */
export function proxyEvent(
  call: IncomingCall,
  resource: string,
  pathParameters: Record<string, string> | null,
  identity: SignedCaller = {},
): APIGatewayProxyEvent {
  const headers = singleAndMulti(call.headers);
  const query = singleAndMulti(queryEntries(call.query));
  // API Gateway hands text bodies over as they are and binary ones base64-encoded.
  const isText = call.body.length === 0 || !call.body.includes(0);
  return {
    resource,
    path: call.path,
    httpMethod: call.method,
    headers: headers.single ?? {},
    multiValueHeaders: headers.multi ?? {},
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters,
    stageVariables: null,
    requestContext: requestContext(call, resource, identity),
    body: call.body.length === 0 ? null : isText ? call.body.toString('utf8') : call.body.toString('base64'),
    isBase64Encoded: call.body.length > 0 && !isText,
  };
}

/** The `REQUEST` authorizer event for a call to the greedy upstream resource. */
export function authorizerEvent(call: IncomingCall, resource: string, pathParameters: Record<string, string> | null): APIGatewayRequestAuthorizerEvent {
  const headers = singleAndMulti(call.headers);
  const query = singleAndMulti(queryEntries(call.query));
  return {
    type: 'REQUEST',
    methodArn: methodArn(call.method, call.path),
    resource,
    path: call.path,
    httpMethod: call.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters,
    stageVariables: null,
    requestContext: requestContext(call, resource),
  };
}
