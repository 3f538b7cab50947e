/**
 * The authorizer's DynamoDB client over HTTPS, the transport it uses in AWS (every other
 * test of it runs against local endpoints over HTTP): a TLS server with a certificate made
 * for the test, and the client in a child process, since Node reads extra trusted
 * certificates (`NODE_EXTRA_CA_CERTS`) only when it starts. It signs and reads as over
 * HTTP, keeps its connection alive across calls, refuses a server it cannot verify (an
 * unknown issuer, or a certificate for another name), and counts the TLS handshake in its
 * connect timeout.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoHttpClient, type DynamoHttpError } from '../../../lambda/adapters/dynamodb-http/client';
import { ringQuery } from '../../../lambda/adapters/signing-key-reader';
import { startHttpStub, type HttpStub } from '../../support/http-stub';

const CLIENT = fileURLToPath(new URL('../../../lambda/adapters/dynamodb-http/client.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
let certFile: string;
let server: HttpStub;
/** Serves a certificate for 127.0.0.2, trusted like the first: right issuer, wrong name. */
let otherNameCertFile: string;
let otherNameServer: HttpStub;

/** A self-signed P-256 certificate for `ip`, as PEM files in the test's folder. */
function certificate(name: string, ip: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, `${name}.key.pem`);
  const file = join(dir, `${name}.cert.pem`);
  const subject = ['-subj', `/CN=${ip}`, '-addext', `subjectAltName=IP:${ip}`];
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...key, '-days', '1', ...subject, '-keyout', keyFile, '-out', file], { stdio: 'ignore' });
  return { keyFile, certFile: file };
}

const RING_ANSWER = { status: 200, body: { Items: [{ ring: { S: 'signing-keys' }, kid: { S: 'k1' }, version: { N: '3' } }], Count: 1 } };
const tlsOf = (files: { keyFile: string; certFile: string }) => ({
  tls: { key: readFileSync(files.keyFile, 'utf8'), cert: readFileSync(files.certFile, 'utf8') },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  const own = certificate('own', '127.0.0.1');
  certFile = own.certFile;
  server = await startHttpStub(() => RING_ANSWER, tlsOf(own));
  const other = certificate('other', '127.0.0.2');
  otherNameCertFile = other.certFile;
  otherNameServer = await startHttpStub(() => RING_ANSWER, tlsOf(other));
});

afterAll(async () => {
  await server?.close();
  await otherNameServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Two Query calls to `url` from a fresh process; what it printed, or the error it failed with. */
function queryTwice(url: string, env: Record<string, string>): Promise<{ pages?: unknown[]; error?: string }> {
  const script = `
    const { DynamoHttpClient } = await import(${JSON.stringify(CLIENT)});
    const client = new DynamoHttpClient({ endpoint: new URL(${JSON.stringify(url)}), region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
    const input = { TableName: 'ring-table', KeyConditionExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'ring' },
      ExpressionAttributeValues: { ':r': 'signing-keys' } };
    try {
      const pages = [await client.query(input), await client.query(input)];
      process.stdout.write(JSON.stringify({ pages }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: error.name + ': ' + error.message }));
    } finally {
      client.destroy();
    }`;
  const { NODE_EXTRA_CA_CERTS: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 && out !== '' ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`)))),
  );
}

describe('DynamoHttpClient over HTTPS', () => {
  it('signs each Query, reads the answer, and sends both over one kept-alive TLS connection', async () => {
    const before = server.requests.length;
    const result = await queryTwice(server.url, { NODE_EXTRA_CA_CERTS: certFile });
    expect(result.error).toBeUndefined();
    expect(result.pages).toEqual([{ Items: [{ ring: 'signing-keys', kid: 'k1', version: 3 }] }, { Items: [{ ring: 'signing-keys', kid: 'k1', version: 3 }] }]);
    const requests = server.requests.slice(before);
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.headers['x-amz-target']).toBe('DynamoDB_20120810.Query');
      expect(request.headers.host).toBe(new URL(server.url).host);
      expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, /);
      expect(JSON.parse(request.body)).toMatchObject({ TableName: 'ring-table', ExpressionAttributeValues: { ':r': { S: 'signing-keys' } } });
    }
    expect(requests[1]!.connection).toBe(requests[0]!.connection);
  }, 40_000);

  it('refuses a server whose certificate it cannot verify, and sends it nothing', async () => {
    const before = server.requests.length;
    const result = await queryTwice(server.url, {});
    expect(result.pages).toBeUndefined();
    expect(result.error).toMatch(/certificate/i);
    expect(server.requests.length).toBe(before);
  }, 40_000);

  it('refuses a trusted certificate issued for another name, and sends it nothing', async () => {
    const result = await queryTwice(otherNameServer.url, { NODE_EXTRA_CA_CERTS: otherNameCertFile });
    expect(result.pages).toBeUndefined();
    expect(result.error).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|not in the cert's list/);
    expect(otherNameServer.requests).toEqual([]);
  }, 40_000);

  it("counts the TLS handshake in the connect timeout: a server that never answers the client's hello", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = new DynamoHttpClient({
      endpoint: new URL(`https://127.0.0.1:${port}`),
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      connectTimeoutMs: 200,
      timeoutMs: 10_000,
      maxAttempts: 1,
    });
    try {
      const error = (await client.query(ringQuery('ring-table')).then(
        () => expect.unreachable('the call succeeded'),
        (failure: unknown) => failure,
      )) as DynamoHttpError;
      expect(sockets).toHaveLength(1);
      expect(error.name).toBe('TimeoutError');
      expect(error.message).toBe('connecting took longer than 200 ms');
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
