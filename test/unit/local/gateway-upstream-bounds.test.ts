/**
 * The deployed stage's HTTP proxy integration is buffered: the 29 s integration timeout covers
 * the upstream's whole answer, body included, and an answer over API Gateway's 10 MB payload
 * limit is not delivered (INTEGRATION_FAILURE, 502). The local gateway reads the whole answer
 * before it sends anything, so a client gets the answer whole or the gateway's own answer,
 * never part of the upstream's. Limits are lowered through the gateway's options where
 * waiting or sending the real ones would only slow the tests down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { GATEWAY_FAILURE, PAYLOAD_MAX_BYTES } from '../../../common/gateway-responses';
import { LOCAL_API } from '../../../local/events';
import { LocalGateway, type GatewayOptions } from '../../../local/gateway';

const ARN_PREFIX = `arn:aws:execute-api:${LOCAL_API.region}:${LOCAL_API.accountId}:${LOCAL_API.apiId}/${LOCAL_API.stage}`;
const TIMEOUT_MS = 300;
const CAP_BYTES = 64 * 1024;
/** What the dribbling upstream sends first, with its headers: it must never reach the client. */
const FIRST_CHUNK = 'partial-upstream-body ';

const authorizer = async (): Promise<APIGatewayAuthorizerResult> => ({
  principalId: 'acme',
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${ARN_PREFIX}/*` }] },
  context: { clientId: 'acme', scopes: 'orders:read', jti: 'jti-1', keyId: 'key_1', kid: 'kid-1' },
});

/**
 * The upstream: `/dribble` sends its headers and a first chunk at once, then a chunk every
 * 50 ms for ten seconds (far past the timeout, so an answer that waited for it is unmistakable
 * on a busy machine); `/bytes/<n>` sends n bytes in 16 KiB chunks without a
 * length (`?declared` with one); `/break` sends headers and part of a body, then cuts the connection.
 */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://upstream');
  if (url.pathname === '/dribble') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(FIRST_CHUNK);
    let sent = 0;
    const timer = setInterval(() => {
      sent += 1;
      if (sent === 200) {
        clearInterval(timer);
        res.end('end');
      } else res.write('.');
    }, 50);
    res.on('close', () => clearInterval(timer));
    return;
  }
  const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (bytes) {
    const total = Number(bytes[1]);
    const body = Buffer.alloc(total, 0x61);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...(url.searchParams.has('declared') && { 'Content-Length': String(total) }) });
    for (let offset = 0; offset < total; offset += 16 * 1024) res.write(body.subarray(offset, offset + 16 * 1024));
    res.end();
    return;
  }
  if (url.pathname === '/break') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '1000' });
    res.write(FIRST_CHUNK);
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  res.writeHead(404).end();
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

type Line = Record<string, unknown>;

describe('local gateway: the upstream answer within the integration timeout and the payload limit', () => {
  let upstream: Server | undefined;
  const gateways: LocalGateway[] = [];
  let lowered: string;
  let defaults: string;
  const logs: Line[] = [];

  /** A gateway in front of the upstream, its access log (failure lines aside) in `logs`. */
  async function start(upstreamUrl: string, limits: Pick<GatewayOptions, 'upstreamTimeoutMs' | 'upstreamResponseMaxBytes'>): Promise<string> {
    const gateway = new LocalGateway({
      handlers: { token: async () => ({ statusCode: 500, body: '' }), admin: async () => ({ statusCode: 500, body: '' }), authorizer },
      adminToken: 'tga_test',
      upstreamUrl,
      authorizerCacheTtlSeconds: 0,
      writeAccessLog: (line) => logs.push(JSON.parse(line) as Line),
      ...limits,
    });
    gateways.push(gateway);
    return `http://127.0.0.1:${await gateway.listen(0)}`;
  }

  beforeAll(async () => {
    upstream = createServer(upstreamHandler);
    const upstreamUrl = await listen(upstream);
    lowered = await start(upstreamUrl, { upstreamTimeoutMs: TIMEOUT_MS, upstreamResponseMaxBytes: CAP_BYTES });
    defaults = await start(upstreamUrl, {});
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await closeServer(upstream);
  });

  const call = (base: string, path: string) => fetch(`${base}${path}`, { headers: { Authorization: 'Bearer ok' } });
  const accessLine = (path: string) => logs.filter((line) => line.event === undefined && line.path === path).at(-1);
  const failureOf = (line: Line | undefined) => logs.find((l) => l.event === 'gateway_failure' && l.requestId === line?.requestId);

  it('answers 504 when the body is not complete within the timeout, though the headers came at once, and sends nothing of the body', async () => {
    const started = Date.now();
    const response = await call(lowered, '/dribble');
    const text = await response.text();
    expect(response.status).toBe(504);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(text)).toEqual(GATEWAY_FAILURE.body);
    expect(text).not.toContain(FIRST_CHUNK.trim());
    expect(Date.now() - started).toBeLessThan(5_000);
    const line = accessLine('/dribble');
    expect(line).toMatchObject({ status: 504, errorType: 'INTEGRATION_TIMEOUT', principalId: 'acme', resourcePath: '/{proxy+}' });
    expect(failureOf(line)?.error).toMatch(/did not complete its answer within 300 ms/);
  });

  it('answers 502 for a body over the limit, sent without a length, and sends nothing of it', async () => {
    const path = `/bytes/${CAP_BYTES + 1}`;
    const response = await call(lowered, path);
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(JSON.parse(text)).toEqual(GATEWAY_FAILURE.body);
    const line = accessLine(path);
    expect(line).toMatchObject({ status: 502, errorType: 'INTEGRATION_FAILURE', principalId: 'acme' });
    expect(failureOf(line)?.error).toMatch(new RegExp(`answered 200 with a body over ${CAP_BYTES} bytes`));
  });

  it('answers 502 for a body whose declared length is over the limit', async () => {
    const path = `/bytes/${CAP_BYTES + 1}?declared`;
    const response = await call(lowered, path);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual(GATEWAY_FAILURE.body);
    expect(accessLine(`/bytes/${CAP_BYTES + 1}`)).toMatchObject({ status: 502, errorType: 'INTEGRATION_FAILURE' });
  });

  it('answers a HEAD whose upstream declares a length over the limit: no body is sent, so there is nothing over it', async () => {
    const response = await fetch(`${lowered}/bytes/${CAP_BYTES + 1}?declared`, { method: 'HEAD', headers: { Authorization: 'Bearer ok' } });
    expect(response.status).toBe(200);
  });

  it('serves a body of exactly the limit whole, with its length', async () => {
    const response = await call(lowered, `/bytes/${CAP_BYTES}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(CAP_BYTES));
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(CAP_BYTES);
    expect(body.every((byte) => byte === 0x61)).toBe(true);
  });

  it("applies API Gateway's 10 MB by default: at the limit served whole, one byte over it a 502", async () => {
    const at = await call(defaults, `/bytes/${PAYLOAD_MAX_BYTES}`);
    expect(at.status).toBe(200);
    expect((await at.arrayBuffer()).byteLength).toBe(PAYLOAD_MAX_BYTES);
    const over = await call(defaults, `/bytes/${PAYLOAD_MAX_BYTES + 1}`);
    expect(over.status).toBe(502);
    expect(await over.json()).toEqual(GATEWAY_FAILURE.body);
  });

  it('answers 502 when the upstream breaks off its answer, instead of passing part of it on', async () => {
    const response = await call(lowered, '/break');
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(JSON.parse(text)).toEqual(GATEWAY_FAILURE.body);
    expect(accessLine('/break')).toMatchObject({ status: 502, errorType: 'INTEGRATION_FAILURE' });
  });
});
