/**
 * A port picked free and then released is anyone's until it is bound again. CI once lost the
 * local stack's start that way (`listen EADDRINUSE` on the gateway's port, taken in the
 * seconds between picking it and binding it). Here a thief takes every port a server of this
 * process releases, the moment it is released: DynamoDB Local and the local stack must start
 * regardless, because neither may count on getting a released port back, and the tests' own
 * "nothing listens here" URL must still refuse.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import { Server, createServer, type AddressInfo } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { localDynamoClient, startDynamoDbLocal } from '../../local/dynamodb';
import { startLocalStack } from '../../local/stack';
import { closedPortUrl } from '../support/http-stub';
import { tempDirs } from '../support/temp-dirs';

const tempDir = tempDirs('tollgate-ports-');

/** While installed, every server this process closes has its address bound again at once by another server. */
function stealReleasedPorts(): { readonly stolen: number[]; restore(): Promise<void> } {
  const close = Server.prototype.close;
  const thieves: Server[] = [];
  const stolen: number[] = [];
  Server.prototype.close = function stealingClose(this: Server, callback?: (error?: Error) => void) {
    const address = this.address();
    return close.call(this, (error?: Error) => {
      if (address && typeof address === 'object') {
        const thief = createHttpServer((_request, response) => response.writeHead(418).end());
        thief.on('error', () => undefined); // the port was not free after all: nothing stolen
        thief.listen(address.port, address.address, () => stolen.push(address.port));
        thieves.push(thief);
      }
      callback?.(error);
    });
  };
  return {
    stolen,
    async restore() {
      Server.prototype.close = close;
      await Promise.all(thieves.map((thief) => new Promise((resolve) => thief.close(resolve))));
    },
  };
}

describe('local servers never count on a port they released', () => {
  let thief: ReturnType<typeof stealReleasedPorts> | undefined;
  afterEach(async () => {
    await thief?.restore();
    thief = undefined;
  });

  it('the thief takes a released port before its owner can bind it again', async () => {
    thief = stealReleasedPorts();
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const again = createServer();
    again.listen(port, '127.0.0.1');
    const [error] = (await once(again, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('EADDRINUSE');
    expect(thief.stolen).toEqual([port]);
  });

  it("tests' URL that refuses connections is no released port, so no other server of the run can be answering there", async () => {
    thief = stealReleasedPorts();
    const url = await closedPortUrl();
    const error = await fetch(url).then(
      () => undefined,
      (failure: Error) => failure.cause as NodeJS.ErrnoException,
    );
    expect(error?.code).toBe('ECONNREFUSED');
    expect(thief.stolen).toEqual([]);
  });

  it('DynamoDB Local binds a port the system chooses and reports it', async () => {
    thief = stealReleasedPorts();
    const dynamo = await startDynamoDbLocal({ startTimeoutMs: 120_000 });
    const client = localDynamoClient(dynamo.endpoint);
    try {
      expect(dynamo.endpoint).toBe(`http://127.0.0.1:${dynamo.port}`);
      await expect(client.send(new ListTablesCommand({ Limit: 1 }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
      expect(thief.stolen).not.toContain(dynamo.port);
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  }, 150_000);

  it('a start that fails lets its port go', async () => {
    const servers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap').length;
    const before = servers();
    // A data folder inside a file: the start fails after the gateway's port is bound.
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    await expect(startLocalStack({ port: 0, dataDir: join(file, 'state'), fresh: true, log: () => undefined })).rejects.toThrow(/ENOTDIR/);
    // A closed server's handle is gone once the event loop has run its close.
    await vi.waitFor(() => expect(servers()).toBe(before), { timeout: 2_000 });
  });

  it('the local stack serves on the port its issuer URL names', async () => {
    thief = stealReleasedPorts();
    const stack = await startLocalStack({ port: 0, dataDir: tempDir(), fresh: true, log: () => undefined });
    try {
      expect(stack.url).toBe(`http://127.0.0.1:${stack.port}`);
      const metadata = await fetch(`${stack.url}/.well-known/oauth-authorization-server`);
      expect(metadata.status).toBe(200);
      expect(((await metadata.json()) as { issuer: string }).issuer).toBe(stack.url);
    } finally {
      await stack.stop();
    }
  }, 150_000);
});
