/**
 * Reading an API Gateway REST proxy event (payload format 1.0): headers, query, body.
 * Everything that can be malformed here becomes `invalid_request` before the core runs.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Limits } from '../../common/defaults';
import { API_KEY_IN_TEXT_PATTERN } from '../../common/tokens';
import type { FormParams } from '../core/issuance/client-auth';
import { CredentialsInUrl, InvalidRequest, InvalidTarget } from '../core/shared/issuance-errors';
import { hashApiKey, isWellFormedApiKey, keyIdOf } from '../core/credentials/api-keys';

export type ProxyEvent = Pick<
  APIGatewayProxyEvent,
  | 'resource'
  | 'httpMethod'
  | 'headers'
  | 'multiValueHeaders'
  | 'queryStringParameters'
  | 'multiValueQueryStringParameters'
  | 'pathParameters'
  | 'body'
  | 'isBase64Encoded'
> &
  /** Absent only when something other than API Gateway invoked the function (`operator.ts`). */
  Partial<Pick<APIGatewayProxyEvent, 'requestContext'>>;

/**
 * One header, by case-insensitive name (RFC 9110 §5.1; API Gateway keeps the client's
 * spelling). A header sent twice is refused rather than guessed at: with two credentials
 * the server could authenticate a different one than an intermediary checked.
 */
export function header(event: ProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const found = Object.entries(event.headers ?? {}).filter(([key]) => key.toLowerCase() === wanted);
  const repeated = Object.entries(event.multiValueHeaders ?? {}).some(([key, values]) => key.toLowerCase() === wanted && (values?.length ?? 0) > 1);
  if (found.length > 1 || repeated) throw new InvalidRequest(`The ${name} header must appear at most once.`);
  return found[0]?.[1];
}

/** Query parameters, each at most once (a repeated one is ambiguous, so refused). */
export function queryParameters(event: ProxyEvent): Record<string, string | undefined> {
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    if ((values?.length ?? 0) > 1) throw new InvalidRequest(`The query parameter ${name} must appear at most once.`);
  }
  return { ...(event.queryStringParameters ?? {}) };
}

/**
 * Refuses a query string that carries client credentials: RFC 6749 §2.3.1 says they MUST NOT
 * be in the request URI, and ignoring them would leave the client believing they work while
 * the key sits in every log that records URLs. A `client_secret` parameter, or any name or
 * value holding an API key, is `CredentialsInUrl`, naming the exposed key's id (for the audit
 * line) when it is a well-formed key; the message never repeats the key.
 */
export function refuseCredentialsInQuery(event: ProxyEvent): void {
  const single = Object.entries(event.queryStringParameters ?? {}).map(([name, value]) => [name, value ?? ''] as const);
  const multi = Object.entries(event.multiValueQueryStringParameters ?? {}).flatMap(([name, values]) => (values ?? []).map((value) => [name, value] as const));
  const exposed = [...single, ...multi].flatMap(([name, value]) => {
    if (API_KEY_IN_TEXT_PATTERN.test(name)) return [name];
    return name === 'client_secret' || API_KEY_IN_TEXT_PATTERN.test(value) ? [value] : [];
  });
  if (exposed.length === 0) return;
  const key = exposed.map(keyIn).find(isWellFormedApiKey);
  throw new CredentialsInUrl(key === undefined ? {} : { keyId: keyIdOf(hashApiKey(key)) });
}

/**
 * The key-shaped string in `text`, as `tollgate scan` reads one (`API_KEY_IN_TEXT_PATTERN`: also
 * glued after `_` or a capital, `KEY_tg_…`, or with its `_` written `\u005f`), or the whole
 * text (a client secret): what the refusal names the exposed key by.
 */
function keyIn(text: string): string {
  const match = API_KEY_IN_TEXT_PATTERN.exec(text);
  return match === null ? text : match[0].replace(/\\u005f/i, '_');
}

/** The body as bytes, size-checked before decoding so an oversized body costs nothing. */
export function bodyBytes(event: ProxyEvent, maxBytes: number = Limits.maxRequestBodyBytes): Buffer {
  const body = event.body ?? '';
  const tooLarge = () => new InvalidRequest(`The request body exceeds ${maxBytes} bytes.`);
  if (event.isBase64Encoded) {
    if (Math.floor((body.length * 3) / 4) > maxBytes + 2) throw tooLarge();
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length > maxBytes) throw tooLarge();
    return bytes;
  }
  if (body.length > maxBytes || Buffer.byteLength(body, 'utf8') > maxBytes) throw tooLarge();
  return Buffer.from(body, 'utf8');
}

function mediaType(event: ProxyEvent): string | undefined {
  return header(event, 'Content-Type')?.split(';')[0]?.trim().toLowerCase();
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * An `application/x-www-form-urlencoded` body (RFC 6749 §3.2 requires it at the token
 * endpoint). Parameters sent more than once are refused, and one sent without a value is
 * treated as omitted (RFC 6749 §3.1): `scope=` asks for no narrowing, `client_id=` beside
 * Basic names no client. A repeated name is refused even when one of its values is empty.
 */
export function formBody(event: ProxyEvent): FormParams {
  const bytes = bodyBytes(event);
  if (mediaType(event) !== FORM_TYPE) throw new InvalidRequest(`The request body must be ${FORM_TYPE}.`);
  const text = bytes.toString('utf8');
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) throw new InvalidRequest('The form body holds a malformed percent-encoding.');
  const seen = new Set<string>();
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (seen.has(name)) {
      // RFC 8707 §2 allows several resources; this server mints one audience per token.
      if (name === 'resource' || name === 'audience') throw new InvalidTarget('Ask for one resource per token request: a token is for one service.');
      throw new InvalidRequest(`The parameter ${name} must appear at most once.`);
    }
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** A JSON body (`bytes`: the body already read, within another size bound), or `undefined` when there is none. */
export function jsonBody(event: ProxyEvent, bytes: Buffer = bodyBytes(event)): unknown {
  if (bytes.length === 0) return undefined;
  if (mediaType(event) !== 'application/json') throw new InvalidRequest('The request body must be application/json.');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidRequest('The request body is not valid JSON.');
  }
}

/**
 * A path parameter. One that holds an API key (an operator pasted the key where its id or
 * the client id belongs) is refused before any handler can log it; the request line is in
 * the stage's access log already, so the message says to replace the key.
 */
export function pathParameter(event: ProxyEvent, name: string): string | undefined {
  const value = event.pathParameters?.[name] ?? undefined;
  if (value !== undefined && API_KEY_IN_TEXT_PATTERN.test(value)) {
    throw new InvalidRequest(
      `The ${name} in the path is an API key, which is a secret and never goes in a URL. It is in the access logs now: roll or revoke that key.`,
    );
  }
  return value;
}
