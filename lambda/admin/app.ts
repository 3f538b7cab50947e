/**
 * The admin function, assembled from its environment and SDK clients (read once, at cold
 * start). Routes come from `common/api-routes.ts`; operators are authenticated before the
 * event arrives (IAM in AWS, the admin token in local mode); this code validates input only.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { API_ROUTES } from '../../common/api-routes';
import { Env } from '../../common/config';
import { Functions } from '../../common/functions';
import type { TableKey } from '../../common/tables';
import { DynamoApiKeyStore } from '../adapters/api-key-store';
import { DynamoClientStore } from '../adapters/client-store';
import { LambdaRotationTrigger } from '../adapters/rotation-trigger';
import { apiGatewayClient } from '../adapters/clients/api-gateway';
import { ApiGatewayUsagePlans } from '../adapters/usage-plans';
import { DynamoSigningKeyStore } from '../adapters/signing-key-store';
import { DynamoTokenStore } from '../adapters/token-store';
import { DynamoUsageReader } from '../adapters/usage-store';
import { DynamoUsageQuotaStore } from '../adapters/usage-quota-store';
import { Admin } from '../core/admin';
import { ClientUsage } from '../core/client-usage';
import { requireString, tableNamesFrom } from '../core/env';
import { UsageRegistrar, usageRegistrationConfigFrom } from '../core/usage-registration';
import { UsageReports } from '../core/usage-report';
import { QuotaAdmin } from '../core/usage-quota-admin';
import { AnomalyAdmin } from '../core/usage-anomaly-admin';
import { DynamoUsageAnomalyStore } from '../adapters/usage-anomaly-store';
import { loggerAudit } from '../http/audit';
import { jsonBody, pathParameter, queryParameters, type ProxyEvent } from '../http/request';
import { empty, json } from '../http/response';
import { proxyHandler, type RouteHandler, type RouteTable } from '../http/router';

type Environment = Readonly<Record<string, string | undefined>>;

export interface AdminAppDependencies {
  readonly env: Environment;
  readonly doc: DynamoDBDocumentClient;
  readonly lambda: LambdaClient;
  /** API Gateway API keys and usage plans (per-client throttling); default: from `env`'s endpoint settings. */
  readonly apiGateway?: APIGatewayClient;
  readonly logger: Logger;
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

/** What each admin route does, keyed as `METHOD resource` exactly as in `API_ROUTES`. */
function operations(admin: Admin, usage: ClientUsage, reports: UsageReports, quotas: QuotaAdmin, anomalies: AnomalyAdmin): Readonly<Record<string, RouteHandler>> {
  const param = pathParameter;
  return {
    'POST /admin/clients/{clientId}/keys': async (e) => json(201, await admin.createKey(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/clients/{clientId}/keys': async (e) => json(200, await admin.listKeys(param(e, 'clientId'), queryParameters(e))),
    'DELETE /admin/clients/{clientId}': (e) => noContent(admin.revokeClient(param(e, 'clientId'))),
    'GET /admin/clients/{clientId}/limits': async (e) => json(200, await usage.limits(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/limits': async (e) => json(200, await usage.setLimits(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/keys/{keyId}': async (e) => json(200, await admin.showKey(param(e, 'keyId'))),
    'DELETE /admin/keys/{keyId}': (e) => noContent(admin.revokeKey(param(e, 'keyId'))),
    'POST /admin/keys/{keyId}/roll': async (e) => json(201, await admin.rollKey(param(e, 'keyId'), jsonBody(e))),
    'DELETE /admin/tokens/{jti}': (e) => noContent(admin.revokeToken(param(e, 'jti'))),
    'GET /admin/signing-keys': async () => json(200, await admin.signingKeys()),
    'POST /admin/signing-keys/rotate': async (e) => json(200, await admin.rotateSigningKeys(jsonBody(e))),
    'GET /admin/clients/{clientId}/usage': async (e) => json(200, await reports.clientUsage(param(e, 'clientId'), queryParameters(e))),
    'GET /admin/usage/top': async (e) => json(200, await reports.top(queryParameters(e))),
    'GET /admin/clients/{clientId}/quota': async (e) => json(200, await quotas.show(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/quota': async (e) => json(200, await quotas.set(param(e, 'clientId'), jsonBody(e))),
    'POST /admin/clients/{clientId}/resume': async (e) => json(200, await quotas.resume(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/credits': async (e) => json(200, await quotas.setCredits(param(e, 'clientId'), jsonBody(e))),
    'PUT /admin/clients/{clientId}/anomaly-policy': async (e) => json(200, await anomalies.setPolicy(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/anomalies': async (e) => json(200, await anomalies.list(queryParameters(e))),
  };
}

async function noContent(work: Promise<void>): Promise<APIGatewayProxyResult> {
  await work;
  return empty(204);
}

/** The route table of every `admin` route in `API_ROUTES`; a route without an operation fails the cold start. */
export function adminRoutes(admin: Admin, usage: ClientUsage, reports: UsageReports, quotas: QuotaAdmin, anomalies: AnomalyAdmin): RouteTable {
  const byRoute = operations(admin, usage, reports, quotas, anomalies);
  const table: Record<string, Record<string, RouteHandler>> = {};
  for (const { method, resource } of API_ROUTES.filter((r) => r.fn === 'admin')) {
    const operation = byRoute[`${method} ${resource}`];
    if (!operation) throw new Error(`admin route ${method} ${resource} has no operation`);
    (table[resource] ??= {})[method] = operation;
  }
  return table;
}

export function createAdminHandler(deps: AdminAppDependencies): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? Date.now;
  const tables = tableNamesFrom(deps.env, Object.keys(Functions.admin.tables) as TableKey[]);
  const usageConfig = usageRegistrationConfigFrom(deps.env);
  const clients = new DynamoClientStore(deps.doc, tables.clients);
  const audit = loggerAudit(deps.logger);
  const usage = new ClientUsage({
    store: clients,
    ...(usageConfig && { registrar: new UsageRegistrar(new ApiGatewayUsagePlans(deps.apiGateway ?? apiGatewayClient(deps.env)), usageConfig) }),
    audit,
  });
  const admin = new Admin({
    apiKeys: new DynamoApiKeyStore(deps.doc, { apiKeys: tables.apiKeys, clients: tables.clients }),
    clients,
    tokens: new DynamoTokenStore(deps.doc, tables.tokens),
    ring: new DynamoSigningKeyStore(deps.doc, tables.signingKeys),
    rotation: new LambdaRotationTrigger(deps.lambda, requireString(deps.env, Env.rotationFunction)),
    usage,
    audit,
    now,
  });
  const reports = new UsageReports(new DynamoUsageReader(deps.doc, tables.usage), now);
  const quotas = new QuotaAdmin(new DynamoUsageQuotaStore(deps.doc, { clients: tables.clients, usage: tables.usage }), audit, now);
  const anomalies = new AnomalyAdmin(new DynamoUsageAnomalyStore(deps.doc, { clients: tables.clients, usage: tables.usage }), audit, now);
  return proxyHandler(adminRoutes(admin, usage, reports, quotas, anomalies), deps.logger);
}
