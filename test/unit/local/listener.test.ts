/**
 * The gateway's listener, bound before the gateway exists: until a gateway serves on it, a
 * request gets 503 with `Retry-After` at once (a CLI run while `npm start` starts waits a
 * second and retries instead of hanging); afterwards the gateway answers; closing it twice is
 * harmless; a port in use is PortInUseError.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bindListener, closeListener, PortInUseError, serveFrom, STARTING } from '../../../local/listener';

const servers: import('node:http').Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await closeListener(server);
});

async function bound() {
  const server = await bindListener(0);
  servers.push(server);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the gateway listener', () => {
  it('answers 503 with Retry-After until served, then hands every request to the gateway', async () => {
    const { server, url } = await bound();
    const early = await fetch(`${url}/orders/1`, { signal: AbortSignal.timeout(5_000) });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    expect(early.headers.get('cache-control')).toBe('no-store');
    expect(await early.json()).toEqual(STARTING.body);

    serveFrom(server, (_request, response) => response.writeHead(204).end());
    const served = await fetch(`${url}/orders/1`, { signal: AbortSignal.timeout(5_000) });
    expect(served.status).toBe(204);
    expect(server.listenerCount('request')).toBe(1);
  });

  it('closes once, and a second close is a no-op', async () => {
    const { server } = await bound();
    await closeListener(server);
    expect(server.listening).toBe(false);
    await expect(closeListener(server)).resolves.toBeUndefined();
  });

  it('refuses a port in use with PortInUseError naming it', async () => {
    const { server } = await bound();
    const { port } = server.address() as AddressInfo;
    const refusal = bindListener(port);
    await expect(refusal).rejects.toBeInstanceOf(PortInUseError);
    await expect(refusal).rejects.toThrow(`port ${port} on 127.0.0.1 is in use`);
  });
});
