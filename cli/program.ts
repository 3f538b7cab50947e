/**
 * `npx tollgate`: the commander layer. Each command parses its arguments, calls one
 * `AdminApi` method (or the token endpoint) and hands the answer to a formatter; every
 * failure surfaces as one `tollgate: …` line on stderr and a non-zero exit status.
 */
import { Command, CommanderError, InvalidArgumentError, type HelpContext } from 'commander';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ApiPath, Defaults, Limits } from '../common/config';
import { QUOTA_PERIODS, type QuotaPeriod } from '../common/tables';
import { API_KEY_PATTERN } from '../common/tokens';
import { buildTokenRequest, InvalidTokenResponse, parseTokenResponse } from '../client/index';
import { AdminApi, type GrantsView, type SetLimitsInput } from '../client/admin-api';
import type { AuthStrategy, CredentialsProvider } from '../client/admin-auth';
import { UnexpectedResponse } from '../client/api-errors';
import { ApiHttp, type FetchLike } from '../client/api-http';
import { ExitCode, exitCodeOf, MissingAdminToken, UsageError } from './errors';
import { clientLimits, issuedKey, keyRecord, keysTable, rotationReport, signingKeysTable } from './format';
import { DEFAULT_API_KEY_ENV, readApiKey, type SecretInput } from './secret-input';
import { smokeCommand } from './smoke';
import { DEFAULT_LOCAL_URL, resolveTarget, TargetEnv, type Target, type TargetDeps } from './target';
import { leakCommands } from './leak-commands';
import { addResume, anomaliesCommand, usageCommand } from './usage';

export interface CliDeps extends TargetDeps, SecretInput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly fetch: FetchLike;
}

interface GlobalOptions {
  readonly url?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly json?: boolean;
}

/** What a command's action gets: its target, the output mode, and where to write. */
export class Context {
  private target?: Target;

  constructor(
    readonly deps: CliDeps,
    private readonly options: GlobalOptions,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  async connect(): Promise<Target> {
    this.target ??= await resolveTarget(this.options, this.deps);
    return this.target;
  }

  async admin(): Promise<AdminApi> {
    const target = await this.connect();
    return new AdminApi({
      baseUrl: target.baseUrl,
      auth: await this.adminAuth(target),
      fetch: this.deps.fetch,
      ...(target.unreachableHint === undefined ? {} : { unreachableHint: target.unreachableHint }),
    });
  }

  /** An HTTP client for `target` without credentials (the token endpoint, probes). */
  http(target: Target): ApiHttp {
    return new ApiHttp({
      baseUrl: target.baseUrl,
      fetch: this.deps.fetch,
      ...(target.unreachableHint === undefined ? {} : { unreachableHint: target.unreachableHint }),
    });
  }

  /**
   * Without an admin token, a server that does not answer is the problem to report (exit 3):
   * a stopped `npm start` deletes .local/state.json, the token's usual source, so "no admin
   * token" would send the operator after the wrong thing.
   */
  private async adminAuth(target: Target): Promise<AuthStrategy> {
    try {
      return target.adminAuth();
    } catch (error) {
      if (error instanceof MissingAdminToken) await this.http(target).probe();
      throw error;
    }
  }

  /** `--json`: the server's JSON; otherwise the human rendering. Empty answers print nothing in JSON mode. */
  print(value: unknown, human: () => string): void {
    if (this.json) {
      if (value !== undefined) this.deps.stdout(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    this.deps.stdout(`${human()}\n`);
  }
}

type Action<A extends unknown[]> = (context: Context, ...args: A) => Promise<void>;

/** Wraps a command's action: builds its context from the global options, passes its own arguments. */
function action<A extends unknown[]>(deps: CliDeps, run: Action<A>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    // Commander passes the positional arguments, then the command's options, then the command.
    const positional = args.slice(0, command.registeredArguments.length);
    // Every positional argument ends up in a URL path (and so in access logs): never a key.
    if (positional.some((arg) => typeof arg === 'string' && API_KEY_PATTERN.test(arg))) {
      throw new UsageError('that argument is an API key, which is a secret and never goes in a URL; nothing was sent. Give the client id, or the key id (key_…) that `keys list` shows.');
    }
    await run(new Context(deps, command.optsWithGlobals<GlobalOptions>()), ...(args.slice(0, -1) as A));
  };
}

function wholeNumber(value: string): number {
  // Ten digits hold every quota limit (up to 2^31 - 1) and stay far below 2^53; the server checks ranges.
  if (!/^\d{1,10}$/.test(value)) throw new InvalidArgumentError('must be a whole number.');
  return Number(value);
}

/** Requests per second: fractions allowed (API Gateway's `rateLimit` is a double); the server checks the range. */
function requestRate(value: string): number {
  const rate = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || !(rate > 0)) throw new InvalidArgumentError('must be a positive number of requests per second, e.g. 5 or 0.5.');
  return rate;
}

/** `a, b or c` */
function inWords(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

const PERIODS_IN_WORDS = inWords(QUOTA_PERIODS);

function quotaPeriod(value: string): QuotaPeriod {
  const period = QUOTA_PERIODS.find((candidate) => candidate === value.toUpperCase());
  if (period === undefined) throw new InvalidArgumentError(`must be ${PERIODS_IN_WORDS}.`);
  return period;
}

function scopeList(value: string): string[] {
  const scopes = value.split(/[\s,]+/).filter((scope) => scope !== '');
  if (scopes.length === 0) throw new InvalidArgumentError('name at least one scope, e.g. --scopes orders:read,orders:write.');
  return scopes;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`must be a JSON object, e.g. '{"team":"orders"}'.`);
  }
  return parsed as Record<string, unknown>;
}

function usageLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\s*/g, ' ');
}

/**
 * A command whose subcommands do the work. Commander answers a missing subcommand with the
 * whole help on stderr; a usage error here is one line that names the subcommands.
 */
class CommandGroup extends Command {
  override help(context?: HelpContext): never;
  override help(cb: (text: string) => string): never;
  override help(context?: HelpContext | ((text: string) => string)): never {
    if (typeof context === 'object' && context.error) {
      const list = inWords(this.commands.map((command) => command.name()));
      const path = [...ancestry(this)].reverse().join(' ');
      throw new UsageError(this.parent ? `${this.name()} needs a command: ${list} (see ${path} --help)` : `missing command: ${list} (see ${path} --help)`);
    }
    return typeof context === 'function' ? super.help(context) : super.help(context);
  }
}

function* ancestry(command: Command): Generator<string> {
  for (let at: Command | null = command; at !== null; at = at.parent) yield at.name();
}

function keysCommand(deps: CliDeps): Command {
  const keys = new CommandGroup('keys').description('create, list, show, roll and revoke API keys');

  keys
    .command('create')
    .description('create an API key for a client (the key is printed once)')
    .argument('<clientId>', 'the client the key belongs to (created on its first key)')
    .requiredOption('--scopes <list>', 'comma-separated scopes the key may request', scopeList)
    .option('--expires-in-days <n>', 'the key stops working after this many days (default: never)', wholeNumber)
    .option('--description <text>', 'free text shown in listings')
    .option('--metadata <json>', 'a JSON object of string/number/boolean values kept with the key', jsonObject)
    .addHelpText('after', '\nExample:\n  npx tollgate keys create orders-service --scopes orders:read,orders:write --expires-in-days 90')
    .action(
      action(deps, async (ctx, clientId: string, opts: { scopes: string[]; expiresInDays?: number; description?: string; metadata?: Record<string, unknown> }) => {
        const issued = await (await ctx.admin()).createKey(clientId, {
          scopes: opts.scopes,
          ...(opts.expiresInDays === undefined ? {} : { expiresInDays: opts.expiresInDays }),
          ...(opts.description === undefined ? {} : { description: opts.description }),
          ...(opts.metadata === undefined ? {} : { metadata: opts.metadata }),
        });
        ctx.print(issued, () => issuedKey(issued, `Created API key ${issued.key.keyId} for client ${issued.key.clientId}:`));
      }),
    );

  keys
    .command('list')
    .description("list a client's API keys (records only, never the keys themselves)")
    .argument('<clientId>')
    .option('--limit <n>', 'keys per page', wholeNumber)
    .option('--next-token <token>', 'continue a previous listing')
    .option('--all', 'follow every page')
    .action(
      action(deps, async (ctx, clientId: string, opts: { limit?: number; nextToken?: string; all?: boolean }) => {
        if (opts.all && opts.nextToken !== undefined) throw new UsageError('use either --all or --next-token, not both');
        const api = await ctx.admin();
        const limit = opts.limit === undefined ? {} : { limit: opts.limit };
        const list = opts.all
          ? await api.listAllKeys(clientId, limit)
          : await api.listKeys(clientId, { ...limit, ...(opts.nextToken === undefined ? {} : { nextToken: opts.nextToken }) });
        ctx.print(list, () => {
          if (list.keys.length === 0) return `No API keys for client ${clientId}.`;
          const more = list.nextToken === undefined ? '' : `\n\nMore keys: add --next-token ${list.nextToken}, or use --all.`;
          return keysTable(list.keys) + more;
        });
      }),
    );

  keys
    .command('show')
    .description("show one API key's record")
    .argument('<keyId>', 'e.g. key_0123456789abcdef0123')
    .action(
      action(deps, async (ctx, keyId: string) => {
        const key = await (await ctx.admin()).getKey(keyId);
        ctx.print(key, () => keyRecord(key));
      }),
    );

  keys
    .command('roll')
    .description('replace a key with a new one (same client and scopes); the old one keeps working for a grace period')
    .argument('<keyId>')
    .option('--grace-seconds <n>', `how long the old key keeps working (default ${Defaults.rollGraceSeconds}; 0 stops it now)`, wholeNumber)
    .action(
      action(deps, async (ctx, keyId: string, opts: { graceSeconds?: number }) => {
        const issued = await (await ctx.admin()).rollKey(keyId, opts.graceSeconds === undefined ? {} : { graceSeconds: opts.graceSeconds });
        const grace = opts.graceSeconds ?? Defaults.rollGraceSeconds;
        ctx.print(issued, () =>
          issuedKey(issued, `Rolled ${keyId} to ${issued.key.keyId}; ${keyId} keeps working for at most ${grace} s. New API key:`),
        );
      }),
    );

  addRevoke(deps, keys, {
    description: 'revoke an API key and every access token it minted (idempotent)',
    argument: '<keyId>',
    revoke: (api, keyId) => api.revokeKey(keyId),
    done: (keyId) => `Revoked API key ${keyId} and every access token it minted.`,
  });
  return keys;
}

interface RevokeSpec {
  readonly description: string;
  readonly argument: string;
  readonly revoke: (api: AdminApi, id: string) => Promise<void>;
  readonly done: (id: string) => string;
}

/** A `revoke <id>` subcommand: the server answers 204, so `--json` prints nothing. */
function addRevoke(deps: CliDeps, parent: Command, spec: RevokeSpec): void {
  parent
    .command('revoke')
    .description(spec.description)
    .argument(spec.argument)
    .action(
      action(deps, async (ctx, id: string) => {
        await spec.revoke(await ctx.admin(), id);
        ctx.print(undefined, () => spec.done(id));
      }),
    );
}

function grantsText(view: GrantsView): string {
  if (view.grants === null) return `Client ${view.clientId} has no per-service grants: its keys' scopes decide.`;
  const lines = Object.entries(view.grants).map(([service, scopes]) => `  ${service}: ${scopes.length ? scopes.join(' ') : '(none: the service is withdrawn)'}`);
  return [`Client ${view.clientId}, scopes per service:`, ...lines].join('\n');
}

function revokeCommands(deps: CliDeps): Command[] {
  const tokens = new CommandGroup('tokens').description('revoke access tokens');
  addRevoke(deps, tokens, {
    description: 'revoke one access token by its jti (idempotent)',
    argument: '<jti>',
    revoke: (api, jti) => api.revokeToken(jti),
    done: (jti) => `Revoked access token ${jti}.`,
  });
  const clients = new CommandGroup('clients').description('revoke clients');
  addRevoke(deps, clients, {
    description: 'revoke every API key and access token of a client',
    argument: '<clientId>',
    revoke: (api, clientId) => api.revokeClient(clientId),
    done: (clientId) => `Revoked client ${clientId}: every API key and access token it holds.`,
  });
  clients.description('revoke clients, and grant them scopes per service');
  clients
    .command('grant')
    .description('set the scopes a client may hold on one service (docs/services.md); --scopes "" withdraws the service')
    .argument('<clientId>', 'the client')
    .requiredOption('--service <name>', 'the service, by name')
    .requiredOption('--scopes <a,b>', 'comma-separated scopes of that service', (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .action(
      action(deps, async (ctx, clientId: string, opts: { service: string; scopes: string[] }) => {
        const view = await (await ctx.admin()).grant(clientId, opts.service, opts.scopes);
        ctx.print(view, () => grantsText(view));
      }),
    );
  clients
    .command('grants')
    .description('show a client\'s scopes per service')
    .argument('<clientId>', 'the client')
    .action(
      action(deps, async (ctx, clientId: string) => {
        const view = await (await ctx.admin()).getGrants(clientId);
        ctx.print(view, () => grantsText(view));
      }),
    );
  return [tokens, clients];
}

function signingKeysCommand(deps: CliDeps): Command {
  const signingKeys = new CommandGroup('signing-keys').description('the signing-key ring');
  signingKeys
    .command('status')
    .description('show every key of the ring with its state and timestamps')
    .action(
      action(deps, async (ctx) => {
        const ring = await (await ctx.admin()).signingKeys();
        ctx.print(ring, () => signingKeysTable(ring.keys));
      }),
    );
  signingKeys
    .command('rotate')
    .description('start a rotation now (a new pending key; it becomes active once every verifier knows it)')
    .action(
      action(deps, async (ctx) => {
        const report = await (await ctx.admin()).rotateSigningKeys();
        ctx.print(report, () => rotationReport(report));
      }),
    );
  return signingKeys;
}

interface SetLimitsOptions {
  readonly rate: number;
  readonly burst: number;
  /** `false`: `--no-quota`. */
  readonly quota?: number | false;
  readonly period?: QuotaPeriod;
}

/** The body's `quota`: absent without quota flags, `null` for `--no-quota` (both mean "no quota" to the server). */
function quotaInput(opts: SetLimitsOptions): SetLimitsInput['quota'] {
  if (opts.quota === false) {
    if (opts.period !== undefined) throw new UsageError('--period goes with --quota <n>, not with --no-quota');
    return null;
  }
  if (opts.quota === undefined && opts.period === undefined) return undefined;
  if (opts.quota === undefined) throw new UsageError('--period needs --quota <n>, the number of requests allowed per period');
  if (opts.period === undefined) throw new UsageError(`--quota needs --period ${QUOTA_PERIODS.join('|')}`);
  return { limit: opts.quota, period: opts.period };
}

function limitsCommand(deps: CliDeps): Command {
  const limits = new CommandGroup('limits').description("show and set a client's request rate, burst and quota (per-client throttling)");

  limits
    .command('show')
    .description("show a client's limits, its usage plan and whether API Gateway applies them")
    .argument('<clientId>')
    .addHelpText('after', '\nExample:\n  npx tollgate limits show orders-service')
    .action(
      action(deps, async (ctx, clientId: string) => {
        const view = await (await ctx.admin()).getLimits(clientId);
        ctx.print(view, () => clientLimits(view));
      }),
    );

  limits
    .command('set')
    .description("set all of a client's limits (the client must have had a key)")
    .argument('<clientId>')
    .requiredOption('--rate <n>', 'requests per second, > 0 (fractions allowed, e.g. 0.5)', requestRate)
    .requiredOption('--burst <n>', 'token-bucket size: a whole number, at least the rate rounded up', wholeNumber)
    .option('--quota <n>', 'requests allowed per --period (needs --period)', wholeNumber)
    .option('--period <period>', `quota period, UTC: ${PERIODS_IN_WORDS} (needs --quota)`, quotaPeriod)
    .option('--no-quota', 'no quota: what leaving out --quota does too')
    .addHelpText(
      'after',
      [
        '',
        "Every call sets all of the client's limits. The API takes an absent quota as \"no quota\",",
        'so leaving out --quota removes a quota the client had (--no-quota says so explicitly).',
        `The defaults (${Defaults.rateLimit} requests/s, burst ${Defaults.burstLimit}, no quota) move the client back to the shared`,
        `default plan. The server checks the ranges: rate up to ${Limits.rateLimitMax}, burst 1-${Limits.burstLimitMax} and at least`,
        'the rate rounded up. When API Gateway cannot be updated the limits are still stored',
        '(usageKeyRegistered no, with usageError); running the command again retries.',
        '',
        'Examples:',
        '  npx tollgate limits set orders-service --rate 5 --burst 10 --quota 10000 --period DAY',
        '  npx tollgate limits set orders-service --rate 0.5 --burst 1',
        `  npx tollgate limits set orders-service --rate ${Defaults.rateLimit} --burst ${Defaults.burstLimit} --no-quota   # back to the defaults`,
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, clientId: string, opts: SetLimitsOptions) => {
        // Checked before anything is sent: a half-given quota must not become "no quota".
        const quota = quotaInput(opts);
        const view = await (await ctx.admin()).setLimits(clientId, {
          rateLimit: opts.rate,
          burstLimit: opts.burst,
          ...(quota === undefined ? {} : { quota }),
        });
        ctx.print(view, () => `Set the limits of client ${view.clientId}:\n\n${clientLimits(view)}`);
      }),
    );
  return limits;
}

function tokenCommand(deps: CliDeps): Command {
  return new Command('token')
    .description('exchange an API key for an access token (printed on stdout)')
    .option('--api-key-env <VAR>', `environment variable holding the API key (default ${DEFAULT_API_KEY_ENV})`)
    .option('--api-key-stdin', 'read the API key from standard input')
    .option('--client-id <id>', 'authenticate with HTTP Basic as this client (default: the key as a bearer credential)')
    .option('--scope <scopes>', 'space-separated scopes to request (default: all of the key’s)')
    .addHelpText(
      'after',
      [
        '',
        'The key is never taken as an argument (shell history, ps). Examples:',
        '  TOLLGATE_API_KEY=tg_… npx tollgate token',
        '  npx tollgate token --api-key-stdin < key.txt',
        '  TOKEN=$(npx tollgate token --scope orders:read)',
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, opts: { apiKeyEnv?: string; apiKeyStdin?: boolean; clientId?: string; scope?: string }) => {
        const apiKey = await readApiKey(opts, deps);
        const http = ctx.http(await ctx.connect());
        const request = buildTokenRequest({ apiKey, ...(opts.clientId === undefined ? {} : { clientId: opts.clientId }) }, opts.scope);
        const { body } = await http.send({ method: 'POST', path: ApiPath.token, raw: request });
        const grant = tokenGrant(body, http.url({ path: ApiPath.token }));
        // Only the token goes to stdout, so `TOKEN=$(npx tollgate token)` captures exactly it.
        ctx.print(body, () => {
          deps.stderr(`Access token expires in ${grant.expiresInSeconds} s; scope: ${grant.scope || '(none)'}\n`);
          return grant.accessToken;
        });
      }),
    );
}

function tokenGrant(body: unknown, url: URL) {
  try {
    return parseTokenResponse(body);
  } catch (error) {
    if (error instanceof InvalidTokenResponse) throw new UnexpectedResponse(`${url.href}: ${error.message}`);
    throw error;
  }
}

export function buildProgram(deps: CliDeps): Command {
  const program = new CommandGroup('tollgate')
    .description('Operate Tollgate: API keys, access tokens, clients, client limits and signing keys.')
    .option('--url <url>', `local server URL (default: $${TargetEnv.url}, .local/state.json, ${DEFAULT_LOCAL_URL})`)
    .option('--stack <name>', 'operate a deployed stack: read its outputs, sign admin calls with AWS SigV4')
    .option('--region <region>', 'AWS region of --stack (default: the SDK’s region chain)')
    .option('--json', 'print the server’s JSON instead of tables')
    .exitOverride()
    // Commander's usage errors ("error: …", a suggestion on a second line) become one `tollgate: …` line.
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr, outputError: (message, write) => write(`tollgate: ${usageLine(message)}\n`) })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `\nAdmin token: $${TargetEnv.adminToken}, else .local/state.json written by \`npm start\`.\nExit status: 0 ok, 1 refused by the server, 2 bad usage, 3 server unreachable.`,
    );
  // Subcommands inherit exit and output settings only when added after they are set.
  const wrap = (run: Parameters<typeof action>[1]) => action(deps, run);
  const revokes = revokeCommands(deps);
  addResume(revokes.find((command) => command.name() === 'clients')!, wrap);
  const leaks = leakCommands(deps, wrap);
  for (const command of [keysCommand(deps), ...revokes, limitsCommand(deps), usageCommand(wrap), anomaliesCommand(wrap), signingKeysCommand(deps), tokenCommand(deps), smokeCommand((run) => action(deps, run)), ...leaks]) {
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
    const exitCode = exitCodeOf(error);
    if (exitCode !== undefined) {
      deps.stderr(`tollgate: ${(error as Error).message}\n`);
      return exitCode;
    }
    deps.stderr(`tollgate: unexpected error: ${(error as Error).message}\n`);
    return ExitCode.refused;
  }
}

/** Commander has already printed help or the usage error. */
function commanderExit(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
  return ExitCode.usage;
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
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    cloudFormation: (region) => new CloudFormationClient(region === undefined ? {} : { region }),
    // Loaded on first use: the credential chain is only needed for --stack.
    credentials: () => async () => {
      credentials ??= (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
      return credentials();
    },
  };
}
