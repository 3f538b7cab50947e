/**
 * The real authorizer handler module, configured the way the stack configures it: the
 * signing-key ring in DynamoDB Local (written through the same store the rotation
 * function uses), the table names and endpoint in its environment, then the import, so
 * its cold start reads the ring and the revocation feed over HTTP like in Lambda.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EndpointEnv, Env } from '../../common/names';
import * as Setting from '../../common/settings';
import type { SigningKeyRecord } from '../../common/signing-key-items';
import type { TableNames } from '../../common/tables';
import { DynamoSigningKeyStore } from '../../lambda/adapters/signing-key-store';
import { createTables, LOCAL_AWS, localDynamoClient, tableEnvironment, tableNames } from '../../local/dynamodb';
import { authorizerEvent, type IncomingCall } from '../../local/events';
import { AUDIENCE, claims, ISSUER, signToken, type TestKey } from '../../test/unit/authorizer/support/tokens';

export type AuthorizerModule = typeof import('../../lambda/authorizer/handler');

export interface BenchRing {
  readonly names: TableNames;
  /** Everything the authorizer reads from its environment, as the stack sets it. */
  readonly env: Readonly<Record<string, string>>;
}

/** Fresh, uniquely prefixed tables on `endpoint` with `records` in the signing-key ring. */
export async function createRing(endpoint: string, records: readonly SigningKeyRecord[]): Promise<BenchRing> {
  const names = tableNames(`bench${randomBytes(4).toString('hex')}-`);
  const client = localDynamoClient(endpoint);
  try {
    await createTables(client, names);
    const store = new DynamoSigningKeyStore(DynamoDBDocumentClient.from(client), names.signingKeys);
    for (const record of records) await store.put(record);
  } finally {
    client.destroy();
  }
  return {
    names,
    env: {
      ...tableEnvironment(names),
      [EndpointEnv.dynamodb]: endpoint,
      [Env.issuer]: ISSUER,
      [Setting.audience.env]: AUDIENCE,
      AWS_REGION: LOCAL_AWS.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      POWERTOOLS_SERVICE_NAME: 'tollgate-authorizer',
      POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
    },
  };
}

/** The handler reads its configuration once, at import: the environment is set first. */
export async function importAuthorizer(env: Readonly<Record<string, string>>): Promise<AuthorizerModule> {
  Object.assign(process.env, env);
  return import('../../lambda/authorizer/handler');
}

/** A `GET /orders/42` REQUEST authorizer event, as the local gateway builds it from an HTTP call. */
export function authorizerEventFor(token: string): APIGatewayRequestAuthorizerEvent {
  const call: IncomingCall = {
    method: 'GET',
    path: '/orders/42',
    query: new URLSearchParams(),
    headers: new Map([
      ['Host', ['api.example.com']],
      ['Authorization', [`Bearer ${token}`]],
    ]),
    body: Buffer.alloc(0),
    sourceIp: '203.0.113.7',
    requestId: randomBytes(16).toString('hex'),
    receivedAtMs: Date.now(),
  };
  return authorizerEvent(call, '/{proxy+}', { proxy: 'orders/42' });
}

/** `count` distinct valid tokens (each its own jti, so its own signature) for every route of the default rules. */
export function mintTokens(key: TestKey, count: number, nowSeconds = Math.floor(Date.now() / 1000)): string[] {
  return Array.from({ length: count }, () => signToken(key, claims(nowSeconds, { scope: 'orders:read orders:write' })));
}

/** An allow decision, or an error naming what came back: a benchmark of refusals would measure the wrong path. */
export async function expectAllowed(handler: AuthorizerModule['handler'], event: APIGatewayRequestAuthorizerEvent): Promise<void> {
  const result = await handler(event);
  const effect = result.policyDocument.Statement[0]?.Effect;
  if (effect !== 'Allow') throw new Error(`the authorizer did not allow a valid token (first statement: ${effect})`);
}
