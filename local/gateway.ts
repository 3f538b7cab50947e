/**
 * The local stand-in for API Gateway: routes Tollgate's own paths to the real token and
 * admin handlers, runs the real authorizer for everything else, honours its policy and
 * context as API Gateway does (result cache keyed by the Authorization header, 401 on
 * "Unauthorized", 403 on a denying policy), applies the usage plan of the authorizer's
 * `usageIdentifierKey` when usage plans are in force (403 for a key no plan holds, 429
 * when throttled or over quota), then proxies to the upstream without the bearer token
 * and with the context headers, writing one JSON access-log line per request.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { timingSafeEqual, createHash } from 'node:crypto';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { API_ROUTES, type ApiRoute } from '../common/api-routes';
import { AuthorizerContextKey, UpstreamHeader } from '../common/config';
import {
  AUTHORIZER_FAILURE,
  GATEWAY_FAILURE,
  GATEWAY_REJECTED,
  INSUFFICIENT_SCOPE,
  INVALID_TOKEN,
  INVALID_USAGE_KEY,
  NO_ROUTE,
  QUOTA_EXCEEDED,
  THROTTLED,
} from '../common/gateway-responses';
import { evaluatePolicy } from '../lambda/core/policy-evaluation';
import { authorizerEvent, headerValue, incomingCall, methodArn, proxyEvent, type IncomingCall } from './events';
import { accessLogLine, type AccessLogInput } from './access-log';
import type { UsageVerdict } from './usage-limiter';

export interface GatewayHandlers {
  readonly token: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  readonly admin: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  readonly authorizer: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
}

export interface GatewayOptions {
  readonly handlers: GatewayHandlers;
  /** Bearer token that admin routes require locally (IAM/SigV4 in AWS). */
  readonly adminToken: string;
  readonly upstreamUrl: string;
  /** Contract §2.1: the upstream does not see the client's bearer token unless configured. */
  readonly forwardBearerToken?: boolean;
  /** API Gateway's authorizer result cache TTL; 0 disables it. */
  readonly authorizerCacheTtlSeconds: number;
  readonly writeAccessLog: (line: string) => void;
  /**
   * Usage plans in force (the deployed methods' `apiKeyRequired`): decides each allowed
   * request by the authorizer's `usageIdentifierKey`. Absent: no per-client limits.
   */
  readonly usage?: { admit(usageKey: string | null | undefined): UsageVerdict };
  readonly now?: () => number;
}

/** A response API Gateway renders itself (`common/gateway-responses.ts`). */
interface Refusal {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: object;
}

/** API Gateway's payload limit for REST APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** Headers that describe one hop and must not be copied onto the next (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);
const LOCAL_OPERATOR_ARN = 'arn:aws:iam::000000000000:user/local-operator';

interface CachedDecision {
  readonly result: APIGatewayAuthorizerResult;
  readonly expiresAtMs: number;
}

interface Outcome extends Omit<AccessLogInput, 'call' | 'latencyMs'> {}

export class LocalGateway {
  private readonly authorizerCache = new Map<string, CachedDecision>();
  private readonly now: () => number;
  private readonly adminTokenDigest: Buffer;
  private server?: Server;

  constructor(private readonly options: GatewayOptions) {
    this.now = options.now ?? Date.now;
    this.adminTokenDigest = digest(options.adminToken);
  }

  /** What API Gateway's FlushStageAuthorizersCache does for the stage. */
  flushAuthorizerCache(): void {
    this.authorizerCache.clear();
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => void this.serve(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.now();
    let call: IncomingCall | undefined;
    let outcome: Outcome;
    try {
      const body = await readBody(req);
      if (body === undefined) {
        // API Gateway's own 413 (DEFAULT_4XX), with the stage's generic body.
        outcome = sendJson(res, 413, GATEWAY_REJECTED.body);
      } else {
        call = incomingCall(req, body, started);
        outcome = await this.route(call, res);
      }
    } catch (error) {
      // API Gateway's 502 (DEFAULT_5XX) tells the caller nothing about the cause; the local log does.
      this.options.writeAccessLog(JSON.stringify({ event: 'gateway_failure', error: (error as Error).message }));
      outcome = sendJson(res, 502, GATEWAY_FAILURE.body);
    }
    if (call) this.options.writeAccessLog(accessLogLine({ call, latencyMs: this.now() - started, ...outcome }));
  }

  private async route(call: IncomingCall, res: ServerResponse): Promise<Outcome> {
    const resources = API_ROUTES.filter((route) => matchResource(route.resource, call.path) !== null);
    if (resources.length > 0) {
      const route = resources.find((r) => r.method === call.method);
      if (!route) return sendJson(res, NO_ROUTE.statusCode, NO_ROUTE.body, { errorType: 'MISSING_AUTHENTICATION_TOKEN' });
      return this.invokeApiRoute(call, route, res);
    }
    return this.authorizeAndProxy(call, res);
  }

  private async invokeApiRoute(call: IncomingCall, route: ApiRoute, res: ServerResponse): Promise<Outcome> {
    if (route.auth === 'operator' && !this.isOperator(call)) {
      const body = {
        error: 'unauthorized',
        error_description: 'Admin routes need "Authorization: Bearer <admin token>"; npm start prints the token.',
      };
      return sendJson(res, 401, body, { resourcePath: route.resource, errorType: 'UNAUTHORIZED' });
    }
    const identity = route.auth === 'operator' ? { userArn: LOCAL_OPERATOR_ARN } : {};
    const event = proxyEvent(call, route.resource, matchResource(route.resource, call.path), identity);
    const handler = route.fn === 'token' ? this.options.handlers.token : this.options.handlers.admin;
    const result = await handler(event);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    res.writeHead(result.statusCode, headers);
    res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    return { status: result.statusCode, resourcePath: route.resource, integrationStatus: result.statusCode, userArn: identity.userArn };
  }

  private isOperator(call: IncomingCall): boolean {
    const match = /^Bearer\s+(\S+)$/i.exec(headerValue(call, 'authorization') ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!), this.adminTokenDigest);
  }

  private async authorizeAndProxy(call: IncomingCall, res: ServerResponse): Promise<Outcome> {
    const resourcePath = upstreamResource(call.path);
    const identitySource = headerValue(call, 'authorization');
    // API Gateway refuses a request without the identity source before invoking the authorizer.
    if (!identitySource) return { ...refuse(res, INVALID_TOKEN, 'UNAUTHORIZED'), resourcePath };
    let result: APIGatewayAuthorizerResult;
    const started = this.now();
    try {
      result = await this.authorize(call, identitySource);
    } catch (error) {
      const message = (error as Error).message;
      const authorizerLatencyMs = this.now() - started;
      if (message === 'Unauthorized') return { ...refuse(res, INVALID_TOKEN, 'UNAUTHORIZED'), resourcePath, authorizerError: message, authorizerLatencyMs };
      const extra = { resourcePath, errorType: 'AUTHORIZER_FAILURE', authorizerError: message, authorizerLatencyMs };
      return sendJson(res, AUTHORIZER_FAILURE.statusCode, AUTHORIZER_FAILURE.body, extra);
    }
    const context = stringContext(result.context);
    const decided = { resourcePath, principalId: result.principalId, context, authorizerLatencyMs: this.now() - started };
    if (evaluatePolicy(result.policyDocument, methodArn(call.method, call.path)) !== 'allow') {
      return { ...refuse(res, INSUFFICIENT_SCOPE, 'ACCESS_DENIED'), ...decided };
    }
    const verdict = this.options.usage?.admit(result.usageIdentifierKey);
    if (verdict && verdict.outcome !== 'allow') return { ...refuseUsage(res, verdict), ...decided };
    const status = await this.proxy(call, context, res);
    return { status, integrationStatus: status, ...decided };
  }

  private async authorize(call: IncomingCall, identitySource: string): Promise<APIGatewayAuthorizerResult> {
    const ttlMs = this.options.authorizerCacheTtlSeconds * 1000;
    const cached = ttlMs > 0 ? this.authorizerCache.get(identitySource) : undefined;
    if (cached && cached.expiresAtMs > this.now()) return cached.result;
    const resource = upstreamResource(call.path);
    const pathParameters = call.path === '/' ? null : { proxy: call.path.slice(1) };
    const result = await this.options.handlers.authorizer(authorizerEvent(call, resource, pathParameters));
    if (ttlMs > 0) this.authorizerCache.set(identitySource, { result, expiresAtMs: this.now() + ttlMs });
    return result;
  }

  private proxy(call: IncomingCall, context: Record<string, string>, res: ServerResponse): Promise<number> {
    const target = new URL(call.path + (call.query.size ? `?${call.query}` : ''), this.options.upstreamUrl);
    const headers: Record<string, string[]> = {};
    for (const [name, values] of call.headers) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || lower.startsWith('x-tollgate-')) continue;
      if (lower === 'authorization' && !this.options.forwardBearerToken) continue;
      headers[name] = [...values];
    }
    headers[UpstreamHeader.clientId] = [context[AuthorizerContextKey.clientId] ?? ''];
    headers[UpstreamHeader.scopes] = [context[AuthorizerContextKey.scopes] ?? ''];
    headers[UpstreamHeader.tokenId] = [context[AuthorizerContextKey.jti] ?? ''];
    if (call.body.length) headers['content-length'] = [String(call.body.length)];
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const upstream = send(target, { method: call.method, headers }, (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 502;
        const responseHeaders = Object.fromEntries(
          Object.entries(upstreamRes.headers).filter(([name]) => !HOP_BY_HOP.has(name) || name === 'content-length'),
        );
        res.writeHead(status, responseHeaders);
        upstreamRes.pipe(res);
        upstreamRes.on('end', () => resolve(status));
        upstreamRes.on('error', reject);
      });
      upstream.on('error', (error) => reject(new Error(`upstream ${this.options.upstreamUrl} unreachable: ${error.message}`)));
      upstream.end(call.body);
    });
  }
}

/** Matches an API Gateway resource path with `{name}` segments; returns the path parameters. */
export function matchResource(resource: string, path: string): Record<string, string> | null {
  const want = resource.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const segment = want[i]!;
    const actual = got[i]!;
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (actual === '') return null;
      params[segment.slice(1, -1)] = decodeURIComponent(actual);
    } else if (segment !== actual) {
      return null;
    }
  }
  return params;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function stringContext(context: APIGatewayAuthorizerResult['context']): Record<string, string> {
  return Object.fromEntries(Object.entries(context ?? {}).map(([key, value]) => [key, String(value)]));
}

function sendJson(res: ServerResponse, status: number, body: object, extra: Partial<Outcome> = {}): Outcome {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
  return { status, ...extra };
}

function refuse(res: ServerResponse, refusal: Refusal, errorType: string, headers: Readonly<Record<string, string>> = {}): Outcome {
  res.writeHead(refusal.statusCode, { ...refusal.headers, ...headers });
  res.end(JSON.stringify(refusal.body));
  return { status: refusal.statusCode, errorType };
}

/**
 * API Gateway's usage-plan refusals under their gateway-response types; locally the
 * `Retry-After` is exact (a gateway response can only carry a static one).
 */
function refuseUsage(res: ServerResponse, verdict: Exclude<UsageVerdict, { outcome: 'allow' }>): Outcome {
  if (verdict.outcome === 'invalid_key') return refuse(res, INVALID_USAGE_KEY, 'INVALID_API_KEY');
  const retryAfter = { 'Retry-After': String(verdict.retryAfterSeconds) };
  return verdict.outcome === 'throttled' ? refuse(res, THROTTLED, 'THROTTLED', retryAfter) : refuse(res, QUOTA_EXCEEDED, 'QUOTA_EXCEEDED', retryAfter);
}

/** The deployed API serves the upstream through `/` and the greedy `/{proxy+}` resource. */
function upstreamResource(path: string): string {
  return path === '/' ? '/' : '/{proxy+}';
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
