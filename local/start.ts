/**
 * `npm start`: runs Tollgate locally, prints what a person needs to try it, and stops
 * everything it started on Ctrl-C or SIGTERM.
 *
 *   npm start [-- --fresh] [-- --config tollgate.config.json]
 *   PORT, UPSTREAM_URL, TOLLGATE_ADMIN_TOKEN, TOLLGATE_ROUTES change the defaults.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Env, type RouteRule, type UnmatchedRoutes } from '../common/config';
import { isKeySpec, type KeySpec } from '../common/tokens';
import { startLocalStack, type LocalStack } from './stack';
import { localStateDir, localStatePaths, type LocalState } from './state';

interface FileConfig {
  readonly routes?: RouteRule[];
  readonly unmatchedRoutes?: UnmatchedRoutes;
  readonly tokenTtlSeconds?: number;
  readonly keySpec?: KeySpec;
}

const DEMO_CLIENT = 'demo';
const DEMO_SCOPES = ['orders:read'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { fresh: { type: 'boolean', default: false }, config: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url)).toString().split('*/')[0]!.replace('/**', '') + '\n');
    return;
  }
  const paths = localStatePaths(resolve(localStateDir()));
  claimPidFile(paths.pidFile);

  const config = readConfig(values.config);
  const port = parsePort(process.env.PORT);
  let stack: LocalStack | undefined;
  const shutdown = async (code: number) => {
    process.stdout.write('stopping…\n');
    await stack?.stop();
    rmSync(paths.pidFile, { force: true });
    rmSync(paths.stateFile, { force: true });
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    stack = await startLocalStack({
      port,
      dataDir: paths.dataDir,
      fresh: values.fresh,
      upstreamUrl: process.env.UPSTREAM_URL || undefined,
      adminToken: process.env.TOLLGATE_ADMIN_TOKEN || undefined,
      routes: routesFromEnv() ?? config.routes,
      unmatchedRoutes: config.unmatchedRoutes,
      tokenTtlSeconds: config.tokenTtlSeconds,
      keySpec: config.keySpec,
    });
  } catch (error) {
    process.stderr.write(`tollgate: could not start: ${(error as Error).message}\n`);
    await shutdown(1);
    return;
  }

  const state: LocalState = { url: stack.url, adminToken: stack.adminToken, pid: process.pid };
  writeFileSync(paths.stateFile, JSON.stringify(state), { mode: 0o600 });
  const apiKey = await createDemoKey(stack);
  process.stdout.write(banner(stack, apiKey, Boolean(process.env.UPSTREAM_URL)));
}

async function createDemoKey(stack: LocalStack): Promise<string> {
  const response = await fetch(`${stack.url}/admin/clients/${DEMO_CLIENT}/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ scopes: DEMO_SCOPES, description: 'demo key created by npm start' }),
  });
  const body = (await response.json()) as { apiKey?: string; error_description?: string };
  if (response.status !== 201 || !body.apiKey) throw new Error(`creating the demo key failed: ${response.status} ${body.error_description ?? ''}`);
  return body.apiKey;
}

function banner(stack: LocalStack, apiKey: string, customUpstream: boolean): string {
  const u = stack.url;
  return `
Tollgate is running locally.
  gateway        ${u}   (PORT to change)
  upstream       ${customUpstream ? process.env.UPSTREAM_URL : 'built-in echo service (UPSTREAM_URL to change)'}
  DynamoDB Local ${stack.dynamoEndpoint}
  KMS endpoint   ${stack.kmsEndpoint}
  data           ${localStateDir()}/ (npm start -- --fresh to start empty)

Admin token (admin routes; also used by \`npx tollgate\`):
  ${stack.adminToken}
Demo client "${DEMO_CLIENT}" API key (scopes: ${DEMO_SCOPES.join(' ')}; shown once):
  ${apiKey}

Try it (copy-paste into a shell):
  export TG=${u} API_KEY=${apiKey}
  # 1. exchange the API key for an access token
  TOKEN=$(curl -s -u "${DEMO_CLIENT}:$API_KEY" -d grant_type=client_credentials $TG/oauth/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  # 2. call the upstream through the gateway (200; the echo shows X-Tollgate-* headers and no bearer token)
  curl -s -H "Authorization: Bearer $TOKEN" $TG/orders/42
  # 3. a route needing a scope the token lacks (403 insufficient_scope)
  curl -si -X POST -H "Authorization: Bearer $TOKEN" $TG/orders
  # 4. revoke the token
  curl -s -u "${DEMO_CLIENT}:$API_KEY" -d "token=$TOKEN" $TG/oauth/revoke
  # 5. call again (401 invalid_token within a second or two)
  curl -si -H "Authorization: Bearer $TOKEN" $TG/orders/42
  # operator CLI
  npx tollgate keys list ${DEMO_CLIENT}

ready: listening on ${u}
`;
}

/** A second start after a crash must work: a PID file whose process is gone is stale. */
function claimPidFile(pidFile: string): void {
  mkdirSync(resolve(pidFile, '..'), { recursive: true });
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      process.stderr.write(`tollgate: already running as pid ${pid} (stop it, or delete ${pidFile} if that is not Tollgate)\n`);
      process.exit(1);
    }
  }
  writeFileSync(pidFile, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 8787;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`tollgate: PORT must be an integer from 0 to 65535, got "${raw}"\n`);
    process.exit(2);
  }
  return port;
}

function routesFromEnv(): RouteRule[] | undefined {
  const raw = process.env[Env.routes];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as RouteRule[];
  } catch (error) {
    process.stderr.write(`tollgate: ${Env.routes} is not valid JSON: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

function readConfig(path: string | undefined): FileConfig {
  const file = path ?? (existsSync('tollgate.config.json') ? 'tollgate.config.json' : undefined);
  if (!file) return {};
  let config: FileConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as FileConfig;
  } catch (error) {
    process.stderr.write(`tollgate: cannot read config file ${file}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (config.keySpec !== undefined && !isKeySpec(config.keySpec)) {
    process.stderr.write(`tollgate: ${file}: keySpec must be ECC_NIST_P256 or RSA_2048\n`);
    process.exit(2);
  }
  return config;
}

await main();
