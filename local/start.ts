/**
 * `npm start`: runs Tollgate locally, prints what a person needs to try it, and stops
 * everything it started on Ctrl-C or SIGTERM.
 *
 *   npm start [-- [--fresh] [--config FILE] [--no-authorizer-cache] [--bundled]]
 *   PORT, UPSTREAM_URL, TOLLGATE_ADMIN_TOKEN, TOLLGATE_ROUTES change the defaults.
 *   The gateway caches authorizer results as the deployed stage does (authorizerCacheTtlSeconds
 *   in the config file, 60 s by default); --no-authorizer-cache turns that off.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { banner } from './banner';
import { bundlesDir } from './handler-code';
import { replaceDemoKey } from './demo-key';
import { onStopSignal } from './signals';
import { PortInUseError } from './listener';
import { startLocalStack, type LocalStack } from './stack';
import { checkStartInput, parseCommandLine, StartInputError, USAGE, type StartInput } from './start-input';
import { isAlive, LocalEnv, localStateDir, localStatePaths, writePrivateFile, type LocalState } from './state';

/**
 * The AWS SDK's documented switch (aws/aws-sdk-js-v3#7983) for its Node.js support warning:
 * local mode runs on the Node.js the project supports and has no SDK upgrade to miss.
 */
const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

async function main(): Promise<void> {
  let input: StartInput;
  try {
    const commandLine = parseCommandLine(process.argv.slice(2));
    if (commandLine.help) {
      process.stdout.write(
        `${readFileSync(new URL(import.meta.url))
          .toString()
          .split('*/')[0]!
          .replace('/**', '')}\n`,
      );
      return;
    }
    input = checkStartInput(commandLine, process.env);
  } catch (error) {
    // Refused before anything started or was written: one line, and the usage for a command-line mistake.
    if (!(error instanceof StartInputError)) throw error;
    process.stderr.write(`tollgate: ${error.message}\n${error.usage ? `${USAGE}\n` : ''}`);
    process.exitCode = 2;
    return;
  }
  // Before the first SDK client exists (clients check once, when constructed); a user's own setting wins.
  process.env[SDK_NODE_WARNING_SWITCH] ??= 'true';
  const paths = localStatePaths(resolve(localStateDir()));
  claimPidFile(paths.pidFile);

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
      port: input.port,
      dataDir: paths.dataDir,
      fresh: input.fresh,
      handlerCode: input.handlerCode,
      upstreamUrl: input.upstreamUrl,
      adminToken: input.adminToken,
      routes: input.routes?.rules,
      services: input.services,
      usageRetention: input.usageRetention,
      anomalySettings: input.anomalySettings,
      settings: input.settings,
    });
  } catch (error) {
    const hint = error instanceof PortInUseError ? `: stop it, or choose another port with ${LocalEnv.port}` : '';
    process.stderr.write(`tollgate: could not start: ${(error as Error).message}${hint}\n`);
    await shutdown(1);
    return;
  }

  const state: LocalState = { url: stack.url, adminToken: stack.adminToken, pid: process.pid };
  writePrivateFile(paths.stateFile, JSON.stringify(state));
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
      nodeVersion: process.versions.node,
      ...bundlesDirOf(stack.handlerModules, paths.dataDir),
      upstreamUrl: input.upstreamUrl,
      routes: input.routes,
      unmatchedRoutes: input.settings?.unmatchedRoutes,
      services: input.services,
    }),
  );
}

/** The bundles' folder when every handler was imported from it (what the banner says is true, not what was asked). */
function bundlesDirOf(modules: Readonly<Record<string, string>>, dataDir: string): { bundlesDir?: string } {
  const dir = bundlesDir(dataDir);
  return Object.values(modules).every((url) => fileURLToPath(url).startsWith(`${dir}${sep}`)) ? { bundlesDir: dir } : {};
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

await main();
