/**
 * What `TollgateClient` rejects with. Messages name pool positions and OAuth error codes,
 * never an API key or an access token, so they are safe to log.
 */

export abstract class TollgateClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The token endpoint refused the request for a reason that retrying cannot fix
 * (RFC 6749 §5.2: `invalid_scope`, `invalid_request`, `unsupported_grant_type`, …).
 */
export class TokenRequestRejected extends TollgateClientError {
  constructor(
    readonly status: number,
    /** The server's machine code, e.g. `invalid_scope`. */
    readonly error: string,
    readonly errorDescription: string,
    /** Position (0-based) of the pool key that was refused. */
    readonly keyPosition: number,
  ) {
    super(`Token request with API key #${keyPosition} refused: ${error} (HTTP ${status}): ${errorDescription}`);
  }
}

/** Every API key of the pool was refused with `invalid_client` (revoked, expired, unknown or mistyped). */
export class ApiKeysRejected extends TollgateClientError {
  constructor(
    /** 0-based positions in the `apiKeys` option. */
    readonly positions: readonly number[],
  ) {
    super(`Every API key was refused with invalid_client (pool positions ${positions.join(', ')}); they are revoked, expired or wrong.`);
  }
}

export type TransientReason = 'network' | 'server_error' | 'temporarily_unavailable' | 'throttled';

/** The token service kept failing (network, 5xx, 429, `temporarily_unavailable`) through the bounded retries. */
export class TokenServiceUnavailable extends TollgateClientError {
  constructor(
    readonly reason: TransientReason,
    readonly attempts: number,
    /** HTTP status of the last answer; absent when the service could not be reached. */
    readonly status?: number,
    /** Set when the service asked for a pause longer than the client is allowed to wait. */
    readonly retryAfterMs?: number,
  ) {
    const tail = retryAfterMs === undefined ? '' : `; the service asked to wait ${Math.ceil(retryAfterMs / 1000)} s`;
    const what = status === undefined ? reason : `${reason}, HTTP ${status}`;
    super(`Token service unavailable after ${attempts} attempt(s) (${what})${tail}.`);
  }
}

/**
 * `TollgateClient.fetch` was asked to send the access token to an origin that is not one of
 * `apiOrigins` (by default the token URL's); nothing was sent (RFC 6750 §5.3: a bearer token
 * goes only to the resource servers it is meant for).
 */
export class ApiOriginNotAllowed extends TollgateClientError {
  constructor(
    /** The refused origin, e.g. `https://elsewhere.example`. */
    readonly origin: string,
    readonly allowedOrigins: readonly string[],
  ) {
    super(`Refused to send the access token to ${origin}: not one of apiOrigins (${allowedOrigins.join(', ')}).`);
  }
}

/** A 200 answer that is not an RFC 6749 §5.1 token response (a proxy page, a wrong URL…). */
export class InvalidTokenResponse extends TollgateClientError {}
