/**
 * The real authorizer handler module, configured the way the stack configures it: the
 * signing-key ring in DynamoDB Local (written through the same store the rotation
 * function uses), the table names and endpoint in its environment, then the import, so
 * its cold start reads the ring and the revocation feed over HTTP like in Lambda.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Defaults } from '../../common/defaults';
import { EndpointEnv, Env } from '../../common/names';
import * as Setting from '../../common/settings';
import type { SigningKeyRecord } from '../../common/signing-key-items';
import type { TableNames } from '../../common/tables';
import { DynamoSigningKeyStore } from '../../lambda/adapters/signing-key-store';
import type { AccessTokenVerifier } from '../../lambda/core/authorizer/access-token-verifier';
import type { KeyRingCache } from '../../lambda/core/authorizer/key-ring-cache';
import { createTables, LOCAL_AWS, localDynamoClient, tableEnvironment, tableNames } from '../../local/dynamodb';
import { authorizerEvent, type IncomingCall } from '../../local/events';
import { asDelivered } from '../../local/invoke';
import { AUDIENCE, claims, ISSUER, signToken, type TestKey } from '../../test/unit/authorizer/support/tokens';
import { deployedAuthorizer, deployedVerifier } from './deployed';
import type { Peer } from './peers';

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

/**
 * The handler reads its configuration once, at import: the environment is set first.
 * `{ bundle }`: the bundle CDK deploys, built under `bench/.out/<bundle>/` (what the figures use);
 * `source`: the TypeScript module through tsx, for profiles whose frames keep their names.
 */
export async function importAuthorizer(env: Readonly<Record<string, string>>, from: { bundle: string } | 'source'): Promise<AuthorizerModule> {
  Object.assign(process.env, env);
  if (from === 'source') return import('../../lambda/authorizer/handler');
  return (await import((await deployedAuthorizer(from.bundle)).url)) as AuthorizerModule;
}

/**
 * A `GET /orders/42` REQUEST authorizer event, as the local gateway builds it from an HTTP
 * call, handed over as the Lambda runtime hands it ({@link asDelivered}). That matters to a
 * measurement: built by concatenation, the header is a rope of `Bearer ` and the token's
 * parts, which V8 flattens into a new string on the handler's first read, and a suite keeps
 * its events, so every copy also survives a collection. That cost 4–6 µs an uncached decision
 * on one machine (BENCHMARKS.md, "Events as Lambda delivers them"), and no invocation pays it.
 */
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
  return asDelivered(authorizerEvent(call, '/{proxy+}', { proxy: 'orders/42' }));
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

interface VerifierModule {
  readonly AccessTokenVerifier: typeof AccessTokenVerifier;
  readonly KeyRingCache: typeof KeyRingCache;
}

/**
 * The authorizer's token verification alone, bundled as the function is and set up as the
 * handler sets it up (same verifier, same ring cache, same limits), with nothing of the
 * decision around it: no verified-token cache, revocation view, route match, response or
 * telemetry. Measured beside the peers, it separates "verifies as fast as they do" from
 * "a decision costs more than a verification". `bundle`: its folder under `bench/.out/`.
 */
export async function verificationAlone(key: TestKey, bundle: string): Promise<Peer> {
  const { AccessTokenVerifier, KeyRingCache } = (await import((await deployedVerifier(bundle)).url)) as VerifierModule;
  const keys = new KeyRingCache({ source: { load: async () => [key.record] }, refreshIntervalMs: 3_600_000 });
  await keys.refresh(Date.now());
  // What the handler runs with in the bench's environment: the default skew, the contract's longest lifetime.
  const verifier = new AccessTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    clockSkewSeconds: Defaults.clockSkewSeconds,
    maxLifetimeSeconds: Setting.tokenTtlSeconds.max,
  });
  return { id: 'verifier', name: 'Tollgate verification alone', verify: (token) => verifier.verify(token, keys, Math.floor(Date.now() / 1000)) };
}
