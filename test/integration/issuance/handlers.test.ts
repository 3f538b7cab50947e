import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EndpointEnv, Env, METRICS_NAMESPACE } from '../../../common/names';
import { Metric, MetricDimension, serviceName } from '../../../common/metrics';
import { Tables } from '../../../common/tables';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { kmsClient as sdkKmsClient } from '../../../lambda/adapters/clients/kms';
import { lambdaClient } from '../../../lambda/adapters/clients/lambda';
import { createAdminHandler } from '../../../lambda/admin/app';
import { ConfigurationError } from '../../../lambda/core/shared/env';
import { createTokenHandler } from '../../../lambda/token/app';
import { adminCall, apiEvent, basicAuth, formPost } from '../../support/api-events';
import { dynamoEndpoint, freshTables, kmsClient, kmsEndpoint } from '../../support/aws';
import { seedSigningKey } from '../../support/signing-keys';
import { captureLogs, logLines, secrets } from './harness';
import * as Setting from '../../../common/settings';

captureLogs();

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

describe('the Lambda entry points (module-scope configuration and clients)', () => {
  it('handler.ts modules read process.env once at import and serve a full create → exchange → JWKS flow', async () => {
    const tables = await freshTables();
    await seedSigningKey(tables, kmsClient());
    Object.assign(process.env, {
      ...tables.env,
      [Env.issuer]: 'https://entry.test',
      [Setting.audience.env]: 'orders-api',
      [Setting.tokenTtlSeconds.env]: '300',
      [Env.rotationFunction]: 'rotation',
      [EndpointEnv.dynamodb]: dynamoEndpoint(),
      [EndpointEnv.kms]: kmsEndpoint(),
    });
    const token = (await import('../../../lambda/token/handler')).handler as Handler;
    const admin = (await import('../../../lambda/admin/handler')).handler as Handler;

    const created = await admin(adminCall('POST', '/admin/clients/{clientId}/keys', { clientId: 'acme' }, { scopes: ['orders:read'] }));
    expect(created.statusCode, created.body).toBe(201);
    const { apiKey } = JSON.parse(created.body) as { apiKey: string };
    secrets.add(apiKey);
    const issued = await token(formPost('/oauth/token', { grant_type: 'client_credentials' }, { Authorization: basicAuth('acme', apiKey) }));
    expect(issued.statusCode, issued.body).toBe(200);
    const { access_token, expires_in } = JSON.parse(issued.body) as { access_token: string; expires_in: number };
    secrets.add(access_token);
    expect(expires_in).toBe(300);
    const payload = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ iss: 'https://entry.test', aud: 'orders-api' });
    // The issuance is counted in CloudWatch's embedded metric format, under the names and the
    // `service` dimension the stack's dashboard reads.
    const emf = logLines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => Metric.tokensIssued in line);
    expect(emf).toMatchObject({
      [Metric.tokensIssued]: 1,
      service: serviceName('token'),
      _aws: { CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[MetricDimension.service]] }] },
    });
    const jwks = await token(apiEvent({ method: 'GET', resource: '/.well-known/jwks.json' }));
    expect((JSON.parse(jwks.body) as { keys: unknown[] }).keys).toHaveLength(1);
  });

  it('fails the cold start with a message naming a missing or invalid setting', async () => {
    const tables = await freshTables();
    const base: Record<string, string> = { ...tables.env, [EndpointEnv.dynamodb]: dynamoEndpoint(), [EndpointEnv.kms]: kmsEndpoint() };
    const deps = (env: Record<string, string>) => ({
      env,
      doc: documentClient(env),
      kms: sdkKmsClient(env),
      lambda: lambdaClient(env),
      logger: new Logger(),
      metrics: new Metrics(),
    });
    expect(() => createTokenHandler(deps(base))).toThrow(new ConfigurationError(`environment variable ${Env.issuer} is required`));
    expect(() => createTokenHandler(deps({ ...base, [Env.issuer]: 'x', [Setting.tokenTtlSeconds.env]: '7200' }))).toThrow(Setting.tokenTtlSeconds.env);
    const withoutTokens = Object.fromEntries(Object.entries(base).filter(([name]) => name !== Tables.tokens.envVar));
    expect(() => createTokenHandler(deps({ ...withoutTokens, [Env.issuer]: 'x' }))).toThrow(Tables.tokens.envVar);
    expect(() => createAdminHandler(deps(base))).toThrow(Env.rotationFunction);
  });
});
