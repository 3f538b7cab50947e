/**
 * Why the authorizer refused a request. The codes are stable (logs, metrics, alarms use
 * them); the caller never sees them — API Gateway answers every 401 with the contract's
 * generic `invalid_token` body (docs/api.md#errors-common-to-all-routes) and every 403 with `insufficient_scope`.
 */

/** Refusals that end in 401 (`throw new Error("Unauthorized")` at the edge). */
export const RejectReason = {
  missingToken: 'missing_token',
  /** Wrong scheme, two tokens, several Authorization headers, whitespace in the token. */
  malformedAuthorization: 'malformed_authorization',
  tokenTooLarge: 'token_too_large',
  /** Not three base64url parts, bad base64url, not UTF-8 JSON objects. */
  malformedToken: 'malformed_token',
  malformedHeader: 'malformed_header',
  /** RFC 7515 §4.1.11: we understand no extension, so any `crit` refuses the token. */
  critUnsupported: 'crit_unsupported',
  wrongType: 'wrong_typ',
  unknownKid: 'unknown_kid',
  /** Header `alg` differs from the algorithm of the ring key named by `kid`. */
  algorithmMismatch: 'alg_mismatch',
  badSignature: 'bad_signature',
  /** A required claim is missing or has the wrong type. */
  invalidClaims: 'invalid_claims',
  wrongIssuer: 'wrong_iss',
  wrongAudience: 'wrong_aud',
  expired: 'expired',
  notYetValid: 'not_yet_valid',
  issuedInFuture: 'iat_in_future',
  /** `exp - iat` exceeds the hard maximum lifetime (the `tokenTtlSeconds` setting's `max`, docs/api.md#credentials). */
  lifetimeTooLong: 'lifetime_too_long',
  revoked: 'revoked',
  /** The revocation view is older than REVOCATION_MAX_STALENESS_S: fail closed (docs/revocation.md). */
  revocationViewStale: 'revocation_view_stale',
  /** The key ring has never been loaded on this instance. */
  keyRingUnavailable: 'key_ring_unavailable',
  /** The request carries an `X-Tollgate-*` header: a name only Tollgate may set (core/authorizer/reserved-headers.ts). */
  reservedHeader: 'reserved_header',
  /** Anything unexpected: refused (401), never an unshaped 500 (docs/api.md#errors-common-to-all-routes). */
  internalError: 'internal_error',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/**
 * Refusals that say nothing about the token: the authorizer could not decide because a
 * dependency is down. Answered 503 (API Gateway's AUTHORIZER_FAILURE gateway response), not
 * 401, and counted as `unavailable`, not `unauthorized` (docs/revocation.md, "Outages").
 */
export const UNAVAILABLE_REASONS: ReadonlySet<RejectReason> = new Set([RejectReason.revocationViewStale, RejectReason.keyRingUnavailable]);

/** Refusals of a valid token that end in 403 (a policy denying the route). */
export const ForbidReason = {
  insufficientScope: 'insufficient_scope',
  /** No route rule matches and TOLLGATE_UNMATCHED_ROUTES is `deny`. */
  unmatchedRoute: 'unmatched_route',
  /**
   * A path upstream frameworks could read as different routes (empty or dot segments, a
   * trailing slash, an encoded separator): refused whatever the token's scopes.
   */
  ambiguousPath: 'ambiguous_path',
  /** The client is suspended until its quota period turns (docs/usage.md). */
  quotaExceeded: 'quota_exceeded',
  /** The client is suspended by an anomaly response (docs/usage.md). */
  suspended: 'suspended',
} as const;
export type ForbidReason = (typeof ForbidReason)[keyof typeof ForbidReason];

/** What is known about a refused token, for the one log line per denial (never the token itself). */
export interface TokenFacts {
  readonly kid?: string;
  readonly clientId?: string;
  readonly jti?: string;
}

/** A token refused by the core; mapped to a 401 decision in one place (`decide`). */
export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
  constructor(
    readonly reason: RejectReason,
    readonly facts: TokenFacts = {},
  ) {
    super(reason);
  }
}
