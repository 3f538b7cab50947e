/**
 * `tollgate/client`: what a service needs to call APIs behind Tollgate with an API key.
 *
 * ```ts
 * const tollgate = new TollgateClient({
 *   tokenUrl: 'https://api.example.com/v1/oauth/token',
 *   apiKeys: [{ clientId: 'orders-service', apiKey: process.env.TOLLGATE_API_KEY! }],
 * });
 * const response = await tollgate.fetch('https://api.example.com/v1/orders/42');
 * ```
 *
 * The operator API's client (`AdminApi` in `./admin-api`, with `./admin-auth` and
 * `./api-http`) lives in this folder too, but is deliberately not exported here: it is for
 * operators (the CLI, local mode, tests), holds admin credentials, and brings SigV4 signing
 * and zod into a service's import graph that only needs tokens.
 */
export { TollgateClient, type FetchLike, type GetTokenOptions, type TollgateClientEvent, type TollgateClientOptions } from './tollgate-client';
export {
  ApiKeysRejected,
  ApiOriginNotAllowed,
  InvalidTokenResponse,
  TokenRequestRejected,
  TokenServiceUnavailable,
  TollgateClientError,
  type TransientReason,
} from './errors';
export type { RetryOptions } from './backoff';
export {
  basicAuthorization,
  buildTokenRequest,
  parseRetryAfter,
  parseTokenResponse,
  type ApiKeyCredential,
  type TokenGrant,
  type TokenRequest,
} from './token-endpoint';
