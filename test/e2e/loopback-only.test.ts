/**
 * Local mode answers on loopback only (issue #14, finding 5). DynamoDB Local has no bind
 * option and, started as a plain `java -jar`, listens on every interface with no
 * authentication; local/dynamodb.ts starts it through a launcher that binds it to
 * 127.0.0.1. Proven from outside the code: the local stack is started in-process, every TCP
 * listener its process tree owns is read from the kernel's socket tables (/proc), and a
 * TCP connect to each of them through a non-loopback address of this machine must go
 * unanswered while 127.0.0.1 answers.
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoClient } from '../../local/dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { isLoopback, listeners, nonLoopbackAddresses, processTree, procNetAvailable, tcpConnect, type Listener } from '../support/listeners';
import { tempDirs } from '../support/temp-dirs';

const tempDir = tempDirs('tollgate-loopback-');
/**
 * The machine's own non-loopback addresses: connecting to one never leaves the machine
 * (the kernel delivers it locally), yet it is how another host would reach a listener.
 * A machine without one (a network-less sandbox) has no path from outside at all; there the
 * socket tables alone carry the proof (every listener bound to 127.0.0.1).
 */
const outside = nonLoopbackAddresses();

describe('local mode listens on loopback only', () => {
  let stack: LocalStack | undefined;
  let found: Listener[] = [];

  beforeAll(async () => {
    // The proof reads the kernel's socket tables; Linux (the CI platform) has them.
    if (!procNetAvailable) throw new Error('this suite needs the Linux /proc socket tables (/proc/net/tcp, /proc/self/fd)');
    stack = await startLocalStack({ port: 0, dataDir: tempDir('state-'), fresh: true, log: () => undefined });
    found = listeners(processTree(process.pid));
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('DynamoDB Local: bound to 127.0.0.1, which answers; every non-loopback address of the machine gets no answer', async () => {
    const port = Number(new URL(stack!.dynamoEndpoint).port);
    const bound = found.filter((listener) => listener.port === port);
    expect(bound.length).toBeGreaterThan(0);
    expect(bound.filter((listener) => !isLoopback(listener.address))).toEqual([]);
    const client = localDynamoClient(`http://127.0.0.1:${port}`);
    try {
      await expect(client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: expect.any(Array) });
    } finally {
      client.destroy();
    }
    for (const address of outside) expect({ address, result: await tcpConnect(address, port) }).not.toEqual({ address, result: 'connected' });
  });

  it('every TCP listener of the local stack (DynamoDB, KMS, AWS stand-ins, echo, gateway) is bound to loopback', () => {
    const ports = new Set(found.map((listener) => listener.port));
    // The ones the stack names; the stand-ins and the echo upstream are found by the scan.
    for (const url of [stack!.url, stack!.dynamoEndpoint, stack!.kmsEndpoint]) expect(ports).toContain(Number(new URL(url).port));
    expect(found.length).toBeGreaterThanOrEqual(5);
    expect(found.filter((listener) => !isLoopback(listener.address))).toEqual([]);
  });

  it('no listener of the local stack answers on a non-loopback address', async () => {
    const answered: string[] = [];
    for (const { port } of found) {
      expect(await tcpConnect('127.0.0.1', port)).toBe('connected');
      for (const address of outside) if ((await tcpConnect(address, port)) === 'connected') answered.push(`${address} port ${port}`);
    }
    expect(answered).toEqual([]);
  });

  it('stopping the stack leaves no listener and no JVM behind', async () => {
    await stack!.stop();
    stack = undefined;
    expect(listeners(processTree(process.pid))).toEqual([]);
    const java = processTree(process.pid).filter((pid) => {
      try {
        return /java/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    });
    expect(java).toEqual([]);
  });
});
