/**
 * How a call to the Tollgate HTTP API failed (`ApiHttp`, `AdminApi`). Each message is one
 * line fit to print; none ever holds a secret. The CLI maps these to its exit statuses
 * (`cli/errors.ts`), so this module knows nothing of processes.
 */
import { withoutCredentials } from './redact';

export abstract class ApiError extends Error {
  /**
   * The `Idempotency-Key` of an admin change that failed with its outcome unknown (a 503,
   * a lost connection, the key still in use once the retries were spent): sending the same
   * request again with this key makes the change exactly once.
   */
  idempotencyKey?: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  /**
   * Keeps the key to finish the change with. It is as sensitive as the change's answer
   * (with it, admin credentials replay a create's new key for 24 h), so it is kept only when
   * the change may still need it, and never put in the message: the caller decides who sees it.
   */
  withIdempotencyKey(key: string): this {
    this.idempotencyKey = key;
    return this;
  }
}

/** The API answered with an error body `{error, error_description}` (or something close). */
export class ServerError extends ApiError {
  /** The server's `error_description`, anything credential-shaped in it hidden ({@link withoutCredentials}). */
  readonly description: string;

  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
    /** What the refusal means for this kind of request, when its code alone misleads. */
    readonly hint?: string,
    /** The answer's `Retry-After`, in seconds, when it had one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${withoutCredentials(description)} (HTTP ${status})${hint === undefined ? '' : ` — ${hint}`}`);
    this.description = withoutCredentials(description);
  }
}

/** The server could not be reached (connection refused, DNS, timeout). */
export class NetworkError extends ApiError {}

/** A 2xx whose body is not what the endpoint returns: the URL points at something else. */
export class UnexpectedResponse extends ApiError {}

/**
 * A value that cannot be one path segment: empty, `.` or `..`, which URL resolution drops or
 * climbs out of, so the request would reach another route. Nothing was sent.
 */
export class InvalidPathSegment extends ApiError {
  constructor(value: string) {
    super(`${value === '' ? 'an empty id' : `the id "${value}"`} cannot name anything in a URL path (it would reach another route); nothing was sent`);
  }
}
