/**
 * Discovery metadata, so that a standard OAuth client finds everything from the issuer URL
 * alone: RFC 8414 authorization server metadata, and RFC 9728 protected resource metadata
 * for each service the deployment fronts. Built once from the configuration; nothing in it
 * is secret or per request.
 */
import { ApiPath } from '../../../common/gateway-contract';
import type { ResolvedService } from '../../../common/services';

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

/** RFC 8414 §2, for a server that only issues client-credentials tokens. */
export function authorizationServerMetadata(
  issuer: string,
  services: readonly ResolvedService[],
  signingAlgorithms: readonly string[],
): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, '');
  return {
    issuer,
    token_endpoint: `${base}${ApiPath.token}`,
    jwks_uri: `${base}${ApiPath.jwks}`,
    scopes_supported: [...new Set(services.flatMap((s) => s.scopes))].sort(),
    // No authorization endpoint: no response type is supported (RFC 8414 §2 requires the member).
    response_types_supported: [],
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint: `${base}${ApiPath.revoke}`,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // RFC 9068 access tokens are signed with the ring's algorithm.
    access_token_signing_alg_values_supported: [...signingAlgorithms],
    // RFC 9728 §4: the resources this server issues tokens for.
    protected_resources: services.map((s) => s.resource),
  };
}

/** RFC 9728 §2 metadata of one service. */
export function protectedResourceMetadata(issuer: string, service: ResolvedService): Record<string, unknown> {
  return {
    resource: service.resource,
    authorization_servers: [issuer],
    scopes_supported: [...service.scopes],
    bearer_methods_supported: ['header'],
    resource_name: service.name,
  };
}
