/**
 * How a call to the Tollgate HTTP API failed (`ApiHttp`, `AdminApi`). Each message is one
 * line fit to print; none ever holds a secret. The CLI maps these to its exit statuses
 * (`cli/errors.ts`), so this module knows nothing of processes.
 */

export abstract class ApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The API answered with an error body `{error, error_description}` (or something close). */
export class ServerError extends ApiError {
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

/** The server could not be reached (connection refused, DNS, timeout). */
export class NetworkError extends ApiError {}

/** A 2xx whose body is not what the endpoint returns: the URL points at something else. */
export class UnexpectedResponse extends ApiError {}
