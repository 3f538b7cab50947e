/**
 * Why a CLI command failed, and with which exit status. Each error's message is the one
 * line printed to stderr; none ever holds a secret.
 */

export const ExitCode = {
  ok: 0,
  /** The server refused the request (its `error` code is printed). */
  refused: 1,
  /** Bad arguments or missing configuration: nothing was sent. */
  usage: 2,
  /** The server could not be reached, or answered something that is not our API. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The API answered with an error body `{error, error_description}` (or something close). */
export class ServerError extends CliError {
  readonly exitCode = ExitCode.refused;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    /** What the refusal means for this kind of request, when its code alone misleads. */
    readonly hint?: string,
    /** The answer's `Retry-After`, in seconds, when it had one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${description} (HTTP ${status})${hint === undefined ? '' : ` — ${hint}`}`);
  }
}

export class NetworkError extends CliError {
  readonly exitCode = ExitCode.unreachable;
}

/** A 2xx whose body is not what the endpoint returns: the URL points at something else. */
export class UnexpectedResponse extends CliError {
  readonly exitCode = ExitCode.unreachable;
}

export class UsageError extends CliError {
  readonly exitCode = ExitCode.usage;
}

/** An admin command without an admin token; reported only once the server is known to answer. */
export class MissingAdminToken extends UsageError {}
