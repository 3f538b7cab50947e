/**
 * The token function, assembled from its environment and SDK clients: configuration is read
 * and validated once (cold start), then each event is parse → core → response.
 * `handler.ts` builds it at module scope; tests build it with their own env and clients.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ApiPath } from '../../common/gateway-contract';
import { Defaults, DependencyBudget } from '../../common/defaults';
import { resolveServices, singleService, type ResolvedService } from '../../common/services';
import { authorizationServerMetadata, protectedResourceMetadata } from '../core/issuance/discovery';
import { DEFAULT_RETRY_AFTER_SECONDS, ErrorCode, NotFound } from '../core/shared/issuance-errors';
import { Metric } from '../../common/metrics';
import { DynamoApiKeyStore } from '../adapters/api-key-store';
import { DynamoClientStore } from '../adapters/client-store';
import { withDeadline } from '../adapters/clients/deadline';
import { KmsSigner } from '../adapters/kms-signer';
import { DynamoSigningKeyStore } from '../adapters/signing-key-store';
import { DynamoTokenStore } from '../adapters/token-store';
import { Issuer } from '../core/issuance/issuer';
import { readTokenConfig } from './config';
import { CachedRing } from '../core/issuance/issuing-key';
import { jwkSet } from '../core/issuance/jwks';
import { loggerAudit } from '../http/audit';
import { AuditAction } from '../core/shared/audit';
import { statusOf } from '../http/errors';
import { header, formBody, refuseCredentialsInQuery, type ProxyEvent } from '../http/request';
import { empty, json } from '../http/response';
import { proxyHandler } from '../http/router';
import { documentClient } from '../adapters/clients/dynamodb';
import { type MetricsRecorder, powertoolsLogger, powertoolsMetrics } from '../adapters/clients/powertools';
import { kmsClient } from '../adapters/clients/kms';

type Environment = Readonly<Record<string, string | undefined>>;

export interface TokenAppDependencies {
  readonly env: Environment;
  readonly doc: DynamoDBDocumentClient;
  readonly kms: KMSClient;
  readonly logger: Logger;
  /** Where `TokensIssued` and `TokenIssuanceErrors` go (EMF on stdout in Lambda). */
  readonly metrics: MetricsRecorder;
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

export function createTokenHandler(deps: TokenAppDependencies): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? Date.now;
  const { issuer: config, tables, routes } = readTokenConfig(deps.env);
  const ring = new CachedRing(new DynamoSigningKeyStore(deps.doc, tables.signingKeys), now);
  const audit = loggerAudit(deps.logger);
  const issuer = new Issuer(
    {
      apiKeys: new DynamoApiKeyStore(deps.doc, { apiKeys: tables.apiKeys, clients: tables.clients }),
      clients: new DynamoClientStore(deps.doc, tables.clients),
      tokens: new DynamoTokenStore(deps.doc, tables.tokens),
      ring,
      signer: new KmsSigner(deps.kms),
      audit,
      now,
    },
    config,
  );
  // The single-service form's token function knows the routes too (TOLLGATE_ROUTES), so its metadata names their scopes.
  const discoverable = config.services ?? resolveServices([singleService({ audience: config.audience, routes })], config.issuer);
  const resourceMetadata = (service: ResolvedService | undefined) => {
    if (service === undefined) throw new NotFound(ErrorCode.notFound, 'No service of this server has that name.');
    return json(200, protectedResourceMetadata(config.issuer, service), { 'Cache-Control': `public, max-age=${Defaults.jwksMaxAgeSeconds}` });
  };
  /**
   * The published key set, for the JWKS and the metadata's signing algorithms alike: the
   * ring's, or the last good ring's while it cannot be read (503 only if none was ever read),
   * with the max-age to serve it with.
   */
  const publishedKeys = async () => {
    const { records, stale, failure } = await ring.loadOrLastGood();
    if (failure !== undefined) audit.warn('signing key ring unreadable: serving the last good JWKS', { error: (failure as Error).name });
    const { set, skipped } = jwkSet(records, Math.floor(now() / 1000));
    for (const { kid, problem } of skipped) audit.warn('signing key left out of the JWKS: its public key does not parse', { kid, problem });
    // A stale set is served briefly, so verifiers come back for the fresh one soon after recovery.
    return { set, maxAge: stale ? DEFAULT_RETRY_AFTER_SECONDS : Defaults.jwksMaxAgeSeconds };
  };
  /** The request as the issuer reads it; one that cannot be read is a failed exchange or revocation too, and audited as one. */
  const request = (event: ProxyEvent, action: typeof AuditAction.tokenIssue | typeof AuditAction.tokenRevokeByClient) => {
    try {
      refuseCredentialsInQuery(event);
      const form = formBody(event);
      const authorization = header(event, 'Authorization');
      return authorization === undefined ? { form } : { authorization, form };
    } catch (error) {
      issuer.auditFailure(action, error);
      throw error;
    }
  };

  const exchange = async (event: ProxyEvent) => {
    try {
      const issued = await issuer.exchange(request(event, AuditAction.tokenIssue));
      deps.metrics.addMetric(Metric.tokensIssued, MetricUnit.Count, 1);
      return json(200, issued);
    } catch (error) {
      // A refused client (4xx) is the service working; only our own failures (5xx) count.
      if (statusOf(error) >= 500) deps.metrics.addMetric(Metric.issuanceErrors, MetricUnit.Count, 1);
      throw error;
    } finally {
      deps.metrics.publishStoredMetrics();
    }
  };

  const handle = proxyHandler(
    {
      [ApiPath.token]: { POST: exchange },
      [ApiPath.revoke]: {
        POST: async (event) => {
          await issuer.revoke(request(event, AuditAction.tokenRevokeByClient));
          return empty(200);
        },
      },
      [ApiPath.serverMetadata]: {
        GET: async () => {
          const { set, maxAge } = await publishedKeys();
          const algorithms = [...new Set(set.keys.map((key) => String(key.alg)))].sort();
          return json(200, authorizationServerMetadata(config.issuer, discoverable, algorithms), { 'Cache-Control': `public, max-age=${maxAge}` });
        },
      },
      [ApiPath.resourceMetadata]: { GET: async () => resourceMetadata(discoverable.find((s) => s.pathPrefix === '/')) },
      [ApiPath.resourceMetadataOf]: { GET: async (event) => resourceMetadata(discoverable.find((s) => s.name === event.pathParameters?.service)) },
      [ApiPath.jwks]: {
        GET: async () => {
          const { set, maxAge } = await publishedKeys();
          return json(200, set, { 'Cache-Control': `public, max-age=${maxAge}` });
        },
      },
    },
    deps.logger,
  );
  return (event) => withDeadline(DependencyBudget.requestBudgetMs, () => handle(event));
}

/** The function as Lambda runs it: this execution environment's variables and SDK clients, wired once at cold start. */
export function lambdaTokenApp(): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  return createTokenHandler({
    env: process.env,
    doc: documentClient(),
    kms: kmsClient(),
    logger: powertoolsLogger('token'),
    metrics: powertoolsMetrics('token'),
  });
}
