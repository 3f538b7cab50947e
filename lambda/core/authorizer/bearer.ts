/**
 * The bearer token of a request (RFC 6750 §2.1: `Authorization: Bearer <b64token>`).
 * Runs on every request, the cached ones included, so it allocates nothing but the
 * token slice and reads each header map once.
 */
import { Limits } from '../../../common/defaults';
import { RejectReason, TokenRejected } from './authorizer-errors';
import { isReserved } from './reserved-headers';

export type HeaderMap = Readonly<Record<string, string | undefined>>;
export type MultiValueHeaderMap = Readonly<Record<string, readonly string[] | undefined>>;

const SCHEME = 'bearer';
/** Room for the scheme and its spaces on top of the token itself. */
const MAX_SCHEME_PREFIX = 16;
const SPACE = 0x20;

/**
 * The one Authorization header value. HTTP header names are case-insensitive (RFC 9110
 * §5.1) and API Gateway passes them as the client spelled them, so every spelling counts: a
 * header sent twice — under two spellings, or as two values in `multiValueHeaders` under any
 * of them — is refused, not guessed at (API Gateway's cache key might read the other one).
 * The same pass refuses a header of Tollgate's own namespace first (`isReserved`, whatever
 * else is wrong), so each header map is read once per request; a name's text is compared only
 * when its length and first letter can match.
 */
export function authorizationHeader(headers: HeaderMap | null | undefined, multi: MultiValueHeaderMap | null | undefined): string {
  let value: string | undefined;
  let spellings = 0;
  let values = 0;
  if (headers) {
    for (const name in headers) {
      if (isAuthorization(name)) {
        spellings += 1;
        value = headers[name];
      } else if (isReserved(name)) throw new TokenRejected(RejectReason.reservedHeader);
    }
  }
  if (multi) {
    for (const name in multi) {
      if (isAuthorization(name)) values += multi[name]?.length ?? 0;
      else if (isReserved(name)) throw new TokenRejected(RejectReason.reservedHeader);
    }
  }
  if (spellings > 1) throw new TokenRejected(RejectReason.malformedAuthorization);
  if (value === undefined) throw new TokenRejected(RejectReason.missingToken);
  if (values > 1) throw new TokenRejected(RejectReason.malformedAuthorization);
  return value;
}

const AUTHORIZATION = 'authorization';

function isAuthorization(name: string): boolean {
  return name.length === AUTHORIZATION.length && (name.charCodeAt(0) | 0x20) === 0x61 /* a */ && name.toLowerCase() === AUTHORIZATION;
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
