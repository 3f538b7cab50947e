/**
 * `npx tollgate`: the composition root. Each command group lives in `cli/commands/` (and
 * `usage.ts`, `leak-commands.ts`, `smoke.ts`): it parses its arguments, calls one `AdminApi`
 * method (or the token endpoint) and hands the answer to a formatter; every failure
 * surfaces here as one `tollgate: …` line on stderr and a non-zero exit status.
 */
import { fstatSync } from 'node:fs';
import { type Command, CommanderError } from 'commander';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CredentialsProvider } from '../client/admin-auth';
import { ApiError } from '../client/api-errors';
import { clientsCommand } from './commands/clients';
import { keysCommand } from './commands/keys';
import { limitsCommand } from './commands/limits';
import { signingKeysCommand } from './commands/signing-keys';
import { tokenCommand, tokensCommand } from './commands/tokens';
import { idempotencyKey } from './arguments';
import { CommandGroup, type CliDeps } from './context';
import { ExitCode, exitCodeOf } from './errors';
import { leakCommands } from './leak-commands';
import { redactKeys } from './scan-redact';
import { smokeCommand } from './smoke';
import { DEFAULT_LOCAL_URL, TargetEnv } from './target';
import { addKeyResume, addResume, anomaliesCommand, usageCommand } from './usage';

export type { CliDeps } from './context';

function usageLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\s*/g, ' ');
}

export function buildProgram(deps: CliDeps): Command {
  const program = new CommandGroup('tollgate')
    .description('Operate Tollgate: API keys, access tokens, clients, client limits and signing keys.')
    .option('--url <url>', `local server URL (default: $${TargetEnv.url}, .local/state.json, ${DEFAULT_LOCAL_URL})`)
    .option('--stack <name>', 'operate a deployed stack: read its outputs, sign admin calls with AWS SigV4')
    .option('--region <region>', 'AWS region of --stack (default: the SDK’s region chain)')
    .option('--json', 'print the server’s JSON instead of tables')
    .option('--idempotency-key <key>', 'finish a change whose outcome was unknown: send it again with the Idempotency-Key its error printed', idempotencyKey)
    .exitOverride()
    // Commander's usage errors ("error: …", a suggestion on a second line) become one `tollgate: …` line.
    // Redacted: commander quotes a refused argument, which may be a key pasted in the wrong place.
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr, outputError: (message, write) => write(`tollgate: ${redactKeys(usageLine(message))}\n`) })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `\nAdmin token: $${TargetEnv.adminToken}, else .local/state.json written by \`npm start\`.\nExit status: 0 ok, 1 refused by the server (scan: a key found), 2 bad usage, 3 server unreachable, 4 internal error.`,
    );
  // Subcommands inherit exit and output settings only when added after they are set.
  const clients = clientsCommand(deps);
  addResume(deps, clients);
  const keys = keysCommand(deps);
  addKeyResume(deps, keys);
  for (const command of [
    keys,
    tokensCommand(deps),
    clients,
    limitsCommand(deps),
    usageCommand(deps),
    anomaliesCommand(deps),
    signingKeysCommand(deps),
    tokenCommand(deps),
    smokeCommand(deps),
    ...leakCommands(deps),
  ]) {
    inherit(command, program);
    program.addCommand(command);
  }
  return program;
}

function inherit(command: Command, parent: Command): void {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inherit(sub, command);
}

/** Runs one CLI invocation; resolves to the exit status. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  try {
    await buildProgram(deps).parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error);
    // Every failure line is redacted: an error may quote a path or an argument that holds a key (a failed stat of it).
    const exitCode = exitCodeOf(error);
    if (exitCode !== undefined) {
      // The hint's Idempotency-Key is the operator's own or a UUID, never a key, and must stay whole to be used.
      deps.stderr(`${redactKeys(`tollgate: ${(error as Error).message}`)}${rerunHint(error)}\n`);
      return exitCode;
    }
    deps.stderr(redactKeys(`tollgate: unexpected error: ${(error as Error).message}\n`));
    return ExitCode.internal;
  }
}

/** For a change whose outcome is unknown once the retries were spent: how to finish it exactly once. */
function rerunHint(error: unknown): string {
  const key = error instanceof ApiError ? error.idempotencyKey : undefined;
  return key === undefined
    ? ''
    : ` — the change may or may not have been made: run the same command again with --idempotency-key ${key} to make it exactly once`;
}

/** Commander has already printed help or the usage error. */
function commanderExit(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
  return ExitCode.usage;
}

/** Whether descriptor 0 is a pipe, a socket or a regular file (see `CliDeps.stdinIsPiped`). */
function stdinIsPiped(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket() || stat.isFile();
  } catch {
    return false;
  }
}

/** The real process: stdio, environment, working directory, AWS SDK defaults. */
export function nodeDeps(): CliDeps {
  let credentials: CredentialsProvider | undefined;
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    fetch: (input, init) => fetch(input, init),
    stdinIsTty: process.stdin.isTTY === true,
    stdinIsPiped: stdinIsPiped(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdinBytes: () => process.stdin,
    cloudFormation: (region) => new CloudFormationClient(region === undefined ? {} : { region }),
    // Loaded on first use: the credential chain is only needed for --stack.
    credentials: () => async () => {
      credentials ??= (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
      return credentials();
    },
  };
}
