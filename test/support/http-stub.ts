/**
 * A scripted HTTP server on 127.0.0.1 that records every request: the stand-in for a
 * remote service (our own HTTP API, a token endpoint, an AWS query endpoint) when a test
 * needs real HTTP between the code under test and its peer.
 */
import { createServer, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tcpState } from './ports';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query string exactly as sent. */
  readonly url: string;
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Which connection it came on, counted from 0: requests on one kept-alive connection share it. */
  readonly connection: number;
}

export interface StubResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
}

export type StubHandler = (request: RecordedRequest) => StubResponse | Promise<StubResponse>;

export interface HttpStubOptions {
  /** Serve HTTPS with this PEM key and certificate; the URL is then `https://127.0.0.1:<port>`, so the certificate must name IP 127.0.0.1. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface HttpStub {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`), no trailing slash. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startHttpStub(handler: StubHandler, options: HttpStubOptions = {}): Promise<HttpStub> {
  const requests: RecordedRequest[] = [];
  const connections = new WeakMap<Socket, number>();
  let connectionCount = 0;
  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'http://stub');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        pathname: parsed.pathname,
        query: parsed.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        connection: connections.get(req.socket) ?? -1,
      };
      requests.push(recorded);
      Promise.resolve()
        .then(() => handler(recorded))
        .then(
          (response) => send(res, response),
          (error: unknown) => send(res, { status: 599, body: { error: 'stub_failed', error_description: String(error) } }),
        );
    });
  };
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.set(socket, connectionCount);
    connectionCount += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: import('node:http').ServerResponse, response: StubResponse): void {
  const isText = typeof response.body === 'string';
  const payload = response.body === undefined ? '' : isText ? (response.body as string) : JSON.stringify(response.body);
  const headers: Record<string, string> = { ...(response.body === undefined || isText ? {} : { 'Content-Type': 'application/json' }), ...response.headers };
  res.writeHead(response.status, headers);
  res.end(payload);
}

/**
 * A URL that refuses connections, for "cannot connect" tests: a port below every system's
 * ephemeral range (Linux 32768+, macOS 49152+), so no `listen(0)` or outgoing connection of
 * the run can be given it, checked to refuse a TCP connection now (1 s at most per port) and
 * then to fail `fetch` the same way (fetch blocks some low ports as "bad": those are passed
 * over). A port bound and released instead is the system's to hand out again, to any process
 * of the run (test/integration/local-ports.test.ts).
 */
export async function closedPortUrl(): Promise<string> {
  for (let port = 1023; port > 0; port -= 1) {
    if ((await tcpState(port)) !== 'refused') continue;
    const url = `http://127.0.0.1:${port}`;
    const failure = await fetch(url).then(
      () => undefined,
      (error: Error) => error.cause as NodeJS.ErrnoException | undefined,
    );
    if (failure?.code === 'ECONNREFUSED') return url;
  }
  throw new Error('no port below 1024 on 127.0.0.1 refuses connections');
}
