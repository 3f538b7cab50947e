/**
 * The local gateway's listening socket, bound before the gateway exists. Local mode needs the
 * gateway's address first (the issuer URL its functions read at import), and a port picked
 * free and released would be open to any other process until the gateway bound it, seconds
 * later: CI once lost a start that way.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** The port is held by someone else; nothing was bound. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(`port ${port} on ${host} is in use (by another program, or another local Tollgate)`);
    this.name = 'PortInUseError';
  }
}

/**
 * Until a gateway serves on the listener: 503 with `Retry-After`, at once, as a deployed
 * stage answers while it is not ready, instead of a request held for the whole start.
 */
export const STARTING = {
  status: 503,
  retryAfterSeconds: 1,
  body: { error: 'temporarily_unavailable', error_description: 'Tollgate is starting; retry shortly.' },
} as const;

function answerStarting(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(STARTING.status, {
    'Content-Type': 'application/json',
    'Retry-After': String(STARTING.retryAfterSeconds),
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  response.end(JSON.stringify(STARTING.body));
}

/**
 * An HTTP server bound to `host:port` (0: a port the system chooses) that answers every
 * request {@link STARTING} until a gateway serves on it ({@link serveFrom}).
 */
export async function bindListener(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer(answerStarting);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, host);
    throw error;
  }
  return server;
}

/** Hands the listener's requests to `serve` from now on. */
export function serveFrom(server: Server, serve: (request: IncomingMessage, response: ServerResponse) => void): void {
  server.off('request', answerStarting);
  server.on('request', serve);
}

/** Drops open connections and stops listening; a server already closed is left as it is. */
export async function closeListener(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
