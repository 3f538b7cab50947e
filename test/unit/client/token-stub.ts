/**
 * A scripted token endpoint for the client tests: answers `POST /oauth/token` from a queue
 * of canned answers (then with fresh tokens), and records which credential each request used.
 */
import { randomBytes } from 'node:crypto';
import { startHttpStub, type HttpStub, type RecordedRequest, type StubResponse } from '../../support/http-stub';

export interface SeenCredential {
  readonly scheme: 'basic' | 'bearer';
  readonly clientId?: string;
  readonly apiKey: string;
}

export interface TokenStub extends HttpStub {
  readonly tokenUrl: string;
  /** Tokens the stub issued, in order. */
  readonly issued: string[];
  /** Answers to give before falling back to issuing tokens; a function sees the request. */
  readonly script: Array<StubResponse | ((request: RecordedRequest) => StubResponse)>;
  tokenRequests(): RecordedRequest[];
}

export function credentialOf(request: RecordedRequest): SeenCredential {
  const authorization = request.headers.authorization ?? '';
  const [scheme, value = ''] = authorization.split(' ');
  if (scheme === 'Bearer') return { scheme: 'bearer', apiKey: value };
  // RFC 6749 §2.3.1: each part was form-urlencoded before base64.
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  return { scheme: 'basic', clientId: formDecode(decoded.slice(0, colon)), apiKey: formDecode(decoded.slice(colon + 1)) };
}

export function issueToken(issued: string[], expiresIn: number, scope = 'orders:read'): StubResponse {
  const token = `tok_${randomBytes(16).toString('hex')}`;
  issued.push(token);
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope },
  };
}

export const INVALID_CLIENT: StubResponse = {
  status: 401,
  body: { error: 'invalid_client', error_description: 'Client authentication failed.' },
};

export function unavailable(retryAfter?: string): StubResponse {
  return {
    status: 503,
    ...(retryAfter === undefined ? {} : { headers: { 'Retry-After': retryAfter } }),
    body: { error: 'temporarily_unavailable', error_description: 'The token service cannot issue tokens right now; retry shortly.' },
  };
}

export async function startTokenStub(options: { expiresIn?: number } = {}): Promise<TokenStub> {
  const issued: string[] = [];
  const script: TokenStub['script'] = [];
  const stub = await startHttpStub((request) => {
    if (request.method !== 'POST' || request.pathname !== '/oauth/token') return { status: 404, body: { error: 'not_found' } };
    const next = script.shift();
    if (next === undefined) return issueToken(issued, options.expiresIn ?? 900);
    return typeof next === 'function' ? next(request) : next;
  });
  return {
    ...stub,
    tokenUrl: `${stub.url}/oauth/token`,
    issued,
    script,
    tokenRequests: () => stub.requests.filter((request) => request.pathname === '/oauth/token'),
  };
}
