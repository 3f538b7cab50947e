/**
 * The local gateway's listening socket, bound before the gateway exists. Local mode needs the
 * gateway's address first (the issuer URL its functions read at import), and a port picked
 * free and released would be open to any other process until the gateway bound it, seconds
 * later: CI once lost a start that way.
 */
import { createServer, type Server } from 'node:http';

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

/** An HTTP server bound to `host:port` (0: a port the system chooses) that answers nothing until a gateway serves on it. */
export async function bindListener(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer();
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

/** Drops open connections and stops listening; a server already closed is left as it is. */
export async function closeListener(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
