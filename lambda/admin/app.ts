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
import { DependencyBudget } from '../../common/defaults';
import { powertoolsLogger } from '../adapters/clients/powertools';
import { DynamoApiKeyStore } from '../adapters/api-key-store';
import { DynamoClientStore } from '../adapters/client-store';
import { LambdaRotationTrigger } from '../adapters/rotation-trigger';
import { apiGatewayClient } from '../adapters/clients/api-gateway';
import { withDeadline } from '../adapters/clients/deadline';
import { ApiGatewayUsagePlans } from '../adapters/usage-plans';
import { DynamoSigningKeyStore } from '../adapters/signing-key-store';
import { DynamoTokenStore } from '../adapters/token-store';
import { DynamoIdempotencyStore } from '../adapters/idempotency-store';
import { leakResponseOf, setLeakResponse } from '../adapters/leak-store';
import { DynamoUsageReader } from '../adapters/usage-store';
import { DynamoUsageQuotaStore } from '../adapters/usage-quota-store';
import { Admin } from '../core/admin/admin';
import { LeakSettings } from '../core/admin/leak-settings';
import { ServiceGrants } from '../core/admin/service-grants';
import { grantsOf, writeGrants } from '../adapters/grant-store';
import type { RandomBytes } from '../core/credentials/api-keys';
import { Idempotency, IDEMPOTENCY_KEY_HEADER } from '../core/admin/idempotency';
import { ClientUsage } from '../core/admin/client-usage';
import { UsageRegistrar } from '../core/credentials/usage-registration';
import { UsageReports } from '../core/usage/usage-report';
import { QuotaAdmin } from '../core/usage/usage-quota-admin';
import { AnomalyAdmin } from '../core/usage/usage-anomaly-admin';
import { DynamoUsageAnomalyStore } from '../adapters/usage-anomaly-store';
import { loggerAudit } from '../http/audit';
import { OperatorScope } from '../http/operator';
import { errorResponse, type ErrorLogger } from '../http/errors';
import { header, jsonBody, pathParameter, queryParameters, type ProxyEvent } from '../http/request';
import { empty, json } from '../http/response';
import { proxyHandler, type RouteHandler, type RouteTable } from '../http/router';
import { readAdminConfig } from './config';
import { documentClient } from '../adapters/clients/dynamodb';
import { lambdaClient } from '../adapters/clients/lambda';

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

const ROTATE_RESOURCE = '/admin/signing-keys/rotate';

/**
 * A route's work; `random` is where a mutation draws new secrets from (derived from the
 * Idempotency-Key when the request has one: see `core/admin/idempotency.ts`).
 */
type Operation = (event: ProxyEvent, random?: RandomBytes) => Promise<APIGatewayProxyResult>;

/** What each admin route does, keyed as `METHOD resource` exactly as in `API_ROUTES`. */
/** Everything the admin routes call into, wired once at cold start. */
export interface AdminOperations {
  readonly admin: Admin;
  readonly usage: ClientUsage;
  readonly leaks: LeakSettings;
  readonly grants: ServiceGrants;
  readonly reports: UsageReports;
  readonly quotas: QuotaAdmin;
  readonly anomalies: AnomalyAdmin;
}

function operations({ admin, usage, leaks, grants, reports, quotas, anomalies }: AdminOperations): Readonly<Record<string, Operation>> {
  const param = pathParameter;
  return {
    'POST /admin/clients/{clientId}/keys': async (e, random) => json(201, await admin.createKey(param(e, 'clientId'), jsonBody(e), random)),
    'GET /admin/clients/{clientId}/keys': async (e) => json(200, await admin.listKeys(param(e, 'clientId'), queryParameters(e))),
    'DELETE /admin/clients/{clientId}': (e) => noContent(admin.revokeClient(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/clients/{clientId}/limits': async (e) => json(200, await usage.limits(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/limits': async (e) => json(200, await usage.setLimits(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/keys/{keyId}': async (e) => json(200, await admin.showKey(param(e, 'keyId'))),
    'DELETE /admin/keys/{keyId}': (e) => noContent(admin.revokeKey(param(e, 'keyId'), jsonBody(e))),
    'POST /admin/keys/{keyId}/roll': async (e, random) => json(201, await admin.rollKey(param(e, 'keyId'), jsonBody(e), random)),
    'DELETE /admin/tokens/{jti}': (e) => noContent(admin.revokeToken(param(e, 'jti'), jsonBody(e))),
    'GET /admin/signing-keys': async () => json(200, await admin.signingKeys()),
    'POST /admin/signing-keys/rotate': async (e) => json(200, await admin.rotateSigningKeys(jsonBody(e))),
    'GET /admin/clients/{clientId}/leak-response': async (e) => json(200, await leaks.get(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/leak-response': async (e) => json(200, await leaks.set(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/clients/{clientId}/grants': async (e) => json(200, await grants.get(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/grants/{service}': async (e) => json(200, await grants.set(param(e, 'clientId'), param(e, 'service'), jsonBody(e))),
    'GET /admin/clients/{clientId}/usage': async (e) => json(200, await reports.clientUsage(param(e, 'clientId'), queryParameters(e))),
    'GET /admin/usage/top': async (e) => json(200, await reports.top(queryParameters(e))),
    'GET /admin/clients/{clientId}/quota': async (e) => json(200, await quotas.show(param(e, 'clientId'))),
    'PUT /admin/clients/{clientId}/quota': async (e) => json(200, await quotas.set(param(e, 'clientId'), jsonBody(e))),
    'POST /admin/clients/{clientId}/resume': async (e) => json(200, await quotas.resume(param(e, 'clientId'), jsonBody(e))),
    'PUT /admin/clients/{clientId}/credits': async (e) => json(200, await quotas.setCredits(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/keys/{keyId}/quota': async (e) => json(200, await quotas.showKey(param(e, 'keyId'))),
    'PUT /admin/keys/{keyId}/quota': async (e) => json(200, await quotas.setKey(param(e, 'keyId'), jsonBody(e))),
    'POST /admin/keys/{keyId}/resume': async (e) => json(200, await quotas.resumeKey(param(e, 'keyId'), jsonBody(e))),
    'PUT /admin/clients/{clientId}/anomaly-policy': async (e) => json(200, await anomalies.setPolicy(param(e, 'clientId'), jsonBody(e))),
    'GET /admin/anomalies': async (e) => json(200, await anomalies.list(queryParameters(e))),
  };
}

async function noContent(work: Promise<void>): Promise<APIGatewayProxyResult> {
  await work;
  return empty(204);
}

/**
 * The route table of every `admin` route in `API_ROUTES`; a route without an operation fails
 * the cold start. Every mutation (any method but GET) honours an `Idempotency-Key`.
 */
export function adminRoutes(parts: AdminOperations, idempotency: Idempotency, log: ErrorLogger): RouteTable {
  const byRoute = operations(parts);
  const table: Record<string, Record<string, RouteHandler>> = {};
  for (const { method, resource } of API_ROUTES.filter((r) => r.fn === 'admin')) {
    const operation = byRoute[`${method} ${resource}`];
    if (!operation) throw new Error(`admin route ${method} ${resource} has no operation`);
    (table[resource] ??= {})[method] = method === 'GET' ? (event) => operation(event) : idempotent(operation, idempotency, log);
  }
  return table;
}

/**
 * The operation run at most once per Idempotency-Key. Its refusals are answers too (a 409
 * for a revoked client is stored and replayed like a 201), so they are shaped here by the
 * one error mapper; a 5xx is not stored (see `Idempotency`).
 */
function idempotent(operation: Operation, idempotency: Idempotency, log: ErrorLogger): RouteHandler {
  return async (event) => {
    const identity = { method: event.httpMethod, resource: event.resource, pathParameters: event.pathParameters, body: event.body };
    const answer = await idempotency.run(
      header(event, IDEMPOTENCY_KEY_HEADER),
      identity,
      async (random) => {
        try {
          return await operation(event, random);
        } catch (error) {
          return errorResponse(error, log);
        }
      },
      budgetOf(event),
    );
    return { statusCode: answer.statusCode, headers: { ...answer.headers }, body: answer.body };
  };
}

export function createAdminHandler(deps: AdminAppDependencies): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? Date.now;
  const config = readAdminConfig(deps.env);
  const { tables, usageRegistration: usageConfig, apiKeyPrefix } = config;
  const clients = new DynamoClientStore(deps.doc, tables.clients);
  const operators = new OperatorScope();
  const audit = loggerAudit(deps.logger, () => operators.current());
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
    rotation: new LambdaRotationTrigger(deps.lambda, config.rotationFunction),
    usage,
    audit,
    now,
    apiKeyPrefix,
  });
  const idempotency = new Idempotency({
    store: new DynamoIdempotencyStore(deps.doc, tables.idempotency),
    now,
    warn: (message, details) => deps.logger.warn(message, { details }),
  });
  const leaks = new LeakSettings({
    read: (clientId) => leakResponseOf(deps.doc, tables.clients, clientId),
    write: (clientId, mode) => setLeakResponse(deps.doc, tables.clients, clientId, mode),
    audit,
  });
  const grants = new ServiceGrants({
    services: config.services,
    read: (clientId) => grantsOf(deps.doc, tables.clients, clientId),
    write: (clientId, before, next) => writeGrants(deps.doc, tables.clients, clientId, before, next),
    audit,
  });
  const reports = new UsageReports(new DynamoUsageReader(deps.doc, tables.usage), now);
  const quotas = new QuotaAdmin(
    new DynamoUsageQuotaStore(deps.doc, { clients: tables.clients, usage: tables.usage, apiKeys: tables.apiKeys }, { consistent: true }),
    audit,
    now,
  );
  const anomalies = new AnomalyAdmin(new DynamoUsageAnomalyStore(deps.doc, { clients: tables.clients, usage: tables.usage }), audit, now);
  const handle = proxyHandler(adminRoutes({ admin, usage, leaks, grants, reports, quotas, anomalies }, idempotency, deps.logger), deps.logger);
  return (event) => operators.run(event, () => withDeadline(budgetOf(event), () => handle(event)));
}

/** Every route answers within the request budget, but rotate, which waits for the rotation function's report. */
function budgetOf(event: ProxyEvent): number {
  return event.resource === ROTATE_RESOURCE ? DependencyBudget.invokeTimeoutMs : DependencyBudget.requestBudgetMs;
}

/** The function as Lambda runs it: this execution environment's variables and SDK clients, wired once at cold start. */
export function lambdaAdminApp(): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  return createAdminHandler({
    env: process.env,
    doc: documentClient(),
    lambda: lambdaClient(),
    apiGateway: apiGatewayClient(),
    logger: powertoolsLogger('admin'),
  });
}
