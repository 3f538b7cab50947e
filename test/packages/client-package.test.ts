/**
 * `@tollgate/client` as a consumer gets it: `npm run build`, `npm pack`, an offline
 * `npm install` of the tarball into a fresh project outside the repository, then
 * - a plain-JS `.mjs` fixture, run by `node` as a child process against real local mode,
 *   exchanges a key for a token, calls a protected route, and fails over from a revoked key
 *   to the next one in the pool;
 * - a `.ts` fixture type-checks against the published declarations (nodenext, strict), and
 *   a deliberate misuse in a second file is refused, so the check is known to be able to fail.
 * Child processes run asynchronously: the stack lives in this process and must keep serving.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi } from '../../client/admin-api';
import { bearerAuth } from '../../client/admin-auth';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { buildPackAndInstall, exec, ok, REPO, type PackEntry } from '../support/packed-package';
import { tempDirs } from '../support/temp-dirs';

const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const tempDir = tempDirs('tollgate-client-package-');

/** Calls the protected route through the installed package; prints what happened as JSON. */
const CALL_FIXTURE = `import { ApiKeysRejected, TollgateClient } from '@tollgate/client';

const events = [];
const client = new TollgateClient({
  tokenUrl: process.env.TOKEN_URL,
  apiKeys: JSON.parse(process.env.API_KEYS),
  scope: 'orders:read',
  retry: { maxAttempts: 1 },
  onEvent: (event) => events.push(event),
});
try {
  const token = await client.getToken();
  const response = await client.fetch(process.env.ORDERS_URL);
  console.log(JSON.stringify({ status: response.status, tokenParts: token.split('.').length, events }));
} catch (error) {
  console.log(JSON.stringify({ error: error.name, rejectedAll: error instanceof ApiKeysRejected, events }));
}
`;

/** Uses the public API the way a TypeScript service would; must type-check cleanly. */
const TYPED_FIXTURE = `import {
  ApiKeysRejected,
  TollgateClient,
  TollgateClientError,
  TokenServiceUnavailable,
  buildTokenRequest,
  type ApiKeyCredential,
  type TollgateClientEvent,
  type TollgateClientOptions,
} from '@tollgate/client';

const keys: readonly ApiKeyCredential[] = [{ clientId: 'orders-service', apiKey: 'tg_0000000000000000000000000000000000000000000000000' }];
const options: TollgateClientOptions = {
  tokenUrl: new URL('https://api.example.com/v1/oauth/token'),
  apiKeys: keys,
  retry: { maxAttempts: 3, maxRetryAfterMs: 10_000 },
  onEvent: (event: TollgateClientEvent) => {
    if (event.type === 'key_rejected') console.log(event.keyPosition);
  },
};
export async function call(): Promise<number> {
  const client = new TollgateClient(options);
  try {
    const response: Response = await client.fetch('https://api.example.com/v1/orders/42', { method: 'GET' });
    return response.status;
  } catch (error) {
    if (error instanceof ApiKeysRejected) return -error.positions.length;
    if (error instanceof TokenServiceUnavailable) return error.status ?? 0;
    if (error instanceof TollgateClientError) return -1;
    throw error;
  }
}
export const body: string = buildTokenRequest(keys[0]!, 'orders:read').body;
`;

/** A key pool must be credentials, not bare strings: tsc has to refuse this. */
const MISUSE_FIXTURE = `import { TollgateClient } from '@tollgate/client';

export const client = new TollgateClient({ tokenUrl: 'https://api.example.com/v1/oauth/token', apiKeys: ['tg_0000000000000000000000000000000000000000000000000'] });
`;

describe('@tollgate/client, packed and installed into a fresh project', () => {
  let stack: LocalStack | undefined;
  let admin: AdminApi;
  let app: string;
  let packageDir: string;
  let packed: PackEntry;

  beforeAll(async () => {
    ({ packageDir, packed, app } = await buildPackAndInstall('client', tempDir('pack-'), tempDir('app-'), { name: 'fixture-service', type: 'module' }));
    stack = await startLocalStack({ port: 0, dataDir: tempDir('state-'), fresh: true, log: () => undefined });
    admin = new AdminApi({ baseUrl: stack.url, auth: bearerAuth(stack.adminToken) });
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('packs only dist/*, package.json, README.md and the LICENSE', async () => {
    const [dryRun] = JSON.parse(await ok('npm', ['pack', '--dry-run', '--json'], packageDir)) as [PackEntry];
    const paths = dryRun.files.map((file) => file.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
    for (const path of paths) expect(path).toMatch(/^(LICENSE|package\.json|README\.md|dist\/[^/]+\.(js|d\.ts))$/);
    expect(packed.files.map((file) => file.path).sort()).toEqual(paths);
    expect(readFileSync(join(app, 'node_modules', '@tollgate', 'client', 'LICENSE'), 'utf8')).toBe(readFileSync(join(REPO, 'LICENSE'), 'utf8'));
    console.info(`@tollgate/client tarball: ${packed.size} B packed, ${packed.unpackedSize} B unpacked, ${paths.length} files`);
  });

  it('installs with no dependencies', () => {
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', '@tollgate', 'client', 'package.json'), 'utf8'));
    expect(installed.name).toBe('@tollgate/client');
    expect(installed.dependencies).toBeUndefined();
    expect(installed.peerDependencies).toBeUndefined();
    expect(installed.optionalDependencies).toBeUndefined();
    // The fixture's lockfile: the root project and the one package, nothing pulled in with it.
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
    expect(Object.keys(lock.packages).sort()).toEqual(['', 'node_modules/@tollgate/client']);
  });

  async function callWith(apiKeys: readonly { clientId: string; apiKey: string }[]) {
    writeFileSync(join(app, 'call.mjs'), CALL_FIXTURE);
    const result = await exec(process.execPath, ['call.mjs'], app, {
      TOKEN_URL: `${stack!.url}/oauth/token`,
      ORDERS_URL: `${stack!.url}/orders/1`,
      API_KEYS: JSON.stringify(apiKeys),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  }

  it('gets a token from local mode and calls a protected route from a plain .mjs file', async () => {
    const { apiKey } = await admin.createKey('pkg-consumer', { scopes: ['orders:read'] });
    const outcome = await callWith([{ clientId: 'pkg-consumer', apiKey }]);
    expect(outcome).toMatchObject({ status: 200, tokenParts: 3 });
    expect(outcome.events).toEqual([{ type: 'token_issued', keyPosition: 0, expiresInSeconds: expect.any(Number), scope: 'orders:read' }]);
  }, 60_000);

  it('fails over from a revoked key to the next key of the pool', async () => {
    const revoked = await admin.createKey('pkg-failover', { scopes: ['orders:read'] });
    const spare = await admin.createKey('pkg-failover', { scopes: ['orders:read'] });
    await admin.revokeKey(revoked.key.keyId);
    const outcome = await callWith([
      { clientId: 'pkg-failover', apiKey: revoked.apiKey },
      { clientId: 'pkg-failover', apiKey: spare.apiKey },
    ]);
    expect(outcome.status).toBe(200);
    expect(outcome.events.map((event: { type: string; keyPosition?: number }) => [event.type, event.keyPosition])).toEqual([
      ['key_rejected', 0],
      ['token_issued', 1],
    ]);
    // With only the revoked key the pool is exhausted: the error says so.
    expect(await callWith([{ clientId: 'pkg-failover', apiKey: revoked.apiKey }])).toMatchObject({ error: 'ApiKeysRejected', rejectedAll: true });
  }, 60_000);

  const typecheck = (file: string) =>
    exec(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', file], app);

  it('type-checks a TypeScript consumer against the published declarations, and refuses a misuse', async () => {
    writeFileSync(join(app, 'service.ts'), TYPED_FIXTURE);
    writeFileSync(join(app, 'misuse.ts'), MISUSE_FIXTURE);
    const good = await typecheck('service.ts');
    expect(good.stdout + good.stderr).toBe('');
    expect(good.code).toBe(0);
    const bad = await typecheck('misuse.ts');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/misuse\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'ApiKeyCredential'/);
  }, 60_000);
});
