/**
 * The leak function's edge, without a database (every case here is decided before the first
 * read): an unreachable key list is 503 (GitHub retries), a refused signature 401 and counted,
 * a bad setting fails the cold start naming the variable; and the key-list fetch is bounded in
 * time and size against a loopback server.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GitHubHeader, LeakLimits, LeakPath } from '../../../common/leaks';
import { Metric } from '../../../common/metrics';
import { tableEnvironment, tableNames } from '../../../local/dynamodb';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { httpKeyList } from '../../../lambda/adapters/github-key-list';
import type { KeyListSource } from '../../../lambda/core/leaks/github-signature';
import { createLeakHandler } from '../../../lambda/leaks/app';
import { keysUrlFrom } from '../../../lambda/leaks/config';
import { apiEvent } from '../../support/api-events';
import { startHttpStub, type HttpStub } from '../../support/http-stub';
import * as Setting from '../../../common/settings';

const stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

// Nothing listens there: a test that reached DynamoDB would fail loudly.
const env = { ...tableEnvironment(tableNames('unit-')), TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };

function handler(keyList: KeyListSource) {
  const metrics = new Map<string, number>();
  const handle = createLeakHandler({
    env,
    doc: documentClient(env),
    events: new EventBridgeClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    logger: new Logger({ serviceName: 'leaks-test', logLevel: 'SILENT' }),
    metrics: { addMetric: (name, _unit, value) => void metrics.set(name, (metrics.get(name) ?? 0) + value), publishStoredMetrics: () => undefined },
    keyList,
  });
  return { handle, metrics };
}

const report = (body: string, headers: Record<string, string>) =>
  apiEvent({ method: 'POST', resource: LeakPath.github, headers: { 'Content-Type': 'application/json', ...headers }, body });

describe('the leak function edge', () => {
  it("answers 503 with Retry-After when GitHub's key list cannot be fetched, and counts no signature failure", async () => {
    const { handle, metrics } = handler(async () => {
      throw new Error('getaddrinfo ENOTFOUND');
    });
    const response = await handle(report('[]', { [GitHubHeader.keyIdentifier]: 'k', [GitHubHeader.signature]: 'MEUCIQ==' }));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(response.headers).toMatchObject({ 'Retry-After': expect.any(String) });
    expect(metrics.get(Metric.leakSignatureFailures)).toBeUndefined();
  });

  it('answers 401 invalid_signature and counts it, whatever the body holds', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const { handle, metrics } = handler(async () => ({
      public_keys: [{ key_identifier: 'k', key: publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    }));
    const body = '[{"token":"tg_x","type":"t"}]';
    const forged = sign('sha256', Buffer.from(body), { key: other.privateKey, dsaEncoding: 'der' }).toString('base64');
    const attempts: Array<Record<string, string>> = [
      {},
      { [GitHubHeader.keyIdentifier]: 'k', [GitHubHeader.signature]: forged },
      { [GitHubHeader.keyIdentifier]: 'nope', [GitHubHeader.signature]: forged },
    ];
    for (const headers of attempts) {
      const response = await handle(report(body, headers));
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toEqual({
        error: 'invalid_signature',
        error_description: 'The request is not signed by a key GitHub lists for secret scanning.',
      });
    }
    expect(metrics.get(Metric.leakSignatureFailures)).toBe(3);
  });

  it('refuses an oversize body before anything else, base64-encoded or not', async () => {
    const { handle } = handler(async () => {
      throw new Error('must not be fetched');
    });
    const big = 'x'.repeat(LeakLimits.maxBodyBytes + 1);
    for (const base64 of [false, true]) {
      const response = await handle(
        apiEvent({ method: 'POST', resource: LeakPath.github, headers: { 'Content-Type': 'application/json' }, body: big, base64 }),
      );
      expect(response.statusCode).toBe(400);
    }
  });

  it('fails the cold start on a bad secretScanningKeysUrl, naming the variable', () => {
    expect(keysUrlFrom({})).toBe('https://api.github.com/meta/public_keys/secret_scanning');
    expect(() => keysUrlFrom({ [Setting.secretScanningKeysUrl.env]: 'ftp://x' })).toThrow(
      /environment variable TOLLGATE_SECRET_SCANNING_KEYS_URL must be an http/,
    );
  });
});

describe('httpKeyList', () => {
  it('reads the list, and refuses a non-2xx answer, an oversize list and a server slower than the timeout', async () => {
    const list = { public_keys: [{ key_identifier: 'k', key: 'pem', is_current: true }] };
    let answer: () => Promise<{ status: number; body?: unknown }> = async () => ({ status: 200, body: list });
    const stub = await startHttpStub(() => answer());
    stubs.push(stub);
    const source = httpKeyList(`${stub.url}/meta/public_keys/secret_scanning`, 300);
    expect(await source()).toEqual(list);

    answer = async () => ({ status: 500, body: 'oops' });
    await expect(source()).rejects.toThrow(/answered 500/);
    answer = async () => ({ status: 200, body: { public_keys: [], padding: 'x'.repeat(LeakLimits.maxKeyListBytes) } });
    await expect(source()).rejects.toThrow(/larger than/);
    answer = () => new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: list }), 2000));
    // The server does answer, correctly, after 2 s: only the 300 ms bound makes this fail.
    await expect(source()).rejects.toThrow(/timeout|aborted/i);
  });

  it('stops reading an answer without Content-Length once it passes the bound, instead of buffering it whole', async () => {
    // Chunked, endless until the client goes away (at most 64 MiB): only a counted read stops early.
    let sent = 0;
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await expect(httpKeyList(`http://127.0.0.1:${port}/keys`, 10_000)()).rejects.toThrow(/larger than/);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The bound plus what socket buffers held when the client cancelled: far below what was on offer.
      expect(sent).toBeLessThan(8 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
