/**
 * The config file's `audience` and `forwardBearerToken` take effect in local mode, as in a
 * deployment: the file is checked as `npm start` checks it, its settings go to the stack as
 * `local/start.ts` hands them on, and the token's `aud` and what the echo upstream receives
 * show both applied.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { checkStartInput, parseCommandLine } from '../../local/start-input';
import { adminCall, exchangeApiKey } from '../support/local-stack-http';

describe('audience and forwardBearerToken from the config file of npm start', () => {
  let stack: LocalStack;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-local-settings-'));
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ audience: 'orders-api', forwardBearerToken: true }));
    const input = checkStartInput(parseCommandLine(['--config', file]), {});
    stack = await startLocalStack({ port: 0, dataDir: join(dir, 'state'), fresh: true, settings: input.settings, log: () => undefined });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues tokens for the audience, which the authorizer accepts, and passes the bearer token on to the upstream', async () => {
    const created = await adminCall(stack, 'POST', '/admin/clients/shop/keys', { scopes: ['orders:read'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const exchanged = await exchangeApiKey(stack.url, 'shop', String(created.body.apiKey));
    expect(exchanged.status).toBe(200);
    const token = ((await exchanged.json()) as { access_token: string }).access_token;
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({ aud: 'orders-api' });

    const answer = await fetch(`${stack.url}/orders/1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    const echoed = (await answer.json()) as { headers: Record<string, string> };
    expect(echoed.headers.authorization).toBe(`Bearer ${token}`);
  });
});
