/**
 * One exchange at `POST /oauth/token` (RFC 6749 §4.4, client credentials): how the request
 * is built, how a 200 is validated, and how every other answer is classified. Shared by
 * `TollgateClient` and the CLI's `token` command so the two cannot differ.
 */
import { API_KEY_SHAPE } from '../common/tokens';
import { withoutCredentials } from './redact';
import { InvalidTokenResponse, type TransientReason } from './errors';

export interface ApiKeyCredential {
  /** When known, the client authenticates with HTTP Basic (`client_secret_basic`). */
  readonly clientId?: string;
  /** The `tg_…` API key: a secret. */
  readonly apiKey: string;
}

export interface TokenRequest {
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** RFC 6749 §5.1, with `expires_in` required (Tollgate always sends it). */
export interface TokenGrant {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresInSeconds: number;
  readonly scope: string;
}

/** How one exchange ended; only `token` carries a secret. */
export type ExchangeOutcome =
  | { readonly kind: 'token'; readonly grant: TokenGrant; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: 'rejected'; readonly status: number; readonly error: string; readonly description: string }
  | { readonly kind: 'transient'; readonly reason: TransientReason; readonly status?: number; readonly retryAfterMs?: number };

/** Refuses something that cannot be an API key before it is ever sent, without echoing it. */
export function assertApiKeyShape(apiKey: unknown, where: string): asserts apiKey is string {
  if (typeof apiKey !== 'string' || !API_KEY_SHAPE.test(apiKey)) {
    throw new TypeError(`${where} is not a Tollgate API key (expected a prefix such as tg_ followed by 49 base62 characters).`);
  }
}

/**
 * RFC 6749 §2.3.1: client id and secret are each application/x-www-form-urlencoded before
 * they are joined and base64-encoded (RFC 7617); the result is ASCII, so `btoa` is exact.
 */
export function basicAuthorization(clientId: string, secret: string): string {
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(secret)}`)}`;
}

/** RFC 8707 §2: a resource indicator is an absolute URI without a fragment. */
export function assertResourceIndicator(resource: unknown, where: string): asserts resource is string {
  let valid = false;
  if (typeof resource === 'string' && !resource.includes('#')) {
    try {
      new URL(resource);
      valid = true;
    } catch {
      valid = false;
    }
  }
  if (!valid) throw new TypeError(`${where} must be an absolute URI without a fragment (RFC 8707), e.g. https://api.example.com/v1/orders.`);
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * `resource` (RFC 8707 §2) names the service the token is for, by its URL or its audience;
 * a deployment with several services refuses a request without it (`invalid_target`).
 */
export function buildTokenRequest(credential: ApiKeyCredential, scope?: string, resource?: string): TokenRequest {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope !== undefined && scope !== '') form.set('scope', scope);
  if (resource !== undefined && resource !== '') form.set('resource', resource);
  const authorization = credential.clientId === undefined ? `Bearer ${credential.apiKey}` : basicAuthorization(credential.clientId, credential.apiKey);
  return {
    method: 'POST',
    headers: {
      Authorization: authorization,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: form.toString(),
  };
}

/** Validates an RFC 6749 §5.1 success body; the message never quotes the body (it may hold a token). */
export function parseTokenResponse(body: unknown): TokenGrant {
  if (typeof body !== 'object' || body === null) throw new InvalidTokenResponse('Token response is not a JSON object.');
  const fields = body as Record<string, unknown>;
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = fields;
  if (typeof accessToken !== 'string' || accessToken === '') throw new InvalidTokenResponse('Token response has no access_token.');
  // RFC 6749 §7.1: the token type is case-insensitive.
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    throw new InvalidTokenResponse('Token response token_type is not Bearer.');
  }
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new InvalidTokenResponse('Token response expires_in is not a positive number.');
  }
  return { accessToken, tokenType: 'Bearer', expiresInSeconds: expiresIn, scope: typeof scope === 'string' ? scope : '' };
}

/**
 * RFC 9110 §10.2.3: `Retry-After` is delta-seconds or an HTTP-date. Returns milliseconds
 * from `nowMs`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Classifies one answer of the token endpoint. Rejects (with the platform's error) when the
 * body cannot be read: a transient network failure, not an invalid response.
 */
export async function readTokenResponse(response: Response, nowMs: number): Promise<ExchangeOutcome> {
  // A body that cannot be read (connection reset, timeout) rejects here, so the caller retries
  // it as a network error; only a body that was read but is not JSON is taken as such.
  const body = jsonOrUndefined(await response.text());
  if (response.ok) {
    const grant = parseTokenResponse(body);
    return { kind: 'token', grant, body: body as Record<string, unknown> };
  }
  const error = errorField(body, 'error');
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), nowMs);
  const transient = transientReason(response.status, error);
  if (transient) return { kind: 'transient', reason: transient, status: response.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  return {
    kind: 'rejected',
    status: response.status,
    error: error ?? `http_${response.status}`,
    // The server's own text, which may quote the request: nothing credential-shaped of it is kept.
    description: withoutCredentials(errorField(body, 'error_description') ?? `The token endpoint answered HTTP ${response.status}.`),
  };
}

/** Worth retrying: the server said so (`temporarily_unavailable`, RFC 6749 §5.2 errata), throttled us, or failed. */
function transientReason(status: number, error: string | undefined): TransientReason | undefined {
  if (error === 'temporarily_unavailable') return 'temporarily_unavailable';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server_error';
  return undefined;
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
