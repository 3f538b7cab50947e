/**
 * The authorizer's DynamoDB client over HTTPS, the transport it uses in AWS (every other
 * test of it runs against local endpoints over HTTP): a TLS server with a certificate made
 * for the test, and the client in a child process, since Node reads extra trusted
 * certificates (`NODE_EXTRA_CA_CERTS`) only when it starts. It signs and reads as over
 * HTTP, keeps its connection alive across calls, and refuses a server it cannot verify.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpStub, type HttpStub } from '../../support/http-stub';

const CLIENT = fileURLToPath(new URL('../../../lambda/adapters/dynamodb-http/client.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
let certFile: string;
let server: HttpStub;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  server = await startHttpStub(() => ({ status: 200, body: { Items: [{ ring: { S: 'signing-keys' }, kid: { S: 'k1' }, version: { N: '3' } }], Count: 1 } }), {
    tls: { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') },
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Two Query calls from a fresh process; what it printed, or the error it failed with. */
function queryTwice(env: Record<string, string>): Promise<{ pages?: unknown[]; error?: string }> {
  const script = `
    const { DynamoHttpClient } = await import(${JSON.stringify(CLIENT)});
    const client = new DynamoHttpClient({ endpoint: new URL(${JSON.stringify(server.url)}), region: 'eu-west-1',
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
    const result = await queryTwice({ NODE_EXTRA_CA_CERTS: certFile });
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
    const result = await queryTwice({});
    expect(result.pages).toBeUndefined();
    expect(result.error).toMatch(/certificate/i);
    expect(server.requests.length).toBe(before);
  }, 40_000);
});
