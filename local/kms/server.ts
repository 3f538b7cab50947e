/**
 * A local endpoint speaking the AWS KMS JSON 1.1 protocol for the signing-key operations
 * Tollgate uses, so the real `@aws-sdk/client-kms` works against it unchanged. No KMS
 * emulator ships in npm or Debian, hence this one. Started by `npm start` (`local/stack.ts`),
 * the tests' global setup, or on its own: `npx tsx local/kms/cli.ts`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { KmsError, unsupported } from './errors';
import { LocalKeyStore } from './key-store';
import { OPERATIONS } from './operations';
import { CREDENTIAL_SCOPE, header, Members, parseBody, readBody, send, TARGET_PREFIX } from './protocol';

const DEFAULT_REGION = 'us-east-1';

async function dispatch(store: LocalKeyStore, defaultRegion: string, req: IncomingMessage): Promise<Record<string, unknown>> {
  if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://kms').pathname !== '/') {
    throw new KmsError('UnsupportedOperationException', `The local KMS endpoint serves only POST /, not ${req.method} ${req.url}`, 405);
  }
  // Real KMS refuses unsigned requests before looking at them; signatures are not checked here.
  const authorization = req.headers.authorization;
  if (!authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const target = header(req, 'x-amz-target') ?? '';
  const operation = target.startsWith(TARGET_PREFIX) ? OPERATIONS.get(target.slice(TARGET_PREFIX.length)) : undefined;
  if (!operation) throw unsupported(`Operation '${target}' is not supported by the local KMS endpoint`);
  const body = parseBody(await readBody(req));
  const region = CREDENTIAL_SCOPE.exec(authorization)?.[1] ?? defaultRegion;
  return operation({ store, region, members: new Members(body) });
}

async function serve(store: LocalKeyStore, defaultRegion: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  try {
    send(res, 200, await dispatch(store, defaultRegion, req), requestId);
  } catch (caught) {
    const error = caught instanceof KmsError ? caught : internalError(caught);
    send(res, error.status, { __type: error.type, message: error.message }, requestId, error.type);
  }
}

/** Only the stack goes to stderr: nothing here carries key material. */
function internalError(caught: unknown): KmsError {
  console.error('local KMS: internal error', caught instanceof Error ? caught.stack : String(caught));
  return new KmsError('KMSInternalException', 'The request was rejected because an internal exception occurred.', 500);
}

export interface LocalKmsOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Interface to listen on; 127.0.0.1 unless told otherwise. */
  readonly host?: string;
  /** JSON file holding keys (private keys as PKCS#8 PEM) across restarts; absent: memory only. */
  readonly persistPath?: string;
  /** Region for requests whose Authorization header has no SigV4 credential scope. */
  readonly region?: string;
}

export interface LocalKms {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startLocalKms(options: LocalKmsOptions = {}): Promise<LocalKms> {
  const store = LocalKeyStore.open(options.persistPath);
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? DEFAULT_REGION;
  const server = createServer((req, res) => void serve(store, region, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
