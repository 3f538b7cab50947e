/**
 * Leak response end to end on the local stack (in-process, fresh state): GitHub's
 * secret-scanning reports signed with a locally generated P-256 key that a loopback HTTP
 * server lists as GitHub's key list, and the public revocation endpoint. A reported live
 * key is revoked through the normal path, so the real authorizer refuses its tokens within
 * the usual revocation bound; refused reports change nothing.
 */
import { generateKeyPairSync, sign, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { GitHubHeader, KEY_LEAKED_DETAIL_TYPE, LeakLimits, LeakPath } from '../../common/leaks';
import { generateApiKey } from '../../lambda/core/credentials/api-keys';
import { localDynamoClient, tableNames } from '../../local/dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { startHttpStub, type HttpStub } from '../support/http-stub';
import { adminCall, exchangeApiKey } from '../support/local-stack-http';

const KEY_ID = 'e2e-github-key';

function p256() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (body: string) => sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
  };
}

describe('leak response on the local stack', () => {
  const github = p256();
  const impostor = p256();
  let keyList: HttpStub;
  let stack: LocalStack;
  let dataDir: string;
  let doc: DynamoDBDocumentClient;
  const lines: string[] = [];
  const secrets: string[] = [];

  beforeAll(async () => {
    keyList = await startHttpStub(() => ({ status: 200, body: { public_keys: [{ key_identifier: KEY_ID, key: github.pem, is_current: true }] } }));
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-leaks-'));
    // Powertools writes the audit lines to stdout; the stack's own log (events) comes through `log`.
    const capture = (chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
    stack = await startLocalStack({
      port: 0,
      dataDir,
      fresh: true,
      settings: { apiKeyPrefix: 'e2e_', secretScanningKeysUrl: `${keyList.url}/meta/public_keys/secret_scanning` },
      log: (line) => lines.push(line),
    });
    doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamoEndpoint));
  }, 120_000);

  afterAll(async () => {
    vi.restoreAllMocks();
    await stack?.stop();
    await keyList?.close();
    doc?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    // No key ever reached a log line: not the audit, not the event, not an access-log line.
    for (const secret of secrets) expect(lines.find((line) => line.includes(secret))).toBeUndefined();
  });

  const admin = (method: string, path: string, body?: unknown) => adminCall(stack, method, path, body);

  const newKey = async (clientId: string) => {
    const created = await admin('POST', `/admin/clients/${clientId}/keys`, { scopes: ['orders:read'] });
    expect(created.status).toBe(201);
    const apiKey = String(created.body.apiKey);
    // The deployment's own prefix (apiKeyPrefix), as GitHub's partner program needs.
    expect(apiKey).toMatch(/^e2e_[0-9A-Za-z]{49}$/);
    secrets.push(apiKey);
    return { apiKey, keyId: String((created.body.key as { keyId: string }).keyId) };
  };

  const exchange = (clientId: string, apiKey: string) => exchangeApiKey(stack.url, clientId, apiKey);

  const accessToken = async (clientId: string, apiKey: string) => {
    const response = await exchange(clientId, apiKey);
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  const call = (token: string) => fetch(`${stack.url}/orders/1`, { headers: { Authorization: `Bearer ${token}` } });

  /** Polls until the token is refused; the bound is the test's patience, not a speed claim (BENCHMARKS.md P4 measures it). */
  const msUntilRefused = async (token: string, boundMs = 20_000) => {
    const started = Date.now();
    while (Date.now() - started < boundMs) {
      if ((await call(token)).status === 401) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`still accepted ${boundMs} ms after the leak report`);
  };

  const report = (matches: unknown, options: { keyId?: string; signer?: (body: string) => string; contentType?: string; sentBody?: string } = {}) => {
    const body = typeof matches === 'string' ? matches : JSON.stringify(matches);
    return fetch(`${stack.url}${LeakPath.github}`, {
      method: 'POST',
      headers: {
        'Content-Type': options.contentType ?? 'application/json',
        [GitHubHeader.keyIdentifier]: options.keyId ?? KEY_ID,
        [GitHubHeader.signature]: (options.signer ?? github.sign)(body),
      },
      body: options.sentBody ?? body,
    });
  };

  const publicRevoke = (body: string, contentType = 'application/json') =>
    fetch(`${stack.url}${LeakPath.revoke}`, { method: 'POST', headers: { 'Content-Type': contentType }, body });

  const apiKeyItems = async () => {
    const { Items } = await doc.send(new ScanCommand({ TableName: tableNames('tollgate-local-').apiKeys, ConsistentRead: true }));
    return (Items ?? []).map((item) => JSON.stringify(item)).sort();
  };

  const events = () =>
    lines
      .filter((line) => line.startsWith('{"event":"eventbridge"'))
      .map((line) => JSON.parse(line) as { detailType: string; detail: Record<string, unknown> })
      .filter((entry) => entry.detailType === KEY_LEAKED_DETAIL_TYPE);

  const audits = (action: string) =>
    lines
      .filter((line) => line.includes('"audit"'))
      .map((line) => (JSON.parse(line) as { audit: Record<string, unknown> }).audit)
      .filter((audit) => audit.action === action);

  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const url = 'https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt';

  it('a valid report of a live key: true_positive, the authorizer refuses its tokens within the revocation bound, KeyLeaked event, audit line', async () => {
    const { apiKey, keyId } = await newKey('leaky');
    const token = await accessToken('leaky', apiKey);
    expect((await call(token)).status).toBe(200);

    const response = await report([{ token: apiKey, type: 'tollgate_api_key', url, source: 'content' }]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ token_hash: sha256(apiKey), token_type: 'tollgate_api_key', label: 'true_positive' }]);

    const ms = await msUntilRefused(token);
    console.info(`leaked key refused by the authorizer ${ms} ms after the report`);
    expect((await exchange('leaky', apiKey)).status).toBe(401);
    expect((await admin('GET', `/admin/keys/${keyId}`)).body.status).toBe('revoked');

    expect(events().filter((event) => event.detail.keyId === keyId)).toEqual([
      {
        event: 'eventbridge',
        detailType: KEY_LEAKED_DETAIL_TYPE,
        detail: { clientId: 'leaky', keyId, action: 'revoked', foundBy: 'github', url, source: 'content', type: 'tollgate_api_key' },
      },
    ]);
    expect(audits('key.leak_revoke').filter((audit) => audit.keyId === keyId)).toEqual([
      { action: 'key.leak_revoke', outcome: 'success', keyId, clientId: 'leaky', foundBy: 'github', url, source: 'content' },
    ]);

    // GitHub's retry of the same report: no failure, nothing new, no second event; the same
    // label (a key a leak report revoked was a real credential).
    const retry = await report([{ token: apiKey, type: 'tollgate_api_key', url, source: 'content' }]);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual([{ token_hash: sha256(apiKey), token_type: 'tollgate_api_key', label: 'true_positive' }]);
    expect(events().filter((event) => event.detail.keyId === keyId)).toHaveLength(1);
  });

  it('unknown, revoked and random tokens are false positives and change nothing', async () => {
    const revoked = await newKey('oldie');
    expect((await admin('DELETE', `/admin/keys/${revoked.keyId}`)).status).toBe(204);
    const unknown = generateApiKey(undefined, 'e2e_').apiKey;
    const otherPrefix = generateApiKey(undefined, 'acme_').apiKey;
    // The same random part and checksum as a live key, under another prefix: the hash covers the prefix.
    const live = await newKey('bystander2');
    const reprefixed = `tg_${live.apiKey.slice('e2e_'.length)}`;
    const before = { items: await apiKeyItems(), events: events().length };
    const tokens = [unknown, otherPrefix, reprefixed, revoked.apiKey, 'some_token', `tg_${'A'.repeat(49)}`];
    const response = await report(tokens.map((token) => ({ token, type: 'tollgate_api_key', url })));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(tokens.map((token) => ({ token_hash: sha256(token), token_type: 'tollgate_api_key', label: 'false_positive' })));
    expect(await apiKeyItems()).toEqual(before.items);
    expect(events()).toHaveLength(before.events);
  });

  it('refuses a bad signature, an unknown key id, a tampered body, a wrong content type and an oversize body, changing nothing', async () => {
    const { apiKey } = await newKey('guarded');
    const before = { items: await apiKeyItems(), events: events().length };
    const matches = [{ token: apiKey, type: 'tollgate_api_key', url }];
    const body = JSON.stringify(matches);
    const refusals = [
      ['bad signature', await report(matches, { signer: impostor.sign }), 401],
      ['unknown key id', await report(matches, { keyId: randomBytes(32).toString('hex') }), 401],
      ['tampered body', await report(matches, { sentBody: body.replace('"url"', '"url" ') }), 401],
      ['missing signature', await fetch(`${stack.url}${LeakPath.github}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }), 401],
      ['wrong content type', await report(matches, { contentType: 'text/plain' }), 400],
      ['not JSON', await report('[{"token":'), 400],
      ['not an array', await report({ token: apiKey }), 400],
      ['oversize', await report(' '.repeat(LeakLimits.maxBodyBytes + 1)), 400],
    ] as const;
    for (const [what, response, status] of refusals) {
      expect(response.status, what).toBe(status);
      const error = (await response.json()) as { error: string };
      expect(error.error, what).toBe(status === 401 ? 'invalid_signature' : 'invalid_request');
    }
    expect(await apiKeyItems()).toEqual(before.items);
    expect(events()).toHaveLength(before.events);
    const token = await accessToken('guarded', apiKey);
    expect((await call(token)).status).toBe(200);
  });

  it('a client configured leakResponse notify keeps its key: true_positive, one KeyLeaked event (notified), retries notify nobody', async () => {
    const { apiKey, keyId } = await newKey('fleet');
    expect((await admin('GET', '/admin/clients/fleet/leak-response')).body).toEqual({ clientId: 'fleet', leakResponse: 'revoke' });
    expect((await admin('PUT', '/admin/clients/fleet/leak-response', { leakResponse: 'notify' })).body).toEqual({ clientId: 'fleet', leakResponse: 'notify' });
    expect((await admin('PUT', '/admin/clients/fleet/leak-response', { leakResponse: 'ignore' })).status).toBe(400);
    expect((await admin('PUT', '/admin/clients/nobody/leak-response', { leakResponse: 'notify' })).status).toBe(404);

    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await report([{ token: apiKey, type: 'tollgate_api_key', url, source: 'npm' }]);
      expect(await response.json()).toEqual([{ token_hash: sha256(apiKey), token_type: 'tollgate_api_key', label: 'true_positive' }]);
    }
    expect(events().filter((event) => event.detail.keyId === keyId)).toEqual([
      {
        event: 'eventbridge',
        detailType: KEY_LEAKED_DETAIL_TYPE,
        detail: { clientId: 'fleet', keyId, action: 'notified', foundBy: 'github', url, source: 'npm', type: 'tollgate_api_key' },
      },
    ]);
    expect(audits('key.leak_notify').filter((audit) => audit.keyId === keyId)).toHaveLength(1);
    expect((await exchange('fleet', apiKey)).status).toBe(200);
  });

  it('POST /leaks/revoke answers 202 for valid, invalid and garbage input alike, and revokes only the valid', async () => {
    const live = await newKey('reported');
    const bystander = await newKey('bystander');
    const token = await accessToken('reported', live.apiKey);
    const badChecksum = `${live.apiKey.slice(0, -1)}${live.apiKey.endsWith('0') ? '1' : '0'}`;
    const answers = [
      await publicRevoke(JSON.stringify({ credentials: [live.apiKey, badChecksum, generateApiKey().apiKey, 'hello', 42, null] })),
      await publicRevoke(JSON.stringify({ credentials: [generateApiKey().apiKey] })),
      await publicRevoke('this is not json', 'text/plain'),
      await publicRevoke(JSON.stringify({ keys: [bystander.apiKey] })),
      await publicRevoke(''),
      await publicRevoke(JSON.stringify({ credentials: live.apiKey })),
    ];
    const seen = await Promise.all(answers.map(async (response) => ({ status: response.status, body: await response.text() })));
    expect(new Set(seen.map((answer) => JSON.stringify(answer)))).toEqual(new Set([JSON.stringify({ status: 202, body: '{"status":"accepted"}' })]));

    await msUntilRefused(token);
    expect((await admin('GET', `/admin/keys/${live.keyId}`)).body.status).toBe('revoked');
    expect((await admin('GET', `/admin/keys/${bystander.keyId}`)).body.status).toBe('active');
    expect(
      events()
        .filter((event) => event.detail.keyId === live.keyId)
        .map((event) => event.detail.foundBy),
    ).toEqual(['public']);

    const tooMany = await publicRevoke(JSON.stringify({ credentials: Array.from({ length: LeakLimits.maxCredentials + 1 }, () => 'x') }));
    expect(tooMany.status).toBe(400);
  });

  it('counts every key announced, once, in the LeakedKeys metric (EMF), and every refused signature in LeakSignatureFailures', () => {
    const emf = lines.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const sum = (name: string) => emf.reduce((total, entry) => total + (typeof entry[name] === 'number' ? (entry[name] as number) : 0), 0);
    expect(sum('LeakedKeys')).toBe(events().length);
    // bad signature, unknown key id, tampered body, missing signature: the refusals test's four 401s.
    expect(sum('LeakSignatureFailures')).toBe(4);
  });
});
