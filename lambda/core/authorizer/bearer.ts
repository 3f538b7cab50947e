/**
 * The bearer token of a request (RFC 6750 §2.1: `Authorization: Bearer <b64token>`).
 * Runs on every request, the cached ones included, so it allocates nothing but the
 * token slice and never scans more than it must.
 */
import { Limits } from '../../../common/defaults';
import { RejectReason, TokenRejected } from './authorizer-errors';

export type HeaderMap = Readonly<Record<string, string | undefined>>;
export type MultiValueHeaderMap = Readonly<Record<string, readonly string[] | undefined>>;

const SCHEME = 'bearer';
/** Room for the scheme and its spaces on top of the token itself. */
const MAX_SCHEME_PREFIX = 16;
const SPACE = 0x20;

/**
 * The one Authorization header value. HTTP header names are case-insensitive (RFC 9110
 * §5.1); API Gateway passes them as the client spelled them, so the two usual spellings
 * are tried first and the map is only scanned for unusual ones. A header sent twice —
 * two values in `multiValueHeaders`, or two spellings — is refused, not guessed at.
 */
export function authorizationHeader(headers: HeaderMap | null | undefined, multi: MultiValueHeaderMap | null | undefined): string {
  if (!headers) throw new TokenRejected(RejectReason.missingToken);
  const upper = headers.Authorization;
  const lower = headers.authorization;
  let name: string;
  let value: string | undefined;
  if (upper !== undefined) {
    if (lower !== undefined) throw new TokenRejected(RejectReason.malformedAuthorization);
    name = 'Authorization';
    value = upper;
  } else if (lower !== undefined) {
    name = 'authorization';
    value = lower;
  } else {
    [name, value] = scanForAuthorization(headers);
  }
  if (value === undefined) throw new TokenRejected(RejectReason.missingToken);
  const values = multi?.[name];
  if (values !== undefined && values.length > 1) throw new TokenRejected(RejectReason.malformedAuthorization);
  return value;
}

function scanForAuthorization(headers: HeaderMap): [string, string | undefined] {
  let found: [string, string | undefined] = ['', undefined];
  for (const key in headers) {
    if (key.length !== 13 || key.toLowerCase() !== 'authorization') continue;
    if (found[1] !== undefined) throw new TokenRejected(RejectReason.malformedAuthorization);
    found = [key, headers[key]];
  }
  return found;
}

/**
 * The token of a `Bearer` credential: scheme matched case-insensitively (RFC 9110 §11.1),
 * one or more spaces, then exactly one token and nothing else. The size limit is checked
 * before anything else looks at the value, so a huge header costs nothing.
 */
export function bearerToken(header: string): string {
  if (header.length > Limits.maxAccessTokenBytes + MAX_SCHEME_PREFIX) throw new TokenRejected(RejectReason.tokenTooLarge);
  if (header.length <= SCHEME.length || header.charCodeAt(SCHEME.length) !== SPACE || !hasBearerScheme(header)) {
    throw new TokenRejected(header.trim() === '' ? RejectReason.missingToken : RejectReason.malformedAuthorization);
  }
  let start = SCHEME.length + 1;
  while (start < header.length && header.charCodeAt(start) === SPACE) start += 1;
  if (start === header.length) throw new TokenRejected(RejectReason.missingToken);
  if (header.indexOf(' ', start) !== -1) throw new TokenRejected(RejectReason.malformedAuthorization);
  if (header.length - start > Limits.maxAccessTokenBytes) throw new TokenRejected(RejectReason.tokenTooLarge);
  return header.slice(start);
}

function hasBearerScheme(header: string): boolean {
  for (let i = 0; i < SCHEME.length; i += 1) {
    // ASCII letters only: OR-ing 0x20 lower-cases them and nothing else can reach `bearer`.
    if ((header.charCodeAt(i) | 0x20) !== SCHEME.charCodeAt(i)) return false;
  }
  return true;
}
