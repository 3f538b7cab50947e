/**
 * The token endpoint's core: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) that
 * exchanges an API key for a KMS-signed access token, and token revocation (RFC 7009).
 * Every dependency is a port, so the same code runs against DynamoDB + KMS in Lambda and
 * against fakes of these interfaces in unit tests.
 */
import { Defaults } from '../../../common/defaults';
import { CredentialStatus, TOKEN_RECORD_GRACE_SECONDS } from '../../../common/credential-items';
import { TOKEN_ID_PATTERN } from '../../../common/tokens';
import { accessTokenClaims, accessTokenHeader, newTokenId, tokenLifetime } from './access-token';
import { AuditAction, type AuditLog } from '../shared/audit';
import { authenticate, extractCredentials, type AuthenticatedClient, type FormParams } from './client-auth';
import { tokenUsageKey, type ApiKeyReader, type ClientReader, type TokenWriter } from '../credentials/credentials';
import { ApiError, CredentialsInUrl, InvalidClient, InvalidRequest, TemporarilyUnavailable, UnsupportedGrantType } from '../shared/issuance-errors';
import { issuingKey, type RingSource } from './issuing-key';
import { signCompactJws, unverifiedPayload, type Signer } from './jws';
import { grantScopes, parseScopeParameter, formatScope } from './scopes';
import { requestedService, scopesForService } from './resource-indicators';
import { grantedOn } from '../admin/service-grants';
import { resolveServices, singleService, type ResolvedService } from '../../../common/services';

export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

export interface IssuerConfig {
  readonly issuer: string;
  /** The single-service form's audience. */
  readonly audience: string;
  /**
   * The services tokens are minted for (RFC 8707 `resource`); absent: the single service of
   * `audience`, whose tokens carry every scope of the key, as before services existed.
   */
  readonly services?: readonly ResolvedService[];
  readonly tokenTtlSeconds: number;
  /** `lastUsedAt` is written at most once per this many seconds per key. */
  readonly lastUsedSampleSeconds?: number;
}

export interface IssuerPorts {
  readonly apiKeys: ApiKeyReader;
  readonly clients: ClientReader;
  readonly tokens: TokenWriter;
  readonly ring: RingSource;
  readonly signer: Signer;
  readonly audit: AuditLog;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly newTokenId?: () => string;
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/** What the HTTP layer hands over: the Authorization header (if any) and the form fields. */
export interface TokenEndpointRequest {
  readonly authorization?: string;
  readonly form: FormParams;
}

export class Issuer {
  /** What `resource` may name: the configured services, or the one service of the single-service form. */
  private readonly targets: readonly ResolvedService[];

  constructor(
    private readonly ports: IssuerPorts,
    private readonly config: IssuerConfig,
  ) {
    this.targets = config.services ?? resolveServices([singleService({ audience: config.audience, routes: [] })], config.issuer);
  }

  /** `POST /oauth/token`. */
  async exchange(request: TokenEndpointRequest): Promise<TokenResponse> {
    let authenticated: AuthenticatedClient | undefined;
    try {
      const requestedScopes = parseTokenForm(request.form);
      // Checked before authentication: a malformed request is refused without touching a key.
      const service = requestedService(request.form, this.targets);
      const credentials = extractCredentials(request.authorization, request.form);
      const nowSeconds = this.nowSeconds();
      authenticated = await authenticate(credentials, this.ports, nowSeconds);
      const granted = grantScopes(requestedScopes, authenticated.key.scopes);
      // The single-service form grants every scope of the key, as it always has.
      const ceiling = grantedOn(authenticated.client.grants, service.name);
      const scopes = this.config.services ? scopesForService(granted, requestedScopes !== undefined, service, ceiling) : granted;
      return await this.issue(authenticated, scopes, nowSeconds, service.audience);
    } catch (error) {
      this.auditFailure(AuditAction.tokenIssue, error, authenticated);
      throw error;
    }
  }

  /** `POST /oauth/revoke`: RFC 7009 §2.2 — success for any well-formed request by an authenticated client. */
  async revoke(request: TokenEndpointRequest): Promise<void> {
    let authenticated: AuthenticatedClient | undefined;
    try {
      const credentials = extractCredentials(request.authorization, request.form);
      const token = request.form.get('token');
      if (token === undefined || token === '') throw new InvalidRequest('The token parameter is required.');
      const nowSeconds = this.nowSeconds();
      authenticated = await authenticate(credentials, this.ports, nowSeconds);
      // Unverified on purpose: the jti only selects a record, and the conditional write
      // below checks ownership against our own data, not against anything the token says.
      const jti = unverifiedPayload(token)?.jti;
      const { clientId } = authenticated.key;
      // RFC 7009 §2.2: a token that cannot be one of ours is answered like an unknown one (200, no change).
      const lookup = typeof jti === 'string' && TOKEN_ID_PATTERN.test(jti);
      const revoked = lookup && (await this.ports.tokens.revokeOwned(jti, clientId, nowSeconds));
      this.ports.audit.record({
        action: AuditAction.tokenRevokeByClient,
        outcome: revoked ? 'success' : 'noop',
        ...(revoked ? {} : { reason: lookup ? 'unknown_foreign_or_inactive_token' : 'malformed_token_id' }),
        clientId,
        keyId: authenticated.key.keyId,
        ...(revoked ? { jti } : {}),
      });
    } catch (error) {
      this.auditFailure(AuditAction.tokenRevokeByClient, error, authenticated);
      throw error;
    }
  }

  private async issue(authenticated: AuthenticatedClient, scopes: readonly string[], nowSeconds: number, audience: string): Promise<TokenResponse> {
    const { key, client } = authenticated;
    const signingKey = await issuingKey(this.ports.ring);
    const lifetime = tokenLifetime(nowSeconds, this.config.tokenTtlSeconds, key.expiresAt);
    const claims = accessTokenClaims({
      issuer: this.config.issuer,
      audience,
      clientId: key.clientId,
      keyId: key.keyId,
      scopes,
      jti: (this.ports.newTokenId ?? newTokenId)(),
      nowSeconds,
      lifetimeSeconds: lifetime,
      usageKey: tokenUsageKey(client),
    });
    const [accessToken] = await Promise.all([
      signCompactJws(accessTokenHeader(signingKey), claims, signingKey, this.ports.signer).catch((error: Error) => {
        // A dependency failure already carries the Retry-After its backoff implies.
        if (error instanceof TemporarilyUnavailable) throw error;
        throw new TemporarilyUnavailable(`kms_sign_failed: ${error.name}`);
      }),
      this.touchLastUsed(key.keyId, key.lastUsedAt, nowSeconds),
    ]);
    await this.ports.tokens.put({
      jti: claims.jti,
      clientId: claims.client_id,
      keyId: key.keyId,
      kid: signingKey.kid,
      scope: claims.scope,
      iat: claims.iat,
      exp: claims.exp,
      status: CredentialStatus.Active,
      purgeAt: claims.exp + TOKEN_RECORD_GRACE_SECONDS,
    });
    this.ports.audit.record({
      action: AuditAction.tokenIssue,
      outcome: 'success',
      clientId: key.clientId,
      keyId: key.keyId,
      jti: claims.jti,
      kid: signingKey.kid,
      scope: formatScope(scopes),
      exp: claims.exp,
    });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: claims.scope };
  }

  /** Sampled (docs/api.md#credentials), concurrent with signing, and never able to fail the exchange. */
  private async touchLastUsed(keyId: string, lastUsedAt: number | undefined, nowSeconds: number): Promise<void> {
    const sample = this.config.lastUsedSampleSeconds ?? Defaults.lastUsedSampleSeconds;
    if (lastUsedAt !== undefined && nowSeconds - lastUsedAt < sample) return;
    try {
      await this.ports.apiKeys.touchLastUsed(keyId, nowSeconds, sample);
    } catch (error) {
      this.ports.audit.warn('lastUsedAt update failed', { keyId, error: (error as Error).name });
    }
  }

  /**
   * The audit line of a failed exchange or revocation, also of one refused before it reached
   * the issuer (its request could not be read). Ids come from our records or the error's
   * vetted context, never straight from the request.
   */
  auditFailure(action: typeof AuditAction.tokenIssue | typeof AuditAction.tokenRevokeByClient, error: unknown, authenticated?: AuthenticatedClient): void {
    const context: { clientId?: string; keyId?: string } = error instanceof InvalidClient || error instanceof CredentialsInUrl ? error.context : {};
    this.ports.audit.record({
      action,
      outcome: 'failure',
      reason: failureReason(error),
      clientId: authenticated?.key.clientId ?? context.clientId,
      keyId: authenticated?.key.keyId ?? context.keyId,
    });
  }

  private nowSeconds(): number {
    return Math.floor(this.ports.now() / 1000);
  }
}

function failureReason(error: unknown): string {
  if (error instanceof InvalidClient) return `${error.code}:${error.reason}`;
  if (error instanceof CredentialsInUrl) return `${error.code}:credentials_in_url`;
  if (error instanceof TemporarilyUnavailable) return `${error.code}:${error.reason}`;
  if (error instanceof ApiError) return error.code;
  return 'server_error';
}

/** `grant_type` (RFC 6749 §4.4.2) and the optional `scope`; `undefined` scope means "all the key's". */
function parseTokenForm(form: FormParams): string[] | undefined {
  const grantType = form.get('grant_type');
  if (grantType === undefined || grantType === '') throw new InvalidRequest('The grant_type parameter is required.');
  if (grantType !== CLIENT_CREDENTIALS_GRANT) throw new UnsupportedGrantType('Only grant_type=client_credentials is supported.');
  const scope = form.get('scope');
  return scope === undefined ? undefined : parseScopeParameter(scope);
}
