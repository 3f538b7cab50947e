/**
 * Why a CLI command failed, and with which exit status. Each error's message is the one
 * line printed to stderr; none ever holds a secret. Failures of the HTTP API itself are the
 * client's errors (`client/api-errors.ts`); {@link exitCodeOf} gives them their status.
 */
import { InvalidPathSegment, NetworkError, ServerError, UnexpectedResponse } from '../client/api-errors';

export const ExitCode = {
  ok: 0,
  /** The server refused the request (its `error` code is printed). */
  refused: 1,
  /** Bad arguments or missing configuration: nothing was sent. */
  usage: 2,
  /** The server could not be reached, or answered something that is not our API. */
  unreachable: 3,
  /** The CLI itself failed (a bug, or standard input that cannot be read), or `scan` could not read a file or directory and found nothing in the rest: never "refused" nor, for `scan`, "found". */
  internal: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class UsageError extends CliError {
  readonly exitCode = ExitCode.usage;
}

/** An admin command without an admin token; reported only once the server is known to answer. */
export class MissingAdminToken extends UsageError {}

/** The exit status for an error the CLI reports in one line, or undefined for an unexpected one. */
export function exitCodeOf(error: unknown): ExitCode | undefined {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof InvalidPathSegment) return ExitCode.usage;
  if (error instanceof ServerError) return ExitCode.refused;
  if (error instanceof NetworkError || error instanceof UnexpectedResponse) return ExitCode.unreachable;
  return undefined;
}
