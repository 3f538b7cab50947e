/**
 * OAuth scopes (RFC 6749 §3.3): a space-delimited list of case-sensitive scope-tokens.
 * A token request may only narrow the API key's scopes, never widen them.
 */
import { Limits } from '../../../common/defaults';
import { SCOPE_TOKEN_PATTERN } from '../../../common/setting-checks';
import { InvalidScope } from '../shared/issuance-errors';

export function isScopeToken(value: string): boolean {
  return value.length <= Limits.maxScopeLength && SCOPE_TOKEN_PATTERN.test(value);
}

/** The scope-tokens of a `scope` parameter, duplicates removed, in first-seen order. */
export function parseScopeParameter(raw: string): string[] {
  const tokens = raw.split(' ').filter((token) => token !== '');
  if (tokens.length === 0) throw new InvalidScope('The scope parameter lists no scope.');
  for (const token of tokens) {
    if (!isScopeToken(token)) throw new InvalidScope('The scope parameter holds a malformed scope.');
  }
  return [...new Set(tokens)];
}

/**
 * The scopes to grant: all of the key's when none were requested, else exactly the requested
 * ones, each of which the key must hold (RFC 6749 §3.3 lets the server refuse with `invalid_scope`).
 */
export function grantScopes(requested: readonly string[] | undefined, granted: readonly string[]): string[] {
  if (requested === undefined) return [...granted];
  const allowed = new Set(granted);
  if (requested.some((scope) => !allowed.has(scope))) {
    throw new InvalidScope('The requested scope exceeds the scope granted to this API key.');
  }
  return [...requested];
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}
