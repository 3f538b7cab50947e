/**
 * What the token and admin endpoints refuse, as typed errors with stable machine codes.
 * The core throws them; `lambda/http/errors.ts` is the one place that turns them into
 * HTTP statuses, headers and `{error, error_description}` bodies (RFC 6749 §5.2).
 */

export const ErrorCode = {
  // RFC 6749 §5.2 and RFC 6749 §4.1.2.1.
  invalidRequest: 'invalid_request',
  invalidClient: 'invalid_client',
  invalidScope: 'invalid_scope',
  /** RFC 8707 §2: the requested resource is invalid, unknown, or not permitted for this client. */
  invalidTarget: 'invalid_target',
  unsupportedGrantType: 'unsupported_grant_type',
  temporarilyUnavailable: 'temporarily_unavailable',
  serverError: 'server_error',
  // Admin API.
  keyNotFound: 'key_not_found',
  tokenNotFound: 'token_not_found',
  clientNotFound: 'client_not_found',
  clientRevoked: 'client_revoked',
  keyNotActive: 'key_not_active',
  keyAlreadyRolled: 'key_already_rolled',
  rotationFailed: 'rotation_failed',
  // Leak reports: a secret-scanning report whose signature does not verify.
  invalidSignature: 'invalid_signature',
  // Idempotency-Key (lambda/core/admin/idempotency.ts).
  idempotencyKeyReused: 'idempotency_key_reused',
  idempotencyKeyInUse: 'idempotency_key_in_use',
  // Routing.
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export abstract class ApiError extends Error {
  abstract readonly code: ErrorCode;
  /** Human text for `error_description`: never holds a secret. */
  readonly description: string;

  constructor(description: string) {
    super(description);
    this.description = description;
    this.name = new.target.name;
  }
}

export class InvalidRequest extends ApiError {
  readonly code = ErrorCode.invalidRequest;
}

/**
 * Client credentials in the request URL (RFC 6749 §2.3.1: they MUST NOT be there). Refused,
 * and the answer tells the client to roll the key, which is in URL logs now; `context.keyId`
 * names that key for the audit line when the value was a well-formed API key.
 */
export class CredentialsInUrl extends InvalidRequest {
  constructor(readonly context: { readonly keyId?: string }) {
    super(
      'Client credentials never go in the URL (RFC 6749 §2.3.1): send them in the Authorization header or the form body. The query string held a client secret, which is in the access logs now: roll or revoke that key.',
    );
  }
}

/** Why client authentication failed: logged, never told to the caller. */
export const InvalidClientReason = {
  noCredentials: 'no_credentials',
  unsupportedScheme: 'unsupported_auth_scheme',
  malformedCredentials: 'malformed_credentials',
  badChecksum: 'bad_checksum',
  unknownKey: 'unknown_key',
  hashMismatch: 'hash_mismatch',
  keyRevoked: 'key_revoked',
  keyExpired: 'key_expired',
  clientUnknown: 'client_unknown',
  clientRevoked: 'client_revoked',
  clientMismatch: 'client_id_mismatch',
} as const;
export type InvalidClientReason = (typeof InvalidClientReason)[keyof typeof InvalidClientReason];

/** One description for every cause, so a caller cannot probe which keys or clients exist. */
export const INVALID_CLIENT_DESCRIPTION = 'Client authentication failed.';

/**
 * The HTTP authentication scheme of the `Authorization` header a client authenticated with.
 * RFC 6749 §5.2: its 401 must carry a `WWW-Authenticate` challenge in that same scheme
 * (every other 401 `invalid_client` is challenged in Basic: `lambda/http/errors.ts`).
 */
export type ChallengeScheme = 'Basic' | 'Bearer';

export class InvalidClient extends ApiError {
  readonly code = ErrorCode.invalidClient;

  constructor(
    readonly reason: InvalidClientReason,
    /** The scheme the client used; none for `client_secret_post`, no credentials or a scheme we do not accept (challenged in Basic). */
    readonly challenge: ChallengeScheme | undefined,
    readonly context: { readonly keyId?: string; readonly clientId?: string } = {},
  ) {
    super(INVALID_CLIENT_DESCRIPTION);
  }
}

export class InvalidScope extends ApiError {
  readonly code = ErrorCode.invalidScope;
}

export class InvalidTarget extends ApiError {
  readonly code = ErrorCode.invalidTarget;
}

export class UnsupportedGrantType extends ApiError {
  readonly code = ErrorCode.unsupportedGrantType;
}

/** Seconds a client should wait after a 503 when nothing better is known: about one issuer ring refresh. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * No active signing key, KMS refused to sign, or a dependency failed: answered 503 with
 * `Retry-After` (RFC 9110 §10.2.3) and the code RFC 6749 §4.1.2.1 defines for it.
 */
export class TemporarilyUnavailable extends ApiError {
  readonly code = ErrorCode.temporarilyUnavailable;

  constructor(
    readonly reason: string,
    readonly retryAfterSeconds: number = DEFAULT_RETRY_AFTER_SECONDS,
    description = 'The token service cannot issue tokens right now; retry shortly.',
  ) {
    super(description);
  }
}

/** What went wrong with a dependency (`contention`: a transaction cancelled by a concurrent write): see `lambda/adapters/dependency-errors.ts`. */
export type DependencyFailure = 'timeout' | 'throttled' | 'network' | 'unavailable' | 'key_unusable' | 'contention';

/**
 * A call to DynamoDB, KMS, API Gateway, Lambda or EventBridge failed in a way that says
 * nothing about the request: it timed out, was throttled, could not connect, or the
 * service (or the KMS key) is unavailable. Thrown by the SDK clients' one wrapper
 * (`lambda/adapters/clients/options.ts`), so a write that was refused this way may or may
 * not have happened: admin callers retry it with the same `Idempotency-Key`.
 */
export class DependencyUnavailable extends TemporarilyUnavailable {
  constructor(
    readonly dependency: string,
    readonly failure: DependencyFailure,
    retryAfterSeconds: number,
    /** The SDK error's name (`ThrottlingException`, `TimeoutError`…): for logs, never for callers. */
    readonly causeName: string,
  ) {
    super(`${dependency}_${failure}: ${causeName}`, retryAfterSeconds, 'A service Tollgate depends on is not answering; retry after the Retry-After delay.');
  }
}

export class NotFound extends ApiError {
  constructor(
    readonly code: typeof ErrorCode.keyNotFound | typeof ErrorCode.tokenNotFound | typeof ErrorCode.clientNotFound | typeof ErrorCode.notFound,
    description: string,
  ) {
    super(description);
  }
}

export class Conflict extends ApiError {
  constructor(
    readonly code: typeof ErrorCode.clientRevoked | typeof ErrorCode.keyNotActive | typeof ErrorCode.keyAlreadyRolled,
    description: string,
  ) {
    super(description);
  }
}

/** An `Idempotency-Key` reused for another request (422), or still held by the first one (409, `Retry-After`). */
export class IdempotencyConflict extends ApiError {
  constructor(
    readonly code: typeof ErrorCode.idempotencyKeyReused | typeof ErrorCode.idempotencyKeyInUse,
    description: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

export class RotationFailed extends ApiError {
  readonly code = ErrorCode.rotationFailed;
}

export class MethodNotAllowed extends ApiError {
  readonly code = ErrorCode.methodNotAllowed;

  constructor(readonly allowed: readonly string[]) {
    super(`This path accepts ${allowed.join(', ')}.`);
  }
}

/** A secret-scanning report not signed by a current key of the scanner (401); the reason is logged, not told. */
export class InvalidSignature extends ApiError {
  readonly code = ErrorCode.invalidSignature;
}
