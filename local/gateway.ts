/**
 * The local stand-in for API Gateway: routes Tollgate's own paths to the real token and
 * admin handlers, runs the real authorizer for everything else, honours its policy and
 * context as API Gateway does (result cache keyed by the identity sources, 401 on
 * "Unauthorized", 403 on a denying policy), applies the usage plan of the authorizer's
 * `usageIdentifierKey` when usage plans are in force (403 for a key no plan holds, 429
 * when throttled or over quota), then proxies to the upstream without the bearer token
 * and with the context headers, buffered within the stage's timeout and payload limit,
 * writing one JSON access-log line per request, even one whose integration failed or whose
 * headers could not be parsed. A request is routed as API Gateway REST routes it: on the
 * resource and method as one pair, so a method a Tollgate resource lacks goes on to the
 * upstream's resources.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { API_ROUTES, PROXY_PARAMETER, publicRouteThrottle, type ApiRoute, type RouteThrottle, upstreamResources } from '../common/api-routes';
import {
  MAPPED_HEADER_NAMES,
  METHOD_OVERRIDE_HEADERS,
  PATH_OVERRIDE_HEADERS,
  UpstreamHeader,
  UpstreamHeaderSource,
  type UpstreamHeaderKey,
} from '../common/gateway-contract';
import {
  AUTHORIZER_FAILURE,
  GATEWAY_FAILURE,
  GATEWAY_REJECTED,
  INSUFFICIENT_SCOPE,
  INTEGRATION_TIMEOUT_SECONDS,
  INVALID_TOKEN,
  NO_ROUTE,
  PAYLOAD_MAX_BYTES,
} from '../common/gateway-responses';
import { ACCESS_LOG_NO_VALUE } from '../common/access-log';
import { bindListener, closeListener, serveFrom } from './listener';
import { SuspensionContextKey } from '../common/usage';
import { evaluatePolicy } from '../lambda/core/authorizer/policy-evaluation';
import { AuthorizerResultCache, cacheKey } from './authorizer-cache';
import { serviceOfPath } from '../common/services';
import { authorizerEvent, headerValue, incomingCall, LOCAL_API, methodArn, proxyEvent, type IncomingCall } from './events';
import { accessLogLine } from './access-log';
import { TokenBuckets, type UsageVerdict } from './usage-limiter';
import {
  answer,
  answerHeaders,
  IntegrationTimeout,
  integrationAnswerHeaders,
  integrationErrorType,
  type Outcome,
  refuse,
  refuseUsage,
  suspendedRefusal,
} from './gateway-answers';
import { digest, matchResource, readBody, routeOf, stringContext } from './gateway-requests';
import { forward, type IntegrationLimits } from './upstream-proxy';

export interface GatewayHandlers {
  readonly token: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  readonly admin: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /** The leak function (`/secret-scanning/github`, `/leaks/revoke`); absent: the stage has no such routes, and those requests are routed as any other. */
  readonly leaks?: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  readonly authorizer: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
}

/** One service's way to its upstream, as the stage's resource tree and integration route it. */
export interface LocalUpstream {
  readonly pathPrefix: string;
  readonly stripPrefix: boolean;
  readonly upstreamUrl: string;
}

/** Where a proxied request goes: the upstream URL, and the API Gateway resource it matched. */
interface UpstreamTarget {
  readonly url: URL;
  readonly upstreamUrl: string;
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
}

export interface GatewayOptions {
  readonly handlers: GatewayHandlers;
  /** Bearer token that admin routes require locally (IAM/SigV4 in AWS). */
  readonly adminToken: string;
  /** The upstream of the single-service form (every path not Tollgate's own). */
  readonly upstreamUrl: string;
  /**
   * Several services (`common/services.ts`): a path under a service's prefix goes to that
   * service's upstream, a path under none answers 404 as the stage does (it has no
   * resource there). Absent: everything goes to `upstreamUrl`.
   */
  readonly services?: readonly LocalUpstream[];
  /** docs/api.md#what-the-upstream-receives-upstream-contract: the upstream does not see the client's bearer token unless configured. */
  readonly forwardBearerToken?: boolean;
  /** API Gateway's authorizer result cache TTL; 0 disables it. */
  readonly authorizerCacheTtlSeconds: number;
  readonly writeAccessLog: (line: string) => void;
  /**
   * Usage plans in force (the deployed methods' `apiKeyRequired`): decides each allowed
   * request by the authorizer's `usageIdentifierKey`. Absent: no per-client limits.
   */
  readonly usage?: { admit(usageKey: string | null | undefined): UsageVerdict };
  /**
   * The stage's per-method throttles of the public Tollgate routes (`publicRouteThrottle`),
   * given the deployment's `POST /oauth/token` throttle: each route's callers together share
   * one token bucket, and a request without a token is THROTTLED (429). Absent: unthrottled.
   */
  readonly stageThrottles?: { readonly tokenRoute: RouteThrottle };
  /** How long the upstream may take to complete its answer, headers and body, before a 504, as the stage's integration timeout. @default 29 s */
  readonly upstreamTimeoutMs?: number;
  /** The largest upstream answer body delivered; a larger one is a 502, as API Gateway's payload limit. @default 10 MB */
  readonly upstreamResponseMaxBytes?: number;
  readonly now?: () => number;
}

/** Headers that describe one hop and must not be copied onto the next (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);
/** Local mode's one operator, as IAM would name it: its ARN for the admin function's event, its ids for the access log. */
const LOCAL_OPERATOR = {
  arn: `arn:aws:iam::${LOCAL_API.accountId}:user/local-operator`,
  account: LOCAL_API.accountId,
  principalId: 'AIDALOCALOPERATOR0000',
} as const;
/** How long a connection refused before its request could be parsed may stay idle before it is closed. */
const UNPARSED_LINGER_MS = 5_000;

export class LocalGateway {
  private readonly authorizerCache: AuthorizerResultCache;
  private readonly now: () => number;
  private readonly adminTokenDigest: Buffer;
  private readonly integrationLimits: IntegrationLimits;
  /** The stage's Tollgate routes: those of the functions this gateway was given. */
  private readonly routes: readonly ApiRoute[];
  /** Requests being answered per socket (keep-alive, pipelining): a parse error there must not write over an answer. */
  private readonly answering = new WeakMap<Duplex, number>();
  /** The public routes' stage throttles, one bucket per method and resource. */
  private readonly routeBuckets = new TokenBuckets();
  private server?: Server;

  constructor(private readonly options: GatewayOptions) {
    this.now = options.now ?? Date.now;
    this.authorizerCache = new AuthorizerResultCache(options.authorizerCacheTtlSeconds, this.now);
    this.adminTokenDigest = digest(options.adminToken);
    this.integrationLimits = {
      timeoutMs: options.upstreamTimeoutMs ?? INTEGRATION_TIMEOUT_SECONDS * 1000,
      maxResponseBytes: options.upstreamResponseMaxBytes ?? PAYLOAD_MAX_BYTES,
    };
    this.routes = API_ROUTES.filter((route) => options.handlers[route.fn] !== undefined);
  }

  /** What API Gateway's FlushStageAuthorizersCache does for the stage. */
  flushAuthorizerCache(): void {
    this.authorizerCache.flush();
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = await bindListener(port, host);
    this.serveOn(server);
    return (server.address() as AddressInfo).port;
  }

  /** Starts answering on a server {@link bindListener} bound. */
  serveOn(server: Server): void {
    serveFrom(server, (req, res) => void this.serve(req, res));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.refuseUnparsed(error, socket));
    this.server = server;
  }

  async close(): Promise<void> {
    if (this.server) await closeListener(this.server);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.now();
    const socket = req.socket;
    this.answering.set(socket, (this.answering.get(socket) ?? 0) + 1);
    res.once('close', () => this.answering.set(socket, (this.answering.get(socket) ?? 1) - 1));
    let call: IncomingCall | undefined;
    let outcome: Outcome;
    try {
      // Read before the body: dropping a body over the limit detaches the socket, but the request is still logged.
      const received = incomingCall(req, Buffer.alloc(0), started);
      call = received;
      const body = await readBody(req);
      if (body === undefined) {
        // API Gateway's REQUEST_TOO_LARGE (413), rendered by DEFAULT_4XX with the stage's generic body.
        outcome = answer(res, 413, GATEWAY_REJECTED.body, { errorType: 'REQUEST_TOO_LARGE' });
      } else {
        call = { ...received, body };
        outcome = await this.route(call, res);
      }
    } catch (error) {
      // Integration failures are answered where the request's attribution is known; this is the gateway's own.
      outcome = this.fail(res, call, error);
    }
    if (call) this.options.writeAccessLog(accessLogLine({ call, latencyMs: this.now() - started, ...outcome }));
  }

  /**
   * API Gateway's DEFAULT_5XX answer to a failure: the generic body, 504 for an integration
   * that timed out, else 502. The caller is told nothing of the cause; the local log is, in a
   * `gateway_failure` line that the request id joins to the request's access-log line.
   */
  private fail(res: ServerResponse, call: IncomingCall | undefined, error: unknown, known: Partial<Outcome> = {}): Outcome {
    const cause = { event: 'gateway_failure', requestId: call?.requestId ?? ACCESS_LOG_NO_VALUE, error: (error as Error).message };
    this.options.writeAccessLog(JSON.stringify(cause));
    if (res.headersSent) {
      // Answers are written whole (the upstream's is buffered first), so this is a write that
      // itself failed: nothing can be said any more, and the connection is cut rather than
      // an incomplete answer ended as if it were whole.
      res.destroy();
      return { ...known, status: res.statusCode };
    }
    return answer(res, error instanceof IntegrationTimeout ? 504 : 502, GATEWAY_FAILURE.body, known);
  }

  /**
   * A request the HTTP parser refused (headers over Node's 16 KiB `maxHeaderSize`, a malformed
   * request line, a client too slow to send its headers): no request exists, so the answer is
   * written on the socket as a complete HTTP/1.1 response (Node's 'clientError' contract), in
   * the stage's generic 4xx form. Its access-log line knows only when and from where; nothing
   * that was sent is logged.
   */
  private refuseUnparsed(error: NodeJS.ErrnoException, socket: Duplex): void {
    // A reset connection cannot be answered; a socket busy with an answer must not be written over.
    if (error.code === 'ECONNRESET' || !socket.writable || (this.answering.get(socket) ?? 0) > 0) {
      socket.destroy();
      return;
    }
    const receivedAtMs = this.now();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify(GATEWAY_REJECTED.body);
    const headers = { ...answerHeaders(), 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
    const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    // The peer reads the answer and closes (Connection: close); one that keeps the socket half-open is cut.
    (socket as Socket).setTimeout(UNPARSED_LINGER_MS, () => socket.destroy());
    const call = { receivedAtMs, sourceIp: (socket as Socket).remoteAddress ?? ACCESS_LOG_NO_VALUE };
    this.options.writeAccessLog(accessLogLine({ call, status, latencyMs: this.now() - receivedAtMs, errorType: 'DEFAULT_4XX' }));
  }

  /**
   * A Tollgate route that has the request's method, else the service's upstream resources
   * (`ANY`), else MISSING_AUTHENTICATION_TOKEN: `GET /oauth/token` is the upstream's in the
   * single-service form, as in the deployed stage.
   */
  private async route(call: IncomingCall, res: ServerResponse): Promise<Outcome> {
    const route = routeOf(this.routes, call.method, call.path);
    return route ? this.invokeApiRoute(call, route, res) : this.authorizeAndProxy(call, res);
  }

  private async invokeApiRoute(call: IncomingCall, route: ApiRoute, res: ServerResponse): Promise<Outcome> {
    const throttled = this.stageThrottled(route);
    if (throttled !== undefined) return { ...refuseUsage(res, { outcome: 'throttled', retryAfterSeconds: throttled }), resourcePath: route.resource };
    if (route.auth === 'operator' && !this.isOperator(call)) {
      const body = {
        error: 'unauthorized',
        error_description: 'Admin routes need "Authorization: Bearer <admin token>"; npm start prints the token.',
      };
      return answer(res, 401, body, { resourcePath: route.resource, errorType: 'UNAUTHORIZED' });
    }
    const identity = route.auth === 'operator' ? { userArn: LOCAL_OPERATOR.arn, accountId: LOCAL_OPERATOR.account, caller: LOCAL_OPERATOR.principalId } : {};
    const event = proxyEvent(call, route.resource, matchResource(route.resource, call.path), identity);
    // The stage's routes are those of the functions given (see `routes`).
    const handler = this.options.handlers[route.fn]!;
    const known = { resourcePath: route.resource, ...(route.auth === 'operator' && { caller: LOCAL_OPERATOR }) };
    try {
      const result = await handler(event);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
      res.writeHead(result.statusCode, integrationAnswerHeaders(headers));
      res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
      return { status: result.statusCode, integrationStatus: result.statusCode, ...known };
    } catch (error) {
      // A function error or a malformed proxy result: API Gateway's 502.
      return this.fail(res, call, error, { ...known, errorType: 'INTEGRATION_FAILURE' });
    }
  }

  /** Seconds until the route's stage throttle lets a request through; undefined: it does now. */
  private stageThrottled(route: ApiRoute): number | undefined {
    const throttles = this.options.stageThrottles;
    if (throttles === undefined || route.auth !== 'public') return undefined;
    return this.routeBuckets.take(`${route.method} ${route.resource}`, publicRouteThrottle(route, throttles.tokenRoute), this.now());
  }

  private isOperator(call: IncomingCall): boolean {
    const match = /^Bearer\s+(\S+)$/i.exec(headerValue(call, 'authorization') ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!), this.adminTokenDigest);
  }

  private async authorizeAndProxy(call: IncomingCall, res: ServerResponse): Promise<Outcome> {
    const target = this.upstreamOf(call);
    // No resource of the stage matches: API Gateway answers MISSING_AUTHENTICATION_TOKEN before any authorizer.
    if (target === undefined) return answer(res, NO_ROUTE.statusCode, NO_ROUTE.body, { errorType: 'MISSING_AUTHENTICATION_TOKEN' });
    const resourcePath = target.resource;
    const key = cacheKey(call);
    // API Gateway refuses a request missing an identity source before invoking the authorizer.
    if (key === undefined) return { ...refuse(res, INVALID_TOKEN, 'UNAUTHORIZED'), resourcePath };
    let result: APIGatewayAuthorizerResult;
    const started = this.now();
    try {
      result = await this.authorize(call, key, target);
    } catch (error) {
      const message = (error as Error).message;
      const authorizerLatencyMs = this.now() - started;
      if (message === 'Unauthorized') return { ...refuse(res, INVALID_TOKEN, 'UNAUTHORIZED'), resourcePath, authorizerError: message, authorizerLatencyMs };
      const extra = { resourcePath, errorType: 'AUTHORIZER_FAILURE', authorizerError: message, authorizerLatencyMs };
      return answer(res, AUTHORIZER_FAILURE.statusCode, AUTHORIZER_FAILURE.body, extra, AUTHORIZER_FAILURE.headers);
    }
    const context = stringContext(result.context);
    const decided = { resourcePath, principalId: result.principalId, context, authorizerLatencyMs: this.now() - started };
    if (evaluatePolicy(result.policyDocument, methodArn(call.method, call.path)) !== 'allow') {
      const suspension = suspendedRefusal(res, context);
      if (suspension) return { ...suspension, ...decided, refusal: context[SuspensionContextKey.refusal] };
      return { ...refuse(res, INSUFFICIENT_SCOPE, 'ACCESS_DENIED'), ...decided };
    }
    const verdict = this.options.usage?.admit(result.usageIdentifierKey);
    if (verdict && verdict.outcome !== 'allow') return { ...refuseUsage(res, verdict), ...decided };
    try {
      const status = await this.proxy(call, context, res, target);
      return { status, integrationStatus: status, ...decided };
    } catch (error) {
      // The authorizer allowed the request: its principal and context are logged with the failure, as API Gateway logs them.
      return this.fail(res, call, error, { ...decided, errorType: integrationErrorType(error) });
    }
  }

  private async authorize(call: IncomingCall, key: string, target: UpstreamTarget): Promise<APIGatewayAuthorizerResult> {
    const cached = this.authorizerCache.get(key);
    if (cached !== undefined) return cached;
    const result = await this.options.handlers.authorizer(authorizerEvent(call, target.resource, target.pathParameters));
    this.authorizerCache.set(key, result);
    return result;
  }

  /**
   * The upstream and resource of a request, as the stage's resource tree routes it: the
   * service whose prefix the path lies under (prefix resource, or its `{proxy+}`), the path
   * appended to the upstream URL as the integration does (`{upstreamUrl}/{proxy}`, a base
   * path in the URL kept), without the prefix unless the service keeps it.
   */
  private upstreamOf(call: IncomingCall): UpstreamTarget | undefined {
    const query = call.query.size ? `?${call.query}` : '';
    // The single-service form is one service at the root that keeps the path.
    const services = this.options.services ?? [{ pathPrefix: '/', stripPrefix: false, upstreamUrl: this.options.upstreamUrl }];
    const found = serviceOfPath(services, call.path);
    if (found === undefined) return undefined;
    const { service, rest } = found;
    const prefix = service.pathPrefix === '/' ? '' : service.pathPrefix;
    const path = service.stripPrefix ? rest : `${prefix}${rest === '/' ? '' : rest}`;
    const atPrefix = rest === '/';
    const resources = upstreamResources(service.pathPrefix);
    return {
      url: new URL(`${service.upstreamUrl.replace(/\/+$/, '')}${path || '/'}${query}`),
      upstreamUrl: service.upstreamUrl,
      resource: atPrefix ? resources.prefix : resources.proxy,
      pathParameters: atPrefix ? null : { [PROXY_PARAMETER]: rest.slice(1) },
    };
  }

  /**
   * The stage's HTTP proxy integration: the upstream's whole answer is read (`forward`), then
   * sent on at once, as API Gateway buffers it; a failure on the way is answered by `fail`
   * before anything of the answer was sent.
   */
  private async proxy(call: IncomingCall, context: Record<string, string>, res: ServerResponse, destination: UpstreamTarget): Promise<number> {
    const headers: Record<string, string[]> = {};
    for (const [name, values] of call.headers) {
      const lower = name.toLowerCase();
      // As API Gateway: the names the integration maps carry its value; every other name, an
      // unmapped `X-Tollgate-*` or an `_` spelling included, passes (the authorizer refuses
      // them when it decides, not on a cached answer: docs/api.md).
      if (HOP_BY_HOP.has(lower) || MAPPED_HEADER_NAMES.has(lower)) continue;
      if (lower === 'authorization' && !this.options.forwardBearerToken) continue;
      headers[name] = [...values];
    }
    for (const key of Object.keys(UpstreamHeader) as UpstreamHeaderKey[]) {
      const source = UpstreamHeaderSource[key];
      headers[UpstreamHeader[key]] = [source === null ? '' : (context[source] ?? '')];
    }
    // As the stage's integration maps them (lib/gateway/routes.ts): overrides name the decided method, or nothing.
    for (const name of METHOD_OVERRIDE_HEADERS) headers[name] = [call.method];
    for (const name of PATH_OVERRIDE_HEADERS) headers[name] = [''];
    if (call.body.length) headers['content-length'] = [String(call.body.length)];
    const request = { url: destination.url, upstreamUrl: destination.upstreamUrl, method: call.method, headers, body: call.body };
    const upstream = await forward(request, this.integrationLimits);
    const responseHeaders = integrationAnswerHeaders(Object.fromEntries(Object.entries(upstream.headers).filter(([name]) => !HOP_BY_HOP.has(name))));
    // The length of what is sent; a HEAD, 204 or 304 answer has no body, so the upstream's own length stands.
    const bodiless = call.method === 'HEAD' || upstream.status === 204 || upstream.status === 304;
    const length = bodiless ? upstream.headers['content-length'] : String(upstream.body.length);
    res.writeHead(upstream.status, { ...responseHeaders, ...(length !== undefined && { 'content-length': length }) });
    res.end(bodiless ? undefined : upstream.body);
    return upstream.status;
  }
}
