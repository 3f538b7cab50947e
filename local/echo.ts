/**
 * The built-in upstream of local mode: answers every request with JSON describing what it
 * received, so a user sees exactly what the gateway forwards (context headers in, bearer
 * token out).
 */
import { createServer, type Server } from 'node:http';

export interface EchoServer {
  readonly url: string;
  close(): Promise<void>;
}

/** `name` tells upstreams apart when local mode runs one per service. */
export async function startEcho(port = 0, name = 'tollgate-echo'): Promise<EchoServer> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body }, null, 2));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
