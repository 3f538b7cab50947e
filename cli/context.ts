/**
 * What every command of `npx tollgate` shares: the dependencies of a run, the context an
 * action gets (its target, output mode and where to write), the wrapper that builds it, and
 * command groups that answer a missing subcommand with one usage line.
 */
import { Command, type HelpContext } from 'commander';
import { AdminApi } from '../client/admin-api';
import type { AuthStrategy } from '../client/admin-auth';
import { ApiHttp, type FetchLike } from '../client/api-http';
import { inWords } from './arguments';
import { MissingAdminToken, UsageError } from './errors';
import { pastedKey } from './scan-redact';
import type { SecretInput } from './secret-input';
import { resolveTarget, type Target, type TargetDeps } from './target';

export interface CliDeps extends TargetDeps, SecretInput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly fetch: FetchLike;
  /** Standard input as raw bytes, in pieces as they arrive (`scan`, which must not hold it whole). */
  readonly stdinBytes: () => AsyncIterable<Uint8Array>;
  /**
   * Whether standard input is a pipe, a socket or a file: something was sent to it. Not a
   * terminal, `/dev/null` (what git gives a hook, cron and `docker run` without `-i` give a
   * command) or a closed descriptor.
   */
  readonly stdinIsPiped: boolean;
}

export interface GlobalOptions {
  readonly url?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly json?: boolean;
  /** The change's `Idempotency-Key` (an earlier attempt's); default: a fresh one. */
  readonly idempotencyKey?: string;
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

  /** `--idempotency-key`: the key to finish one earlier change with. */
  get idempotencyKey(): string | undefined {
    return this.options.idempotencyKey;
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
      ...(this.options.idempotencyKey === undefined ? {} : { idempotencyKey: this.options.idempotencyKey }),
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

export type Action<A extends unknown[]> = (context: Context, ...args: A) => Promise<void>;

/** Wraps a command's action: builds its context from the global options, passes its own arguments. */
export function action<A extends unknown[]>(deps: CliDeps, run: Action<A>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    // Commander passes the positional arguments, then the command's options, then the command.
    const positional = args.slice(0, command.registeredArguments.length);
    // Every positional argument ends up in a URL path (and so in access logs): never a key, plain, glued or base64-encoded.
    const pasted = positional.map((arg) => (typeof arg === 'string' ? pastedKey(arg) : undefined)).find((found) => found !== undefined);
    if (pasted) {
      throw new UsageError(
        `that argument is ${pasted}, which is a secret and never goes in a URL; nothing was sent. Give the client id, or the key id (key_…) that \`keys list\` shows.`,
      );
    }
    await run(new Context(deps, command.optsWithGlobals<GlobalOptions>()), ...(args.slice(0, -1) as A));
  };
}

/**
 * A command whose subcommands do the work. Commander answers a missing subcommand with the
 * whole help on stderr; a usage error here is one line that names the subcommands.
 */
export class CommandGroup extends Command {
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
