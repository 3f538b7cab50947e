/**
 * Loopback stand-ins for the AWS APIs the functions call besides DynamoDB and KMS, so
 * the real SDK clients work unchanged in local mode: Lambda `Invoke` (the admin API's
 * "rotate" runs the rotation function), API Gateway `FlushStageAuthorizersCache` (the
 * fan-out flushes the local gateway's authorizer cache), API Gateway API keys and usage
 * plans (the admin API registers clients' usage keys; see `usage-plans.ts`) and
 * EventBridge `PutEvents` (credential-hygiene events are printed). Served on a port of
 * their own, never the gateway's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { LocalUsagePlans } from './usage-plans';

export interface StandInHandlers {
  /** Lambda functions by name: the payload in, the result out; a throw is a function error. */
  readonly functions: Readonly<Record<string, (payload: unknown) => Promise<unknown>>>;
  /** Called for `DELETE /restapis/{apiId}/stages/{stage}/cache/authorizers`. */
  readonly flushAuthorizerCache: (apiId: string, stage: string) => void;
  /** Called with each PutEvents entry. */
  readonly onEvent: (entry: Record<string, unknown>) => void;
  /** API Gateway `/apikeys` and `/usageplans`; absent: those paths are 404. */
  readonly usagePlans?: LocalUsagePlans;
}

export interface StandIns {
  readonly endpoint: string;
  close(): Promise<void>;
}

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const FLUSH = /^\/restapis\/([^/]+)\/stages\/([^/]+)\/cache\/authorizers$/;

export async function startStandIns(handlers: StandInHandlers, port = 0): Promise<StandIns> {
  const server: Server = createServer((req, res) => {
    void serve(handlers, req, res).catch((error: Error) => json(res, 500, { message: error.message }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    endpoint: `http://127.0.0.1:${actualPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(handlers: StandInHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const path = url.pathname;
  const body = await readAll(req);
  const usage = handlers.usagePlans?.handle({ method: req.method ?? 'GET', path, query: url.searchParams, body });
  if (usage) {
    res.writeHead(usage.status, { ...(usage.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...usage.headers });
    res.end(usage.body === undefined ? '' : JSON.stringify(usage.body));
    return;
  }
  const invoke = INVOKE.exec(path);
  if (req.method === 'POST' && invoke) return invokeFunction(handlers, decodeURIComponent(invoke[1]!), body, res);
  const flush = FLUSH.exec(path);
  if (req.method === 'DELETE' && flush) {
    handlers.flushAuthorizerCache(decodeURIComponent(flush[1]!), decodeURIComponent(flush[2]!));
    res.writeHead(202).end();
    return;
  }
  if (req.method === 'POST' && req.headers['x-amz-target'] === 'AWSEvents.PutEvents') {
    const entries = (JSON.parse(body || '{}') as { Entries?: Record<string, unknown>[] }).Entries ?? [];
    for (const entry of entries) handlers.onEvent(entry);
    return json(res, 200, { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) }, 'application/x-amz-json-1.1');
  }
  json(res, 404, { message: `local stand-in does not serve ${req.method} ${path}` });
}

/** Lambda reports a function's own error as 200 with `X-Amz-Function-Error` and the error as payload. */
async function invokeFunction(handlers: StandInHandlers, name: string, body: string, res: ServerResponse): Promise<void> {
  const fn = handlers.functions[name];
  if (!fn) {
    res.setHeader('x-amzn-ErrorType', 'ResourceNotFoundException');
    return json(res, 404, { Type: 'User', message: `Function not found: ${name}` });
  }
  try {
    const result = await fn(body ? JSON.parse(body) : {});
    json(res, 200, result ?? null);
  } catch (error) {
    res.setHeader('X-Amz-Function-Error', 'Unhandled');
    json(res, 200, { errorType: (error as Error).name, errorMessage: (error as Error).message });
  }
}

function json(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': contentType });
  res.end(JSON.stringify(body));
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
