/**
 * THE place where errors become HTTP: every typed error of the core maps to a status, a
 * stable `error` code and headers; anything else is a generic 500 `server_error`, logged
 * with its details for operators and told to nobody else.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { classifyDependencyError } from '../adapters/dependency-errors';
import {
  ApiError,
  DependencyUnavailable,
  ErrorCode,
  IdempotencyConflict,
  InvalidClient,
  MethodNotAllowed,
  TemporarilyUnavailable,
  type ChallengeScheme,
} from '../core/shared/issuance-errors';
import { json, NO_STORE, type Headers } from './response';

const STATUS: { readonly [K in ErrorCode]: number } = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_scope: 400,
  invalid_target: 400,
  unsupported_grant_type: 400,
  temporarily_unavailable: 503,
  server_error: 500,
  key_not_found: 404,
  token_not_found: 404,
  client_not_found: 404,
  client_revoked: 409,
  key_not_active: 409,
  key_already_rolled: 409,
  rotation_failed: 502,
  invalid_signature: 401,
  // RFC 9110 §15.5.21: the request is well-formed but cannot be processed as it is.
  idempotency_key_reused: 422,
  idempotency_key_in_use: 409,
  not_found: 404,
  method_not_allowed: 405,
};

/**
 * Every 401 `invalid_client` carries a challenge (RFC 9110 §15.5.2): Basic, the scheme of
 * `client_secret_basic`, whatever the client sent (nothing, form fields, another scheme). A
 * client that sent `Authorization: Bearer` is challenged in that scheme first (RFC 6749
 * §5.2), with an `error` of RFC 6750 §3.1 (`invalid_client` is not one): its key is invalid.
 * The body's `error` stays `invalid_client`.
 */
const BASIC_CHALLENGE = 'Basic realm="tollgate"';
const CHALLENGES: { readonly [S in ChallengeScheme]: string } = {
  Basic: BASIC_CHALLENGE,
  Bearer: `Bearer realm="tollgate", error="invalid_token", ${BASIC_CHALLENGE}`,
};

export const SERVER_ERROR_DESCRIPTION = 'The server could not handle the request; try again later.';

export interface ErrorLogger {
  error(message: string, details: Readonly<Record<string, unknown>>): void;
}

/** The HTTP status an error becomes: 5xx means the failure was ours, not the caller's. */
export function statusOf(error: unknown): number {
  const typed = typedError(error);
  return typed ? STATUS[typed.code] : STATUS.server_error;
}

/**
 * The error as one of ours: typed errors as they are, an SDK client's dependency failure
 * (timeout, throttling, network, unavailable) as `DependencyUnavailable` — for clients not
 * built by `lambda/adapters/clients`, which already throw it typed.
 */
function typedError(error: unknown): ApiError | undefined {
  return error instanceof ApiError ? error : classifyDependencyError(error, 'aws');
}

export function errorResponse(thrown: unknown, log: ErrorLogger): APIGatewayProxyResult {
  const error = typedError(thrown) ?? thrown;
  if (error instanceof DependencyUnavailable)
    log.error('dependency unavailable', { dependency: error.dependency, failure: error.failure, cause: error.causeName });
  if (!(error instanceof ApiError)) {
    const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
    log.error('unexpected error', { error: { name, message, stack } });
    return json(STATUS.server_error, { error: ErrorCode.serverError, error_description: SERVER_ERROR_DESCRIPTION });
  }
  return json(STATUS[error.code], { error: error.code, error_description: error.description }, { ...NO_STORE, ...extraHeaders(error) });
}

function extraHeaders(error: ApiError): Headers {
  if (error instanceof InvalidClient) return { 'WWW-Authenticate': CHALLENGES[error.challenge ?? 'Basic'] };
  if (error instanceof TemporarilyUnavailable) return { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterSeconds))) };
  if (error instanceof IdempotencyConflict && error.retryAfterSeconds !== undefined) return { 'Retry-After': String(error.retryAfterSeconds) };
  // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
  if (error instanceof MethodNotAllowed) return { Allow: error.allowed.join(', ') };
  return {};
}
