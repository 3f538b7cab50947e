/**
 * A fake of OUR OWN HTTP API (docs/api.md) for the CLI tests: the admin routes' shapes and
 * status codes, the token endpoint, an in-memory key table with real API keys, and a
 * record of every request. Deliberately small: it checks what the CLI sends, not what
 * DynamoDB would do (the admin handler's own tests do that). Limits bodies go through the
 * admin function's own schema, so a body the real server would refuse is refused here.
 */
import type { ClientLimits } from '../../../common/credential-items';
import { parseInput } from '../../../lambda/core/admin/admin-input';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { effectiveLimits, LimitsBody, limitsFrom, planKind } from '../../../lambda/core/credentials/client-limits';
import { InvalidRequest } from '../../../lambda/core/shared/issuance-errors';
import { startHttpStub, type HttpStub, type RecordedRequest, type StubResponse } from '../../support/http-stub';

/** 2025-01-01T00:00:00Z */
export const CREATED_AT = 1_735_689_600;

export interface FakeKey {
  keyId: string;
  clientId: string;
  scopes: string[];
  status: string;
  createdAt: number;
  description?: string;
  metadata?: Record<string, unknown>;
  expiresAt?: number;
  lastUsedAt?: number;
  rolledFrom?: string;
  rolledTo?: string;
}

export interface FakeApi extends HttpStub {
  /** Base URL the CLI is pointed at (the stub's URL plus `prefix`). */
  readonly baseUrl: string;
  readonly keys: Map<string, FakeKey>;
  /** Secrets of the keys the fake issued, by keyId. */
  readonly secrets: Map<string, string>;
  /** Limits set with `PUT …/limits`, by clientId (absent: the defaults). */
  readonly limits: Map<string, ClientLimits>;
  /** The JSON body of every answer, in order (what `--json` must print). */
  readonly answers: unknown[];
  /** When set, the next answer is this instead of the fake's own. */
  override?: StubResponse;
  /** The next answers, one per request in order, before `override` and the fake's own. */
  readonly scripted: StubResponse[];
  seedKey(clientId: string, overrides?: Partial<FakeKey>): { key: FakeKey; apiKey: string };
}

export const SIGNING_KEYS = {
  keys: [
    {
      kid: '20250101T0000Z-aaaa1111',
      state: 'retiring',
      alg: 'ES256',
      keySpec: 'ECC_NIST_P256',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/old',
      createdAt: CREATED_AT,
      activatedAt: CREATED_AT + 600,
      retiringAt: CREATED_AT + 86_400,
      verifyUntil: CREATED_AT + 90_000,
    },
    {
      kid: '20250102T0000Z-bbbb2222',
      state: 'active',
      alg: 'ES256',
      keySpec: 'ECC_NIST_P256',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/new',
      createdAt: CREATED_AT + 85_000,
      activateAt: CREATED_AT + 86_400,
      activatedAt: CREATED_AT + 86_400,
    },
  ],
};

export const ROTATION_REPORT = {
  action: 'rotate',
  scheduled: false,
  at: '2025-01-03T00:00:00.000Z',
  ring: {
    version: 7,
    activeKid: '20250102T0000Z-bbbb2222',
    keys: [
      {
        kid: '20250102T0000Z-bbbb2222',
        state: 'active',
        alg: 'ES256',
        keySpec: 'ECC_NIST_P256',
        verifying: true,
        compromised: false,
        kmsKeyArn: 'arn:…/new',
        createdAt: '2025-01-02T00:00:00.000Z',
        activatedAt: '2025-01-02T00:10:00.000Z',
      },
      {
        kid: '20250103T0000Z-cccc3333',
        state: 'pending',
        alg: 'ES256',
        keySpec: 'ECC_NIST_P256',
        verifying: true,
        compromised: false,
        kmsKeyArn: 'arn:…/newest',
        createdAt: '2025-01-03T00:00:00.000Z',
        activateAt: '2025-01-03T00:10:00.000Z',
      },
    ],
  },
  changes: [{ kind: 'state', kid: '20250103T0000Z-cccc3333', to: 'pending', reason: 'rotation requested' }],
  next: { action: 'activate', kid: '20250103T0000Z-cccc3333', at: '2025-01-03T00:10:00.000Z' },
  upcoming: [],
  reconciliation: null,
  hygiene: null,
  problems: [],
};

export interface FakeApiOptions {
  /** Admin routes demand `Authorization: Bearer <this>` (as local mode does); unset: any caller. */
  readonly adminToken?: string;
  /** Stage path in front of every route, e.g. `/v1` as in API Gateway. */
  readonly prefix?: string;
}

const fail = (status: number, error: string, description: string): StubResponse => ({ status, body: { error, error_description: description } });

export async function startFakeApi(options: FakeApiOptions = {}): Promise<FakeApi> {
  const prefix = options.prefix ?? '';
  const keys = new Map<string, FakeKey>();
  const secrets = new Map<string, string>();
  const limits = new Map<string, ClientLimits>();
  const answers: unknown[] = [];
  let api: FakeApi;

  const issue = (template: Omit<FakeKey, 'keyId' | 'status' | 'createdAt'>) => {
    const generated = generateApiKey();
    const key: FakeKey = { keyId: generated.keyId, status: 'active', createdAt: CREATED_AT, lastUsedAt: CREATED_AT, ...template };
    keys.set(key.keyId, key);
    secrets.set(key.keyId, generated.apiKey);
    return { key, apiKey: generated.apiKey };
  };

  const route = (request: RecordedRequest): StubResponse => {
    if (!request.pathname.startsWith(prefix)) return fail(404, 'not_found', 'No route serves this method and path.');
    const path = request.pathname.slice(prefix.length);
    const at = `${request.method} ${path}`;
    if (at === 'POST /oauth/token') return token(request);
    if (options.adminToken !== undefined && request.headers.authorization !== `Bearer ${options.adminToken}`) {
      return fail(401, 'unauthorized', 'Admin routes need "Authorization: Bearer <admin token>"; npm start prints the token.');
    }
    const body = request.body === '' ? {} : (JSON.parse(request.body) as Record<string, unknown>);
    let match: RegExpExecArray | null;
    if ((match = /^POST \/admin\/clients\/([^/]+)\/keys$/.exec(at))) {
      const scopes = body.scopes;
      if (!Array.isArray(scopes) || scopes.length === 0) return fail(400, 'invalid_request', 'Invalid body: scopes: expected array.');
      const { key, apiKey } = issue({
        clientId: decodeURIComponent(match[1]!),
        scopes: scopes as string[],
        ...(typeof body.description === 'string' ? { description: body.description } : {}),
        ...(typeof body.metadata === 'object' ? { metadata: body.metadata as Record<string, unknown> } : {}),
        ...(typeof body.expiresInDays === 'number' ? { expiresAt: CREATED_AT + body.expiresInDays * 86_400 } : {}),
      });
      return { status: 201, body: { apiKey, key } };
    }
    if ((match = /^GET \/admin\/clients\/([^/]+)\/keys$/.exec(at))) return list(decodeURIComponent(match[1]!), request.query);
    if ((match = /^GET \/admin\/keys\/([^/]+)$/.exec(at))) {
      const key = keys.get(decodeURIComponent(match[1]!));
      return key ? { status: 200, body: key } : fail(404, 'key_not_found', 'No API key has this keyId.');
    }
    if ((match = /^POST \/admin\/keys\/([^/]+)\/roll$/.exec(at))) {
      const old = keys.get(decodeURIComponent(match[1]!));
      if (!old) return fail(404, 'key_not_found', 'No API key has this keyId.');
      const { key, apiKey } = issue({ clientId: old.clientId, scopes: old.scopes, rolledFrom: old.keyId });
      old.rolledTo = key.keyId;
      return { status: 201, body: { apiKey, key } };
    }
    if ((match = /^DELETE \/admin\/keys\/([^/]+)$/.exec(at))) {
      const key = keys.get(decodeURIComponent(match[1]!));
      if (!key) return fail(404, 'key_not_found', 'No API key has this keyId.');
      key.status = 'revoked';
      return { status: 204 };
    }
    if (/^DELETE \/admin\/tokens\/[^/]+$/.test(at)) return { status: 204 };
    if ((match = /^DELETE \/admin\/clients\/([^/]+)$/.exec(at))) {
      const owned = [...keys.values()].filter((key) => key.clientId === decodeURIComponent(match![1]!));
      if (owned.length === 0) return fail(404, 'client_not_found', 'No client has this clientId.');
      for (const key of owned) key.status = 'revoked';
      return { status: 204 };
    }
    if ((match = /^(GET|PUT) \/admin\/clients\/([^/]+)\/limits$/.exec(at))) {
      const clientId = decodeURIComponent(match[2]!);
      if (![...keys.values()].some((key) => key.clientId === clientId)) return fail(404, 'client_not_found', 'No client has this clientId.');
      if (match[1] === 'PUT') {
        try {
          limits.set(clientId, limitsFrom(parseInput(LimitsBody, body, 'body')));
        } catch (error) {
          if (error instanceof InvalidRequest) return fail(400, 'invalid_request', error.message);
          throw error;
        }
      }
      const applied = effectiveLimits(limits.get(clientId));
      return { status: 200, body: { clientId, limits: applied, plan: planKind(applied), usageKeyRegistered: true } };
    }
    if (at === 'GET /admin/signing-keys') return { status: 200, body: SIGNING_KEYS };
    if (at === 'POST /admin/signing-keys/rotate') return { status: 200, body: ROTATION_REPORT };
    return fail(404, 'not_found', 'No route serves this method and path.');
  };

  const list = (clientId: string, query: URLSearchParams): StubResponse => {
    const all = [...keys.values()].filter((key) => key.clientId === clientId);
    const limit = Number(query.get('limit') ?? 25);
    const start = Number(query.get('nextToken') ?? 0);
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? { nextToken: String(start + limit) } : {};
    return { status: 200, body: { keys: page, ...next } };
  };

  const token = (request: RecordedRequest): StubResponse => {
    const [scheme, value = ''] = (request.headers.authorization ?? '').split(' ');
    const apiKey = scheme === 'Basic' ? decodeURIComponent(Buffer.from(value, 'base64').toString().split(':')[1] ?? '') : value;
    const keyId = [...secrets].find(([, secret]) => secret === apiKey)?.[0];
    if (!keyId) return fail(401, 'invalid_client', 'Client authentication failed.');
    const scope = new URLSearchParams(request.body).get('scope') ?? keys.get(keyId)!.scopes.join(' ');
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: { access_token: `eyJhbGciOiJFUzI1NiJ9.${keyId}.sig`, token_type: 'Bearer', expires_in: 900, scope },
    };
  };

  const stub = await startHttpStub((request) => {
    const scripted = api.scripted.shift();
    const answer = scripted ?? api.override ?? route(request);
    if (scripted === undefined) api.override = undefined;
    answers.push(answer.body);
    return answer;
  });
  api = {
    ...stub,
    baseUrl: `${stub.url}${prefix}`,
    keys,
    secrets,
    limits,
    answers,
    scripted: [],
    seedKey: (clientId, overrides = {}) => issue({ clientId, scopes: ['orders:read'], ...overrides }),
  };
  return api;
}
