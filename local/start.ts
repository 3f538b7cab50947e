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
import { banner, type ConfiguredRoutes } from './banner';
import { replaceDemoKey } from './demo-key';
import { onStopSignal } from './signals';
import { startLocalStack, type LocalStack } from './stack';
import { isAlive, localStateDir, localStatePaths, type LocalState } from './state';

interface FileConfig {
  readonly routes?: RouteRule[];
  readonly unmatchedRoutes?: UnmatchedRoutes;
  readonly tokenTtlSeconds?: number;
  readonly keySpec?: KeySpec;
}

/**
 * The AWS SDK's documented switch (aws/aws-sdk-js-v3#7983) for its Node.js support warning:
 * local mode runs on the Node.js the project supports and has no SDK upgrade to miss.
 */
const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { fresh: { type: 'boolean', default: false }, config: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url)).toString().split('*/')[0]!.replace('/**', '') + '\n');
    return;
  }
  // Before the first SDK client exists (clients check once, when constructed); a user's own setting wins.
  process.env[SDK_NODE_WARNING_SWITCH] ??= 'true';
  const paths = localStatePaths(resolve(localStateDir()));
  claimPidFile(paths.pidFile);

  const config = readConfig(values.config);
  const routes = configuredRoutes(config);
  const port = parsePort(process.env.PORT);
  let stack: LocalStack | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number): Promise<void> =>
    (stopping ??= (async () => {
      process.stdout.write('stopping…\n');
      await stack?.stop();
      rmSync(paths.pidFile, { force: true });
      rmSync(paths.stateFile, { force: true });
      process.exit(code);
    })());
  onStopSignal(
    () => void shutdown(0),
    (signal) => process.stderr.write(`tollgate: ${signal} again: stopping without cleaning up\n`),
  );

  try {
    stack = await startLocalStack({
      port,
      dataDir: paths.dataDir,
      fresh: values.fresh,
      upstreamUrl: process.env.UPSTREAM_URL || undefined,
      adminToken: process.env.TOLLGATE_ADMIN_TOKEN || undefined,
      routes: routes?.rules,
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
  let apiKey: string;
  try {
    ({ apiKey } = await replaceDemoKey(stack));
  } catch (error) {
    process.stderr.write(`tollgate: ${(error as Error).message}\n`);
    await shutdown(1);
    return;
  }
  process.stdout.write(
    banner({
      url: stack.url,
      adminToken: stack.adminToken,
      apiKey,
      dynamoEndpoint: stack.dynamoEndpoint,
      kmsEndpoint: stack.kmsEndpoint,
      stateDir: localStateDir(),
      upstreamUrl: process.env.UPSTREAM_URL || undefined,
      routes,
      unmatchedRoutes: config.unmatchedRoutes,
    }),
  );
}

/** `TOLLGATE_ROUTES` wins over the config file; absent both: the default routes. */
function configuredRoutes(config: FileConfig & { readonly file?: string }): ConfiguredRoutes | undefined {
  const fromEnv = routesFromEnv();
  if (fromEnv) return { rules: fromEnv, source: Env.routes };
  return config.routes ? { rules: config.routes, source: config.file ?? 'the config file' } : undefined;
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

function readConfig(path: string | undefined): FileConfig & { readonly file?: string } {
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
  return { ...config, file };
}

await main();
