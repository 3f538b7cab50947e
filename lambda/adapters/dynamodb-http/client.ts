/**
 * The authorizer's DynamoDB client: Query over HTTP(S) with SigV4, for its two read
 * calls (the key ring and the revocation feed). Importing the AWS SDK costs the cold
 * start most of its time (BENCHMARKS.md, P5.init); this client needs only `node:http(s)`
 * and `node:crypto`, which the runtime has already loaded.
 *
 * It bounds its own time as an SDK client would (the SDK's standard retry mode, AWS SDK
 * for JavaScript v3 `@smithy/util-retry`): at most `maxAttempts` attempts (3), retrying
 * throttling errors, 5xx answers and connection failures with full-jitter exponential
 * back-off (base 100 ms, 500 ms for throttling), a connect timeout per attempt, and one
 * deadline per call that covers every attempt and back-off, so a hung connection cannot
 * hold a read longer than that. Each attempt gets an equal share of the time left, not
 * all of it: a keep-alive connection that died while Lambda froze the instance swallows
 * the request without an error, and the retry on a new connection must still have time.
 * Answers are size-capped and checked before use.
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions, request as httpRequest } from 'node:http';
import type { DynamoQueryClient, QueryInput, QueryOptions, QueryPage } from '../dynamodb-query';
import { marshallItem, unmarshallItem } from './attribute-values';
import { SigV4Signer, type AwsCredentials } from './sigv4';

export interface DynamoHttpClientOptions {
  /** `https://dynamodb.{region}.amazonaws.com`, or a local endpoint. */
  readonly endpoint: URL;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** Time to establish a new connection (over HTTPS, its TLS handshake included), per attempt. @default 1000 */
  readonly connectTimeoutMs?: number;
  /** Default deadline of one call, every attempt and back-off included. @default 2000 */
  readonly timeoutMs?: number;
  /** @default 3 (the SDK's standard retry mode) */
  readonly maxAttempts?: number;
  /** Largest answer accepted; a Query page holds at most 1 MB of item data. @default 8 MiB */
  readonly maxResponseBytes?: number;
  /** Epoch milliseconds, for request signing. */
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * A failed call. `name` is DynamoDB's error code (`ResourceNotFoundException`,
 * `ProvisionedThroughputExceededException`, …) or one of ours: `TimeoutError`,
 * `MalformedResponse`, `ResponseTooLarge`, or the socket error's code.
 */
export class DynamoHttpError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly statusCode: number | undefined,
    readonly retryable: boolean,
    /** Throttling backs off longer (the SDK's 500 ms base). */
    readonly throttling = false,
  ) {
    super(message);
  }
}

const API_VERSION_TARGET = 'DynamoDB_20120810';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_ATTEMPTS = 3;
/** A page holds at most 1 MB of item data; the JSON wire format (type wrappers, quoting) adds to that, less than doubling it for our items. */
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** The SDK's standard retry mode: base delays for transient and throttling errors, and the cap. */
const RETRY_BASE_MS = 100;
const THROTTLING_RETRY_BASE_MS = 500;
const MAX_RETRY_DELAY_MS = 20_000;
/** @smithy/service-error-classification: error codes retried as throttling. */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
  'TransactionInProgressException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);
/** @smithy/service-error-classification: socket errors retried as transient. */
const TRANSIENT_SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServerError',
  'ServiceUnavailable',
]);

export class DynamoHttpClient implements DynamoQueryClient {
  private readonly signer: SigV4Signer;
  private readonly agent: Agent;
  private readonly send: typeof httpRequest;
  /** When a new socket counts as connected: after the TLS handshake over HTTPS. */
  private readonly connectedEvent: 'connect' | 'secureConnect';
  private readonly host: string;
  private readonly connectTimeoutMs: number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxResponseBytes: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: DynamoHttpClientOptions) {
    const { endpoint } = options;
    if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') throw new Error(`DynamoDB endpoint must be http(s), got ${endpoint.protocol}`);
    this.signer = new SigV4Signer(options.credentials, { region: options.region, service: 'dynamodb' });
    // Only the transport the endpoint needs, and as a CommonJS module: `import … from 'node:http'`
    // makes Node build an ES module of every export of `node:http`, and on Node 24 (the
    // runtime the stack deploys) reading its `WebSocket` export loads undici, about 13 ms of
    // the cold start (BENCHMARKS.md, P5.init).
    const https = endpoint.protocol === 'https:';
    const transport = process.getBuiltinModule(https ? 'node:https' : 'node:http');
    // Keep-alive: the revocation poll runs every few hundred milliseconds, and a TLS handshake per poll would cost more than the Query.
    this.agent = new transport.Agent({ keepAlive: true, maxSockets: 8 });
    this.send = transport.request;
    this.connectedEvent = https ? 'secureConnect' : 'connect';
    this.host = endpoint.host;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** One Query page. `timeoutMs` bounds the whole call (every attempt and back-off). */
  async query(input: QueryInput, options: QueryOptions = {}): Promise<QueryPage> {
    const body = JSON.stringify({
      TableName: input.TableName,
      KeyConditionExpression: input.KeyConditionExpression,
      ExpressionAttributeNames: input.ExpressionAttributeNames,
      ExpressionAttributeValues: marshallItem(input.ExpressionAttributeValues),
      ...(input.ConsistentRead === undefined ? {} : { ConsistentRead: input.ConsistentRead }),
      ...(input.Limit === undefined ? {} : { Limit: input.Limit }),
      ...(input.ExclusiveStartKey === undefined ? {} : { ExclusiveStartKey: marshallItem(input.ExclusiveStartKey) }),
    });
    const answer = await this.call('Query', body, options.timeoutMs ?? this.timeoutMs);
    return queryPage(answer);
  }

  /** Closes idle keep-alive connections (tests, the end of a benchmark). */
  destroy(): void {
    this.agent.destroy();
  }

  private async call(operation: string, body: string, timeoutMs: number): Promise<unknown> {
    const deadline = performance.now() + timeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt(operation, body, deadline, this.maxAttempts - attempt + 1);
      } catch (error) {
        const failure = error instanceof DynamoHttpError ? error : socketFailure(error);
        if (!failure.retryable || attempt >= this.maxAttempts) throw failure;
        const base = failure.throttling ? THROTTLING_RETRY_BASE_MS : RETRY_BASE_MS;
        const delay = this.random() * Math.min(MAX_RETRY_DELAY_MS, base * 2 ** (attempt - 1));
        if (performance.now() + delay >= deadline) throw failure;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private attempt(operation: string, body: string, deadline: number, attemptsLeft: number): Promise<unknown> {
    const remaining = (deadline - performance.now()) / attemptsLeft;
    if (remaining <= 0) return Promise.reject(timeout(`no time left for ${operation}`));
    const headers = this.signer.sign(this.host, { 'content-type': CONTENT_TYPE, 'x-amz-target': `${API_VERSION_TARGET}.${operation}` }, body, this.now());
    const requestOptions: RequestOptions = {
      method: 'POST',
      protocol: this.options.endpoint.protocol,
      hostname: this.options.endpoint.hostname,
      port: this.options.endpoint.port || undefined,
      path: '/',
      agent: this.agent,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value);
      };
      const request: ClientRequest = this.send(requestOptions, (response) => this.read(response, request, finish));
      const timer = setTimeout(() => request.destroy(timeout(`${operation} took longer than ${Math.round(remaining)} ms`)), remaining);
      request.on('socket', (socket) => {
        // A reused keep-alive socket is already connected; a new one gets the connect timeout.
        if (!socket.connecting) return;
        const connectTimer = setTimeout(() => request.destroy(timeout(`connecting took longer than ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
        socket.once(this.connectedEvent, () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      });
      request.on('error', (error) => finish(error));
      request.end(body);
    });
  }

  private read(response: IncomingMessage, request: ClientRequest, finish: (error: Error | undefined, value?: unknown) => void): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > this.maxResponseBytes) {
        finish(new DynamoHttpError('ResponseTooLarge', `the answer exceeds ${this.maxResponseBytes} bytes`, response.statusCode, false));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', (error) => finish(error));
    response.on('end', () => {
      const status = response.statusCode ?? 0;
      const text = Buffer.concat(chunks).toString('utf8');
      if (status === 200) {
        try {
          finish(undefined, JSON.parse(text));
        } catch {
          finish(new DynamoHttpError('MalformedResponse', 'the answer is not JSON', status, false));
        }
        return;
      }
      finish(serviceError(status, text));
    });
  }
}

/** DynamoDB's error body: `{"__type":"com.amazonaws.dynamodb.v20120810#Code","message":"…"}` (AWS JSON 1.0 protocol). */
function serviceError(status: number, text: string): DynamoHttpError {
  let code = '';
  let message = '';
  try {
    const body = JSON.parse(text) as { __type?: unknown; message?: unknown; Message?: unknown };
    if (typeof body.__type === 'string') code = body.__type.slice(body.__type.lastIndexOf('#') + 1);
    const m = body.message ?? body.Message;
    if (typeof m === 'string') message = m;
  } catch {
    // Not JSON (a proxy's error page): classified by status alone.
  }
  const throttling = status === 429 || THROTTLING_CODES.has(code);
  const retryable = throttling || status >= 500 || TRANSIENT_CODES.has(code);
  return new DynamoHttpError(code || `HTTP${status}`, message || `DynamoDB answered ${status}`, status, retryable, throttling);
}

function socketFailure(error: unknown): DynamoHttpError {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  const message = (error as Error)?.message ?? String(error);
  return new DynamoHttpError(code || 'NetworkError', message, undefined, TRANSIENT_SOCKET_CODES.has(code));
}

function timeout(message: string): DynamoHttpError {
  return new DynamoHttpError('TimeoutError', message, undefined, true);
}

function queryPage(answer: unknown): QueryPage {
  const body = answer as { Items?: unknown; LastEvaluatedKey?: unknown } | null;
  if (typeof body !== 'object' || body === null || !Array.isArray(body.Items)) {
    throw new DynamoHttpError('MalformedResponse', 'a Query answer without an Items list', 200, false);
  }
  try {
    const items = body.Items.map(unmarshallItem);
    if (body.LastEvaluatedKey === undefined) return { Items: items };
    return { Items: items, LastEvaluatedKey: unmarshallItem(body.LastEvaluatedKey) as Record<string, string | number> };
  } catch (error) {
    throw new DynamoHttpError('MalformedResponse', `a Query answer with malformed attribute values: ${(error as Error).message}`, 200, false);
  }
}
