/**
 * Validators of setting values, shared by the stack at synth, `npm start` and the functions
 * at cold start: value patterns, route paths and rules, JSON settings, the authorizer cache
 * TTL and the secret-scanning key-list URL. Each returns why a value is refused, or undefined.
 */
import { acceptedAfterExpirySeconds, Defaults, Limits, SettingBounds } from './defaults';
import { HTTP_METHODS, type HttpMethod, type RouteRule } from './gateway-contract';

/** Plain decimal notation, optionally signed or with an exponent: `12`, `-3`, `0.25`, `1e-3`. */
const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * A setting's number from its text (a `-c` value, an environment variable), or undefined
 * when the text is not plain decimal: `Number()` alone would also take `0x1`, `0b1`, `0o7`,
 * `Infinity` and a blank string (as 0), none of which a setting's docs allow.
 */
export function decimalNumber(text: string): number | undefined {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Client ids appear in paths, logs and Basic credentials: keep them plain. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Why an authorizer cache TTL breaks the bound on acceptance after `exp`, or undefined.
 * The stack (`lib/config.ts`) and `npm start` (`local/start-input.ts`) both refuse it.
 */
export function authorizerCacheTtlProblem(ttlSeconds: number, clockSkewSeconds: number = Defaults.clockSkewSeconds): string | undefined {
  const after = acceptedAfterExpirySeconds(ttlSeconds, clockSkewSeconds);
  if (after <= Limits.acceptedAfterExpiryMaxSeconds) return undefined;
  return (
    `must be at most ${Limits.acceptedAfterExpiryMaxSeconds - clockSkewSeconds}: a decision cached just before a token's exp is reused for the whole TTL, ` +
    `so with the ${clockSkewSeconds} s clock skew a token would be accepted up to ${after} s after it expired (at most ${Limits.acceptedAfterExpiryMaxSeconds} s is allowed)`
  );
}

/** Greedy last segment, `{proxy+}`. */
const GREEDY_SEGMENT = /^\{[A-Za-z0-9_]+\+\}$/;
const PARAM_SEGMENT = /^\{[A-Za-z0-9_]+\}$/;
/**
 * RFC 3986 pchar without `*` (a wildcard in an execute-api policy) and `;` (path
 * parameters: Tomcat and Spring strip `;…` from a segment, so `..;` traverses).
 */
const LITERAL_SEGMENT = /^[A-Za-z0-9._~!$&'()+,=:@%-]+$/;

/**
 * Refused in a path segment after decoding, with the control characters and DEL: separators
 * (`/`, `\\`), an escape (`%`, so nothing decodes twice), `*` (an execute-api wildcard), `;`
 * (path parameters: Tomcat and Spring cut a segment there, and Fastify the path), `?` and `#`
 * (an upstream re-reading the path would cut it there).
 */
const AMBIGUOUS_PRINTABLE = '/\\%*;?#';

/**
 * 1 at the ASCII codes a path may not hold ({@link AMBIGUOUS_PRINTABLE}, control characters,
 * DEL): one table for the decoded segments here and the authorizer's per-request scan of the
 * raw path (`requestPath`), which also reads `/` and `%` as separator and escape first.
 */
export const AMBIGUOUS_ASCII: Readonly<Uint8Array> = (() => {
  const table = new Uint8Array(128);
  table.fill(1, 0, 0x20);
  table[0x7f] = 1;
  for (const character of AMBIGUOUS_PRINTABLE) table[character.charCodeAt(0)] = 1;
  return table;
})();

function hasAmbiguousCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x80 && AMBIGUOUS_ASCII[c] === 1) return true;
  }
  return false;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the class is everything outside printable ASCII and NUL to `~`.
const NON_ASCII = /[^\x00-\x7e]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class is ASCII, NUL to `~`.
const ASCII = /[\x00-\x7e]/;

/**
 * A path segment percent-decoded and lower-cased, as the authorizer compares segments
 * with route rules (`lambda/core/authorizer/route-policy.ts`); undefined when decoding makes it
 * ambiguous to upstream frameworks: empty, a dot segment, holding a character of
 * {@link AMBIGUOUS_ASCII}, or a non-ASCII character that another case mapping or
 * Unicode normalisation would turn into a different string.
 */
export function canonicalPathSegment(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    return undefined;
  }
  if (decoded === '' || decoded === '.' || decoded === '..' || hasAmbiguousCharacter(decoded) || EDGE_SPACE_OR_C1.test(decoded)) return undefined;
  const lower = decoded.toLowerCase();
  // Characters whose case or compatibility mapping lands elsewhere (ſ and K fold to s and k in Java
  // and Go, İ to i in Java's per-character folding, fullwidth letters normalise to ASCII): an
  // upstream could read them as another literal.
  if (NON_ASCII.test(decoded) && (decoded.toUpperCase().toLowerCase() !== lower || decoded.normalize('NFKC') !== decoded || foldsToAscii(decoded))) {
    return undefined;
  }
  return lower;
}

/**
 * White space at either end of a segment: Spring before 4.3 (`trimTokens`) and IIS trim a
 * space, so `export%20` runs the `export` handler, and a framework that trims with its
 * language's own `trim` (JavaScript, Python, .NET) also removes the other Unicode white space
 * and U+FEFF. White space inside a segment (`my%20file`) is plain data. Or a C1 control
 * character anywhere (U+0080–U+009F), refused as the C0 ones are.
 */
const EDGE_SPACE_OR_C1 = /^[\p{White_Space}\uFEFF]|[\p{White_Space}\uFEFF]$|[\u0080-\u009F]/u;

/**
 * Whether a non-ASCII character of `text`, case-mapped on its own (once, or there and back),
 * holds an ASCII character: İ (U+0130) lower-cases to i + U+0307 as a string and to i alone
 * in frameworks that fold one character at a time; ẞ (U+1E9E) lower-cases to ß, whose upper
 * case is SS (Python's casefold reads ẞ as ss).
 */
function foldsToAscii(text: string): boolean {
  for (const character of text) {
    if (character.charCodeAt(0) <= 0x7e) continue;
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    if (ASCII.test(lower + upper + lower.toUpperCase() + upper.toLowerCase())) return true;
  }
  return false;
}

/** Why a route path (docs/deploy.md#deploy: `{param}` segments, a final `{proxy+}`) is invalid, or undefined. */
export function routePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'path must start with "/"';
  if (path === '/') return undefined;
  const segments = path.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    if (segment === '') return 'path must not contain empty segments or end with "/"';
    if (GREEDY_SEGMENT.test(segment)) {
      if (i !== segments.length - 1) return 'a greedy {name+} segment must be the last one';
    } else if (!PARAM_SEGMENT.test(segment) && !LITERAL_SEGMENT.test(segment)) {
      return `segment "${segment}" has characters a literal path segment cannot have`;
    } else if (!PARAM_SEGMENT.test(segment) && canonicalPathSegment(segment) === undefined) {
      return `segment "${segment}" is ambiguous (a dot segment, or an escape that decodes to "/", "%" or a control character)`;
    }
  }
  return undefined;
}

/**
 * JSON text of a setting, parsed and checked by `problemOf`: the value, or the message to
 * refuse it with (naming the setting). Each reader wraps the message in its own error type.
 */
export function checkedJson(
  json: string,
  setting: string,
  problemOf: (value: unknown) => string | undefined,
): { readonly value: unknown } | { readonly message: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { message: `${setting} is not valid JSON: ${(error as Error).message}` };
  }
  const problem = problemOf(value);
  return problem ? { message: `${setting}${problem.startsWith('[') ? '' : ' '}${problem}` } : { value };
}

/** Why one route rule is invalid (prefixed with the rule's method and path), or undefined. */
export function routeRuleProblem(rule: unknown): string | undefined {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return 'must be an object {method, path, scopes}';
  const { method, path, scopes, ...extra } = rule as Record<string, unknown>;
  const label = `(${String(method)} ${String(path)})`;
  const unknownFields = Object.keys(extra);
  if (unknownFields.length) return `${label}: unknown field ${unknownFields.map((k) => `"${k}"`).join(', ')}`;
  if (method !== 'ANY' && !HTTP_METHODS.includes(method as HttpMethod)) return `${label}: method must be ANY or one of ${HTTP_METHODS.join(', ')}`;
  if (typeof path !== 'string') return `${label}: path must be a string`;
  const pathProblem = routePathProblem(path);
  if (pathProblem) return `${label}: ${pathProblem}`;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN_PATTERN.test(s))) {
    return `${label}: scopes must be an array of scope tokens (RFC 6749 §3.3)`;
  }
  return undefined;
}

/** Why a list of route rules is invalid (naming the rule by index: `[3] (GET /x): …`), or undefined. */
export function routeRulesProblem(rules: unknown): string | undefined {
  if (!Array.isArray(rules)) return 'must be an array of {method, path, scopes} rules';
  if (rules.length > SettingBounds.routeRulesMax) return `has ${rules.length} rules; at most ${SettingBounds.routeRulesMax} are allowed`;
  const seen = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    const problem = routeRuleProblem(rule);
    if (problem) return `[${i}] ${problem}`;
    const key = `${(rule as RouteRule).method} ${(rule as RouteRule).path}`;
    if (seen.has(key)) return `[${i}] (${key}) duplicates an earlier rule`;
    seen.add(key);
  }
  return undefined;
}

/**
 * Why a secret-scanning key-list URL cannot be used, or undefined: an absolute http(s) URL
 * without credentials or fragment. `httpsOnly` at synth: in AWS the list decides which
 * signatures are GitHub's, so it must come over TLS; local mode and tests serve their own
 * list on loopback.
 */
export function keysUrlProblem(value: unknown, httpsOnly = false): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) return httpsOnly ? 'must use https' : 'must be an http:// or https:// URL';
  if (url.username || url.password || url.hash) return 'must not carry credentials or a fragment';
  return undefined;
}
