/**
 * One request to the Tollgate HTTP API, with the failure modes turned into `ApiError`s: a
 * refusal carries the server's `error` code, an unreachable server gets a one-line hint.
 */
import { randomUUID } from 'node:crypto';
import type { FetchLike } from './tollgate-client';
import type { AuthStrategy } from './admin-auth';
import { type ApiError, InvalidPathSegment, NetworkError, ServerError, UnexpectedResponse } from './api-errors';

export type { FetchLike };

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the API's base URL, segments already encoded (see {@link apiPath}). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly json?: unknown;
  /** A pre-built body with its own headers (the token endpoint's form). */
  readonly raw?: { readonly headers: Readonly<Record<string, string>>; readonly body: string };
  readonly auth?: AuthStrategy;
  /**
   * A mutation the server deduplicates by `Idempotency-Key` (the admin routes): it is sent
   * with a fresh key (or {@link ApiHttpOptions.idempotencyKey}) and sent again, with the
   * same key, after a 503, a 409 `idempotency_key_in_use` or a network failure.
   */
  readonly idempotent?: boolean;
}

export interface ApiResponse {
  readonly status: number;
  /** Parsed JSON; undefined for an empty body (204). */
  readonly body: unknown;
}

export interface ApiHttpOptions {
  /** The API's base URL, stage path included (`https://…/v1/`). */
  readonly baseUrl: string;
  readonly fetch: FetchLike;
  /** Appended to "cannot reach <url>" when the connection fails. */
  readonly unreachableHint?: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /**
   * The `Idempotency-Key` of the mutation (an earlier attempt's, to finish it exactly once);
   * default: a fresh one per mutation.
   */
  readonly idempotencyKey?: string;
}

/** Longest piece of a non-JSON error body worth showing in one line. */
const MAX_TEXT_IN_MESSAGE = 200;
/**
 * Admin mutations are sent with an `Idempotency-Key` (one per command) and sent again with
 * it after a 503, a 409 `idempotency_key_in_use` (the first attempt still holds the key) or
 * a lost connection, so a retry is exactly once (docs/api.md, "Dependency failures, retries
 * and `Idempotency-Key`"). At most this many retries...
 */
const MUTATION_RETRIES = 2;
/** ...each after the answer's `Retry-After`, unless it asks for longer than this: then the command fails and says so. */
const MAX_RETRY_WAIT_MS = 10_000;
/** After a lost connection, which has no `Retry-After`. */
const RETRY_AFTER_NETWORK_FAILURE_MS = 1_000;
/** The server's 409 while an earlier attempt with the same key still runs (`ErrorCode.idempotencyKeyInUse`). */
const IDEMPOTENCY_KEY_IN_USE = 'idempotency_key_in_use';

/**
 * Values no encoding keeps as one segment: URL resolution drops an empty or `.` segment and
 * climbs out on `..` (WHATWG URL treats `%2e%2e` as `..` too).
 */
const NOT_A_SEGMENT: ReadonlySet<string> = new Set(['', '.', '..']);

/** Builds a path from literal parts and values, each value encoded as one path segment; refuses a value that cannot be one. */
export function apiPath(strings: TemplateStringsArray, ...values: readonly string[]): string {
  const unusable = values.find((value) => NOT_A_SEGMENT.has(value));
  if (unusable !== undefined) throw new InvalidPathSegment(unusable);
  return strings.reduce((path, part, index) => path + part + (index < values.length ? encodeURIComponent(values[index]!) : ''), '');
}

export class ApiHttp {
  readonly baseUrl: string;

  constructor(private readonly options: ApiHttpOptions) {
    this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  }

  async send(request: ApiRequest): Promise<ApiResponse> {
    const idempotencyKey = request.idempotent ? (this.options.idempotencyKey ?? randomUUID()) : undefined;
    for (let retry = 0; ; retry += 1) {
      try {
        return await this.sendOnce(request, idempotencyKey);
      } catch (error) {
        const waitMs = idempotencyKey !== undefined ? retryWaitMs(error) : undefined;
        if (waitMs !== undefined && retry < MUTATION_RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, waitMs));
          continue;
        }
        // Retries spent (or a wait too long) with the outcome unknown: the key finishes it later.
        if (idempotencyKey !== undefined && outcomeUnknown(error)) (error as ApiError).withIdempotencyKey(idempotencyKey);
        throw error;
      }
    }
  }

  private async sendOnce(request: ApiRequest, idempotencyKey: string | undefined): Promise<ApiResponse> {
    const url = this.url(request);
    const headers: Record<string, string> = { Accept: 'application/json', ...request.raw?.headers };
    if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey;
    const body = request.raw?.body ?? (request.json === undefined ? undefined : JSON.stringify(request.json));
    if (request.json !== undefined) headers['Content-Type'] = 'application/json';
    Object.assign(headers, await request.auth?.authorize({ method: request.method, url, headers, ...(body === undefined ? {} : { body }) }));
    const response = await this.fetch(url, { method: request.method, headers, ...(body === undefined ? {} : { body }) });
    const text = await this.read(response);
    if (!response.ok) throw serverError(response.status, text, request.auth, response.headers.get('retry-after'));
    if (text === '') return { status: response.status, body: undefined };
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      throw new UnexpectedResponse(`${url.origin} answered HTTP ${response.status} with a body that is not JSON; is ${this.baseUrl} a Tollgate API?`);
    }
  }

  /** The absolute URL of a path below the base (the base's own path, e.g. the stage, is kept). */
  url(request: Pick<ApiRequest, 'path' | 'query'>): URL {
    const url = new URL(request.path.replace(/^\//, ''), this.baseUrl);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  /**
   * Resolves when the server at the base URL answers anything at all (no credentials are
   * sent); throws the `NetworkError` a request would meet.
   */
  async probe(): Promise<void> {
    const response = await this.fetch(new URL(this.baseUrl), { method: 'GET', headers: { Accept: 'application/json' } });
    await response.body?.cancel();
  }

  private async fetch(url: URL, init: RequestInit): Promise<Response> {
    try {
      // No redirects: a redirected admin call would carry its credentials to another place.
      return await this.options.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  /** The answer's body; losing it on the way (a reset, the timeout) is a lost connection like any other. */
  private async read(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): NetworkError {
    const hint = this.options.unreachableHint ? ` — ${this.options.unreachableHint}` : '';
    return new NetworkError(`cannot reach ${this.baseUrl.replace(/\/$/, '')} (${networkCause(error)})${hint}`);
  }
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return typeof cause?.message === 'string' ? cause.message : (error as Error).message;
}

/**
 * Whether a mutation that failed so may have been made, or may still be: a lost connection,
 * any 5xx (a 503, a function error, API Gateway's 504 while the function runs on; the server
 * keeps no 5xx under the key, so the key makes it once), a 409 `idempotency_key_in_use` (the
 * first attempt is running). Any other refusal is an answer.
 */
function outcomeUnknown(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ServerError && (error.status >= 500 || inUse(error));
}

/**
 * How long to wait before sending a mutation again, or undefined when it must not be: only a
 * lost connection, a 503 and a 409 `idempotency_key_in_use` say "try again"; after another
 * 5xx the command fails naming its key, for the operator to decide.
 */
function retryWaitMs(error: unknown): number | undefined {
  if (error instanceof NetworkError) return RETRY_AFTER_NETWORK_FAILURE_MS;
  if (!(error instanceof ServerError && (error.status === 503 || inUse(error)))) return undefined;
  const waitMs = (error.retryAfterSeconds ?? 1) * 1000;
  return waitMs <= MAX_RETRY_WAIT_MS ? waitMs : undefined;
}

function inUse(error: ServerError): boolean {
  return error.status === 409 && error.code === IDEMPOTENCY_KEY_IN_USE;
}

/**
 * Our API and the stack's gateway responses answer `{error, error_description}`; API
 * Gateway's refusals without a gateway response of ours (a bad signature, WAF) answer
 * `{message}` or `{Message}`; anything else is shown as a short text. The request's auth
 * strategy may add what the refusal means for requests it authorized.
 */
/**
 * At most MAX_TEXT_IN_MESSAGE characters of a reply's text. A cut inside a run of token
 * characters drops that run whole: what is left of a credential the reply echoed would be too
 * short for anything downstream to recognise (and redact) as one.
 */
function shortened(text: string): string {
  if (text.length <= MAX_TEXT_IN_MESSAGE) return text;
  const kept = text.slice(0, MAX_TEXT_IN_MESSAGE);
  // The run the cut ends in, if the cut is inside one (the next character goes on with it).
  return `${TOKEN_CHAR.test(text[MAX_TEXT_IN_MESSAGE]!) ? kept.replace(TRAILING_TOKEN, '') : kept}…`;
}
const TOKEN_CHAR = /[0-9A-Za-z_+/=.-]/;
const TRAILING_TOKEN = new RegExp(`${TOKEN_CHAR.source}+$`);

function serverError(status: number, text: string, auth: AuthStrategy | undefined, retryAfter: string | null = null): ServerError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: described from the text below.
  }
  const code = typeof body.error === 'string' ? body.error : `http_${status}`;
  const described = [body.error_description, body.message, body.Message].find((value) => typeof value === 'string') as string | undefined;
  const oneLine = shortened(text.replace(/\s+/g, ' ').trim());
  const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;
  return new ServerError(status, code, described ?? (oneLine || 'no details'), auth?.explainRefusal?.(status, code), retryAfterSeconds);
}
