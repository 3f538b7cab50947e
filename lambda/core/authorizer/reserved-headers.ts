/**
 * Whether a request carries a header of Tollgate's own namespace (`X-Tollgate-*`): such a
 * request is refused by the authorizer, because API Gateway cannot drop a header name from
 * an HTTP proxy integration. The integration maps every name of the upstream header set
 * (common/gateway-contract.ts `UpstreamHeader`), but any other `X-Tollgate-*` name a client sends
 * would reach the upstream as if Tollgate had set it, and AWS does not document what a
 * mapping does to a client's header sent several times or spelled in another case.
 *
 * Names are compared case-insensitively (RFC 9110 §5.1), with `_` read as `-`: CGI-style
 * servers (Rack, WSGI, PHP) turn both into the same `HTTP_X_TOLLGATE_…` variable, so
 * `X_Tollgate_Client_Id` would stand beside or replace the header Tollgate sets. For the
 * same reason the underscore spellings of the method and path overrides the gateway sets
 * (`X_HTTP_Method_Override`, `X_Original_URL`, …: `METHOD_OVERRIDE_HEADERS`,
 * `PATH_OVERRIDE_HEADERS`) are refused; their hyphen spellings are overwritten by the
 * integration and reach the upstream only as Tollgate set them. Both maps of the REQUEST
 * authorizer event are read: `headers` (one value per name) and `multiValueHeaders` (all
 * values of a repeated header), whose key sets API Gateway builds from the same request.
 * `isReserved` runs on every request, the authorizer's cache hits included, inside the one
 * pass over each map that also finds the Authorization header (`bearer.ts`): no allocation
 * but for a name holding `_`, and a key is only looked at past its first character when that
 * is an `x`. `reservedHeaderName` asks the same of a whole request on its own.
 */
import { OVERRIDE_HEADER_NAMES, RESERVED_HEADER_PREFIX } from '../../../common/gateway-contract';

type Names = Readonly<Record<string, unknown>> | null | undefined;

/** The first reserved header name found, as the client spelled it; undefined when none. */
export function reservedHeaderName(headers: Names, multiValueHeaders: Names): string | undefined {
  return firstReserved(headers) ?? firstReserved(multiValueHeaders);
}

function firstReserved(names: Names): string | undefined {
  if (!names) return undefined;
  for (const name in names) if (isReserved(name)) return name;
  return undefined;
}

const PREFIX_LENGTH = RESERVED_HEADER_PREFIX.length;
/** `c | 0x20` equals a lower-case ASCII letter only when c is that letter or its upper case. */
const CASE_BIT = 0x20;
const HYPHEN = 0x2d;
const UNDERSCORE = 0x5f;

/**
 * Every name it refuses starts with `x` and is at least as long as the prefix (the prefix and
 * each override header, the shortest of which has 13 characters), which the first test relies on.
 */
export function isReserved(name: string): boolean {
  if (name.length < PREFIX_LENGTH || (name.charCodeAt(0) | CASE_BIT) !== RESERVED_HEADER_PREFIX.charCodeAt(0)) return false;
  return hasReservedPrefix(name) || (name.includes('_') && OVERRIDE_HEADER_NAMES.has(name.toLowerCase().replaceAll('_', '-')));
}

function hasReservedPrefix(name: string): boolean {
  for (let i = 0; i < PREFIX_LENGTH; i++) {
    const expected = RESERVED_HEADER_PREFIX.charCodeAt(i);
    const actual = name.charCodeAt(i);
    // The prefix's only non-letters are '-', which '_' stands for too.
    if (expected === HYPHEN ? actual !== HYPHEN && actual !== UNDERSCORE : (actual | CASE_BIT) !== expected) return false;
  }
  return true;
}
