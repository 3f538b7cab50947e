/**
 * The authorizer's DynamoDB client (SigV4 over node:http) against DynamoDB Local over real
 * HTTP, next to the SDK reading the same table; and against a scripted HTTP server for
 * the answers DynamoDB Local does not give on demand: throttling, server errors, malformed
 * and oversized answers, a server that never answers, a port nothing listens on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RING_PARTITION, SigningKeyAttr } from '../../../common/signing-key-items';
import { DynamoHttpClient, DynamoHttpError, type DynamoHttpClientOptions } from '../../../lambda/adapters/dynamodb-http/client';
import { queryAll } from '../../../lambda/adapters/dynamodb-query';
import { sdkQueryClient } from '../../../lambda/adapters/sdk-query-client';
import { ringQuery, SigningKeyRingReader } from '../../../lambda/adapters/signing-key-reader';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import { LOCAL_AWS } from '../../../local/dynamodb';
import { dynamoEndpoint, freshTables } from '../../support/aws';
import { closedPortUrl, startHttpStub, type HttpStub, type StubHandler } from '../../support/http-stub';
import { generateTestKey } from '../../unit/authorizer/support/tokens';
import { putKeys } from './support';

const clients: DynamoHttpClient[] = [];
const stubs: HttpStub[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

function client(endpoint: string, options: Partial<DynamoHttpClientOptions> = {}): DynamoHttpClient {
  // random = 0: retries back off by zero ms, so the tests count attempts without waiting.
  const made = new DynamoHttpClient({ endpoint: new URL(endpoint), ...LOCAL_AWS, random: () => 0, ...options });
  clients.push(made);
  return made;
}

async function stub(handler: StubHandler): Promise<HttpStub> {
  const started = await startHttpStub(handler);
  stubs.push(started);
  return started;
}

const QUERY = ringQuery('ring-table');
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the call succeeded'),
    (error: unknown) => error as DynamoHttpError,
  );

describe('DynamoHttpClient against DynamoDB Local', () => {
  it('reads the signing-key ring exactly as the SDK-backed store reads it', async () => {
    const tables = await freshTables();
    await putKeys(tables.doc, tables.names.signingKeys, [
      generateTestKey('ES256'),
      generateTestKey('RS256'),
      generateTestKey('ES256', { verifyUntil: 1_900_000_000 }),
    ]);
    const light = await new SigningKeyRingReader(client(dynamoEndpoint()), tables.names.signingKeys).load();
    const sdk = await new DynamoSigningKeyStore(tables.doc, tables.names.signingKeys).load();
    expect(light).toHaveLength(3);
    expect(light).toEqual(sdk);
  });

  it('follows LastEvaluatedKey page by page like the SDK', async () => {
    const tables = await freshTables();
    await putKeys(tables.doc, tables.names.signingKeys, [generateTestKey('ES256'), generateTestKey('ES256'), generateTestKey('ES256')]);
    const input = { ...ringQuery(tables.names.signingKeys), Limit: 1 };
    const pages: number[] = [];
    const counting = client(dynamoEndpoint());
    const light = await queryAll(
      {
        query: async (page, options) => {
          const result = await counting.query(page, options);
          pages.push(result.Items.length);
          return result;
        },
      },
      input,
    );
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(light).toEqual(await queryAll(sdkQueryClient(tables.doc), input));
    expect(light.every((item) => item[SigningKeyAttr.ring] === RING_PARTITION)).toBe(true);
  });

  it("names DynamoDB's error for a table that does not exist and does not retry it", async () => {
    const error = await failure(client(dynamoEndpoint()).query(ringQuery('no-such-table')));
    expect(error).toBeInstanceOf(DynamoHttpError);
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', statusCode: 400, retryable: false });
  });
});

describe('DynamoHttpClient against a scripted server', () => {
  it('sends a SigV4-signed JSON 1.0 Query with the session token', async () => {
    const server = await stub(() => ({ status: 200, body: { Items: [{ kid: { S: 'k1' }, version: { N: '3' } }], Count: 1 } }));
    const page = await client(server.url, { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' } }).query(QUERY);
    expect(page).toEqual({ Items: [{ kid: 'k1', version: 3 }] });
    const [request] = server.requests;
    expect(request!.headers['x-amz-target']).toBe('DynamoDB_20120810.Query');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request!.headers['x-amz-security-token']).toBe('session');
    expect(request!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(request!.body)).toEqual({
      TableName: 'ring-table',
      KeyConditionExpression: '#ring = :ring',
      ExpressionAttributeNames: { '#ring': SigningKeyAttr.ring },
      ExpressionAttributeValues: { ':ring': { S: RING_PARTITION } },
      ConsistentRead: true,
    });
  });

  it('retries a throttling error and succeeds when DynamoDB recovers', async () => {
    const throttled = { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'Rate exceeded' } };
    const server = await stub(() => (server.requests.length < 3 ? throttled : { status: 200, body: { Items: [] } }));
    expect(await client(server.url).query(QUERY)).toEqual({ Items: [] });
    expect(server.requests).toHaveLength(3);
  });

  it("gives up on throttling after three attempts with DynamoDB's error code", async () => {
    const server = await stub(() => ({ status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' } }));
    const error = await failure(client(server.url).query(QUERY));
    expect(error).toMatchObject({ name: 'ThrottlingException', message: 'slow down', statusCode: 400, retryable: true, throttling: true });
    expect(server.requests).toHaveLength(3);
  });

  it('retries 5xx answers, and never a client error such as ValidationException', async () => {
    const unavailable = await stub(() => ({ status: 503, body: 'Service Unavailable' }));
    expect(await failure(client(unavailable.url, { maxAttempts: 2 }).query(QUERY))).toMatchObject({ name: 'HTTP503', statusCode: 503 });
    expect(unavailable.requests).toHaveLength(2);
    const invalid = await stub(() => ({ status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message: 'bad key condition' } }));
    expect(await failure(client(invalid.url).query(QUERY))).toMatchObject({ name: 'ValidationException', retryable: false });
    expect(invalid.requests).toHaveLength(1);
  });

  it('refuses a malformed answer instead of reading it as an empty page', async () => {
    for (const body of [
      'not json',
      { Count: 0 },
      { Items: 'none' },
      { Items: [{ kid: { X: 'unknown type' } }] },
      { Items: [{ kid: { S: 1 } }] },
      { Items: [], LastEvaluatedKey: 'x' },
    ]) {
      const server = await stub(() => ({ status: 200, body }));
      expect(await failure(client(server.url).query(QUERY))).toMatchObject({ name: 'MalformedResponse', retryable: false });
      expect(server.requests).toHaveLength(1);
    }
  });

  it('refuses an answer larger than its limit', async () => {
    const server = await stub(() => ({ status: 200, body: { Items: [{ kid: { S: 'x'.repeat(5000) } }] } }));
    expect(await failure(client(server.url, { maxResponseBytes: 1000 }).query(QUERY))).toMatchObject({ name: 'ResponseTooLarge' });
  });

  it("gives up on a server that never answers once the call's deadline passes", async () => {
    const server = await stub(() => new Promise(() => undefined));
    const error = await failure(client(server.url).query(QUERY, { timeoutMs: 300 }));
    expect(error).toMatchObject({ name: 'TimeoutError', retryable: true });
    // Each attempt had its share of the deadline, and every one was used up.
    expect(server.requests).toHaveLength(3);
  });

  it('retries a request that hangs (a connection that died while the instance was frozen) within the deadline', async () => {
    const server = await stub(() => (server.requests.length === 1 ? new Promise(() => undefined) : { status: 200, body: { Items: [] } }));
    expect(await client(server.url).query(QUERY, { timeoutMs: 3000 })).toEqual({ Items: [] });
    expect(server.requests).toHaveLength(2);
  });

  it('retries a refused connection, then fails with the socket error', async () => {
    const error = await failure(client(await closedPortUrl()).query(QUERY));
    expect(error).toMatchObject({ name: 'ECONNREFUSED', retryable: true });
  });
});
