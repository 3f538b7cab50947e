/**
 * The token and admin functions wired exactly as in Lambda — real SDK clients from
 * `lambda/adapters/clients/` over HTTP to DynamoDB Local, the local KMS endpoint and a Lambda Invoke
 * stub — on a fresh set of tables, with an injected clock and every log line captured.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { EndpointEnv, Env } from '../../../common/names';
import type { TableKey } from '../../../common/tables';
import type { KeySpec } from '../../../common/tokens';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { kmsClient as sdkKmsClient } from '../../../lambda/adapters/clients/kms';
import { lambdaClient } from '../../../lambda/adapters/clients/lambda';
import { createAdminHandler } from '../../../lambda/admin/app';
import { createTokenHandler } from '../../../lambda/token/app';
import { dynamoEndpoint, freshTables, kmsClient, kmsEndpoint, type TestTables } from '../../support/aws';
import { adminCall, basicAuth, formPost } from '../../support/api-events';
import { seedSigningKey } from '../../support/signing-keys';

export const ISSUER = 'https://tollgate.test';
export const ROTATION_FUNCTION = 'tollgate-test-rotation';

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface Harness {
  readonly tables: TestTables;
  readonly token: Handler;
  readonly admin: Handler;
  /** Metric name → sum of what the token function emitted. */
  readonly metrics: ReadonlyMap<string, number>;
  /** Epoch seconds of the injected clock. */
  nowSeconds(): number;
  advance(seconds: number): void;
  /** Every item of a table, for asserting that a refused request changed nothing. */
  items(table: TableKey): Promise<Record<string, unknown>[]>;
  /** Creates a key through the admin API; returns the secret and the record. */
  createKey(clientId: string, body?: Record<string, unknown>): Promise<{ apiKey: string; key: Record<string, unknown> }>;
  exchange(clientId: string, apiKey: string, fields?: Record<string, string>): Promise<APIGatewayProxyResult>;
}

/** Secrets seen during a test file; none may appear in any log line. */
export const secrets = new Set<string>();
export const logLines: string[] = [];

/** Captures stdout/stderr (where Powertools Logger writes) for the whole file and checks it at the end. */
export function captureLogs(): void {
  const original = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  beforeAll(() => {
    const capture = (chunk: string | Uint8Array) => {
      logLines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture as typeof process.stderr.write);
  });
  afterAll(() => {
    vi.restoreAllMocks();
    original.out('');
    const auditLines = logLines.filter((line) => line.includes('"audit"'));
    expect(auditLines.length).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(0);
    for (const secret of secrets) {
      const leaking = logLines.find((line) => line.includes(secret));
      expect(leaking, `a log line contains a secret`).toBeUndefined();
    }
  });
}

export interface HarnessOptions {
  readonly keySpec?: KeySpec;
  /** Seed an active signing key (default true). */
  readonly seedKey?: boolean;
  readonly lambdaEndpoint?: string;
  readonly extraEnv?: Record<string, string>;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const tables = await freshTables();
  let clock = Math.floor(Date.now() / 1000) * 1000;
  const now = () => clock;
  if (options.seedKey ?? true) await seedSigningKey(tables, kmsClient(), { keySpec: options.keySpec ?? 'ECC_NIST_P256', nowSeconds: clock / 1000 });
  const env: Record<string, string> = {
    ...tables.env,
    [Env.issuer]: ISSUER,
    [Env.rotationFunction]: ROTATION_FUNCTION,
    [EndpointEnv.dynamodb]: dynamoEndpoint(),
    [EndpointEnv.kms]: kmsEndpoint(),
    [EndpointEnv.lambda]: options.lambdaEndpoint ?? 'http://127.0.0.1:9',
    ...options.extraEnv,
  };
  const doc = documentClient(env);
  const metrics = new Map<string, number>();
  const token = createTokenHandler({
    env,
    doc,
    kms: sdkKmsClient(env),
    logger: new Logger({ serviceName: 'token-test' }),
    metrics: { addMetric: (name, _unit, value) => void metrics.set(name, (metrics.get(name) ?? 0) + value), publishStoredMetrics: () => undefined },
    now,
  });
  const admin = createAdminHandler({ env, doc, lambda: lambdaClient(env), logger: new Logger({ serviceName: 'admin-test' }), now });

  const h: Harness = {
    tables,
    token,
    admin,
    metrics,
    nowSeconds: () => clock / 1000,
    advance: (seconds) => {
      clock += seconds * 1000;
    },
    items: async (table) => {
      const { Items } = await tables.doc.send(new ScanCommand({ TableName: tables.names[table], ConsistentRead: true }));
      return (Items ?? []).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    },
    createKey: async (clientId, body = { scopes: ['orders:read', 'orders:write'] }) => {
      const response = await admin(adminCall('POST', '/admin/clients/{clientId}/keys', { clientId }, body));
      expect(response.statusCode, response.body).toBe(201);
      const created = JSON.parse(response.body) as { apiKey: string; key: Record<string, unknown> };
      secrets.add(created.apiKey);
      return created;
    },
    exchange: async (clientId, apiKey, fields = { grant_type: 'client_credentials' }) => {
      const response = await token(formPost('/oauth/token', fields, { Authorization: basicAuth(clientId, apiKey) }));
      if (response.statusCode === 200) secrets.add((JSON.parse(response.body) as { access_token: string }).access_token);
      return response;
    },
  };
  return h;
}

export function body(response: APIGatewayProxyResult): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** A tiny stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`). */
export interface LambdaStub {
  readonly endpoint: string;
  readonly calls: Array<{ name: string; payload: unknown; invocationType: string | undefined }>;
  respond: (name: string) => { status: number; body: string; functionError?: string };
  close(): Promise<void>;
}

export async function startLambdaStub(): Promise<LambdaStub> {
  const stub: Partial<LambdaStub> & { calls: LambdaStub['calls'] } = { calls: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split('?')[0] ?? '');
      if (req.method !== 'POST' || !match) {
        res.writeHead(404).end();
        return;
      }
      const name = decodeURIComponent(match[1]!);
      const text = Buffer.concat(chunks).toString('utf8');
      stub.calls.push({ name, payload: text ? JSON.parse(text) : undefined, invocationType: req.headers['x-amz-invocation-type'] as string | undefined });
      const answer = stub.respond!(name);
      res.writeHead(answer.status, {
        'Content-Type': 'application/json',
        ...(answer.functionError ? { 'X-Amz-Function-Error': answer.functionError } : {}),
        ...(answer.status >= 400 ? { 'x-amzn-ErrorType': 'ResourceNotFoundException' } : {}),
      });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return Object.assign(stub, {
    endpoint: `http://127.0.0.1:${port}`,
    respond: () => ({ status: 200, body: 'null' }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as LambdaStub;
}
