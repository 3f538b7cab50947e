/**
 * Typed access to Tollgate's operator API (docs/api.md#operator-api-admin): one method per
 * admin route. Answers are checked against the documented shapes but kept whole (unknown
 * fields pass through), so `--json` prints exactly what the server said.
 *
 * Usable outside the CLI, e.g. by end-to-end tests of local mode:
 * `new AdminApi({ baseUrl: 'http://127.0.0.1:8787', auth: bearerAuth(adminToken) })`.
 */
import { z } from 'zod';
import { LEAK_RESPONSES, type LeakResponse } from '../common/leaks';
import type { ClientLimits as StoredLimits } from '../common/credential-items';
import type { AuthStrategy } from './admin-auth';
import { UnexpectedResponse } from './api-errors';
import { ApiHttp, apiPath, type ApiRequest, type FetchLike } from './api-http';

const epochSeconds = z.number();

export const ApiKeyRecord = z.looseObject({
  keyId: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  status: z.string(),
  createdAt: epochSeconds,
  description: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  expiresAt: epochSeconds.optional(),
  lastUsedAt: epochSeconds.optional(),
  revokedAt: epochSeconds.optional(),
  rolledFrom: z.string().optional(),
  rolledTo: z.string().optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecord>;

/** The one answer that holds a secret: a new key, shown once. */
export const IssuedKey = z.looseObject({ apiKey: z.string(), key: ApiKeyRecord });
export type IssuedKey = z.infer<typeof IssuedKey>;

export const KeyList = z.looseObject({ keys: z.array(ApiKeyRecord), nextToken: z.string().optional() });
export type KeyList = z.infer<typeof KeyList>;

/** Ring timestamps are epoch seconds in `GET /admin/signing-keys` and ISO 8601 in rotation reports. */
const timestamp = z.union([z.number(), z.string()]);

export const SigningKey = z.looseObject({
  kid: z.string(),
  state: z.string(),
  alg: z.string().optional(),
  createdAt: timestamp,
  activateAt: timestamp.optional(),
  activatedAt: timestamp.optional(),
  retiringAt: timestamp.optional(),
  verifyUntil: timestamp.optional(),
  retiredAt: timestamp.optional(),
  compromisedAt: timestamp.optional(),
});
export type SigningKey = z.infer<typeof SigningKey>;

export const SigningKeys = z.looseObject({ keys: z.array(SigningKey) });
export type SigningKeys = z.infer<typeof SigningKeys>;

/** The rotation function's report, passed on by `POST /admin/signing-keys/rotate`. */
export const RotationReport = z.looseObject({
  action: z.string().optional(),
  ring: z.looseObject({ activeKid: z.string().nullable().optional(), keys: z.array(SigningKey) }).optional(),
  changes: z.array(z.unknown()).optional(),
  next: z.looseObject({ action: z.string(), kid: z.string().optional(), at: timestamp }).nullable().optional(),
  problems: z.array(z.string()).optional(),
});
export type RotationReport = z.infer<typeof RotationReport>;

export const ClientLimits = z.looseObject({
  rateLimit: z.number(),
  burstLimit: z.number(),
  /** Absent when the client has no quota. */
  quota: z.looseObject({ limit: z.number(), period: z.string() }).optional(),
});
export type ClientLimits = z.infer<typeof ClientLimits>;

/** `GET` and `PUT /admin/clients/{clientId}/limits`: the limits and whether API Gateway applies them. */
export const ClientLimitsView = z.looseObject({
  clientId: z.string(),
  limits: ClientLimits,
  plan: z.string(),
  usageKeyRegistered: z.boolean(),
  usageError: z.string().optional(),
});
export type ClientLimitsView = z.infer<typeof ClientLimitsView>;

/** One bucket of `GET /admin/clients/{clientId}/usage`. */
export const UsagePoint = z.looseObject({
  start: z.string(),
  requests: z.number(),
  allowed: z.number(),
  throttled: z.number(),
  serverErrors: z.number(),
  denied: z.number(),
  deniedBy: z.record(z.string(), z.number()),
  networks: z.number().optional(),
});
export type UsagePoint = z.infer<typeof UsagePoint>;

export const UsageSeries = z.looseObject({
  clientId: z.string(),
  granularity: z.string(),
  keyId: z.string().optional(),
  route: z.string().optional(),
  from: z.string(),
  to: z.string(),
  points: z.array(UsagePoint),
  totals: UsagePoint.omit({ start: true, networks: true }),
});
export type UsageSeries = z.infer<typeof UsageSeries>;

export const UsageTop = z.looseObject({
  by: z.string(),
  window: z.string(),
  from: z.string(),
  to: z.string(),
  clients: z.array(z.looseObject({ clientId: z.string(), requests: z.number(), denied: z.number(), throttled: z.number() })),
});
export type UsageTop = z.infer<typeof UsageTop>;

export const AnomalyList = z.looseObject({
  anomalies: z.array(
    z.looseObject({
      clientId: z.string(),
      rule: z.string(),
      minute: z.number(),
      baseline: z.number(),
      observed: z.number(),
      response: z.string(),
      flaggedAt: z.number(),
      suspendedUntil: z.number().optional(),
      /** The one key a `key_network_spread` flag is about. */
      keyId: z.string().optional(),
    }),
  ),
});
export type AnomalyList = z.infer<typeof AnomalyList>;

/** `GET`/`PUT …/quota` and `POST …/resume`. */
export const QuotaView = z.looseObject({
  clientId: z.string(),
  quota: z.looseObject({ limit: z.number(), period: z.string() }).optional(),
  period: z.looseObject({ start: z.number(), end: z.number(), used: z.number(), remaining: z.number() }).optional(),
  credits: z
    .looseObject({ granted: z.number(), used: z.number(), remaining: z.number(), refill: z.number(), period: z.string(), nextRefill: z.number() })
    .optional(),
  /** The period's end, while an operator's resume waives the rest of it. */
  quotaWaivedUntil: z.number().optional(),
  suspendedUntil: z.number().optional(),
});
export type QuotaView = z.infer<typeof QuotaView>;

/** `GET`/`PUT /admin/keys/{keyId}/quota` and `POST /admin/keys/{keyId}/resume`. */
export const KeyQuotaView = z.looseObject({
  keyId: z.string(),
  clientId: z.string(),
  quota: z.looseObject({ limit: z.number(), period: z.string() }).optional(),
  period: z.looseObject({ start: z.number(), end: z.number(), used: z.number(), remaining: z.number() }).optional(),
  quotaWaivedUntil: z.number().optional(),
  suspendedUntil: z.number().optional(),
});
export type KeyQuotaView = z.infer<typeof KeyQuotaView>;

/** Query of `GET /admin/clients/{clientId}/usage`; the server checks every value. */
export interface UsageQuery {
  readonly from?: string;
  readonly to?: string;
  readonly granularity?: string;
  readonly keyId?: string;
  readonly route?: string;
}

export interface UsageTopQuery {
  readonly by?: string;
  readonly window?: string;
  readonly limit?: number;
}

/**
 * The body of `PUT …/limits`. It replaces every limit of the client: `quota` absent or
 * `null` both mean "no quota", so leaving it out removes a quota the client had.
 */
export interface SetLimitsInput extends Omit<StoredLimits, 'quota'> {
  readonly quota?: StoredLimits['quota'] | null;
}

export interface CreateKeyInput {
  readonly scopes: readonly string[];
  readonly expiresInDays?: number;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface ListKeysInput {
  readonly limit?: number;
  readonly nextToken?: string;
}

export interface AdminApiOptions {
  /** Base URL of the API, stage path included. */
  readonly baseUrl: string;
  readonly auth: AuthStrategy;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** Shown after "cannot reach <url>" (e.g. "is `npm start` running?"). */
  readonly unreachableHint?: string;
  /** The `Idempotency-Key` of the changes sent (an earlier attempt's, to finish it); default: a fresh one per change. */
  readonly idempotencyKey?: string;
}

export const LeakResponseView = z.looseObject({ clientId: z.string(), leakResponse: z.enum(LEAK_RESPONSES) });
export type LeakResponseView = z.infer<typeof LeakResponseView>;

/** Upper bound on pages `listAllKeys` follows: a server repeating a cursor must not loop forever. */
const MAX_PAGES = 1000;

export const GrantsView = z.looseObject({ clientId: z.string(), grants: z.record(z.string(), z.array(z.string())).nullable() });
export type GrantsView = z.infer<typeof GrantsView>;

export class AdminApi {
  private readonly http: ApiHttp;
  private readonly auth: AuthStrategy;

  constructor(options: AdminApiOptions) {
    this.http = new ApiHttp({
      baseUrl: options.baseUrl,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      ...(options.unreachableHint === undefined ? {} : { unreachableHint: options.unreachableHint }),
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
    });
    this.auth = options.auth;
  }

  createKey(clientId: string, input: CreateKeyInput): Promise<IssuedKey> {
    return this.call(IssuedKey, { method: 'POST', path: apiPath`admin/clients/${clientId}/keys`, json: input });
  }

  listKeys(clientId: string, input: ListKeysInput = {}): Promise<KeyList> {
    return this.call(KeyList, { method: 'GET', path: apiPath`admin/clients/${clientId}/keys`, query: { ...input } });
  }

  /** Every key of the client, following `nextToken` to the end. */
  async listAllKeys(clientId: string, input: Omit<ListKeysInput, 'nextToken'> = {}): Promise<KeyList> {
    const keys: ApiKeyRecord[] = [];
    const seen = new Set<string>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const result = await this.listKeys(clientId, { ...input, ...(nextToken === undefined ? {} : { nextToken }) });
      keys.push(...result.keys);
      nextToken = result.nextToken;
      if (nextToken === undefined) return { keys };
      if (seen.has(nextToken)) break;
      seen.add(nextToken);
    }
    throw new UnexpectedResponse(`listing the keys of ${clientId} did not end: the server keeps returning a nextToken`);
  }

  getKey(keyId: string): Promise<ApiKeyRecord> {
    return this.call(ApiKeyRecord, { method: 'GET', path: apiPath`admin/keys/${keyId}` });
  }

  rollKey(keyId: string, input: { readonly graceSeconds?: number } = {}): Promise<IssuedKey> {
    return this.call(IssuedKey, { method: 'POST', path: apiPath`admin/keys/${keyId}/roll`, json: input });
  }

  async revokeKey(keyId: string): Promise<void> {
    await this.http.send({ method: 'DELETE', path: apiPath`admin/keys/${keyId}`, auth: this.auth, idempotent: true });
  }

  async revokeToken(jti: string): Promise<void> {
    await this.http.send({ method: 'DELETE', path: apiPath`admin/tokens/${jti}`, auth: this.auth, idempotent: true });
  }

  async revokeClient(clientId: string): Promise<void> {
    await this.http.send({ method: 'DELETE', path: apiPath`admin/clients/${clientId}`, auth: this.auth, idempotent: true });
  }

  getLimits(clientId: string): Promise<ClientLimitsView> {
    return this.call(ClientLimitsView, { method: 'GET', path: apiPath`admin/clients/${clientId}/limits` });
  }

  setLimits(clientId: string, input: SetLimitsInput): Promise<ClientLimitsView> {
    return this.call(ClientLimitsView, { method: 'PUT', path: apiPath`admin/clients/${clientId}/limits`, json: input });
  }

  /** A client's `leakResponse`: what a leak report of one of its live keys does. */
  getLeakResponse(clientId: string): Promise<LeakResponseView> {
    return this.call(LeakResponseView, { method: 'GET', path: apiPath`admin/clients/${clientId}/leak-response` });
  }

  setLeakResponse(clientId: string, leakResponse: LeakResponse): Promise<LeakResponseView> {
    return this.call(LeakResponseView, { method: 'PUT', path: apiPath`admin/clients/${clientId}/leak-response`, json: { leakResponse } });
  }

  /** A client's per-service grants (`null`: none, its keys' scopes decide). */
  getGrants(clientId: string): Promise<GrantsView> {
    return this.call(GrantsView, { method: 'GET', path: apiPath`admin/clients/${clientId}/grants` });
  }

  grant(clientId: string, service: string, scopes: readonly string[]): Promise<GrantsView> {
    return this.call(GrantsView, { method: 'PUT', path: apiPath`admin/clients/${clientId}/grants/${service}`, json: { scopes } });
  }

  usage(clientId: string, query: UsageQuery = {}): Promise<UsageSeries> {
    return this.call(UsageSeries, { method: 'GET', path: apiPath`admin/clients/${clientId}/usage`, query: { ...query } });
  }

  usageTop(query: UsageTopQuery = {}): Promise<UsageTop> {
    return this.call(UsageTop, { method: 'GET', path: 'admin/usage/top', query: { ...query } });
  }

  anomalies(query: { readonly days?: number; readonly clientId?: string } = {}): Promise<AnomalyList> {
    return this.call(AnomalyList, { method: 'GET', path: 'admin/anomalies', query: { ...query } });
  }

  getQuota(clientId: string): Promise<QuotaView> {
    return this.call(QuotaView, { method: 'GET', path: apiPath`admin/clients/${clientId}/quota` });
  }

  setQuota(clientId: string, quota: { readonly limit: number; readonly period: string } | null): Promise<QuotaView> {
    return this.call(QuotaView, { method: 'PUT', path: apiPath`admin/clients/${clientId}/quota`, json: { quota } });
  }

  setCredits(clientId: string, credits: { readonly remaining: number; readonly refill: number; readonly period: string } | null): Promise<QuotaView> {
    return this.call(QuotaView, { method: 'PUT', path: apiPath`admin/clients/${clientId}/credits`, json: { credits } });
  }

  setAnomalyPolicy(clientId: string, policy: string): Promise<{ clientId: string; policy: string }> {
    return this.call(z.looseObject({ clientId: z.string(), policy: z.string() }), {
      method: 'PUT',
      path: apiPath`admin/clients/${clientId}/anomaly-policy`,
      json: { policy },
    });
  }

  getKeyQuota(keyId: string): Promise<KeyQuotaView> {
    return this.call(KeyQuotaView, { method: 'GET', path: apiPath`admin/keys/${keyId}/quota` });
  }

  setKeyQuota(keyId: string, quota: { readonly limit: number; readonly period: string } | null): Promise<KeyQuotaView> {
    return this.call(KeyQuotaView, { method: 'PUT', path: apiPath`admin/keys/${keyId}/quota`, json: { quota } });
  }

  resumeKey(keyId: string): Promise<KeyQuotaView> {
    return this.call(KeyQuotaView, { method: 'POST', path: apiPath`admin/keys/${keyId}/resume`, json: {} });
  }

  resumeClient(clientId: string): Promise<QuotaView> {
    return this.call(QuotaView, { method: 'POST', path: apiPath`admin/clients/${clientId}/resume`, json: {} });
  }

  signingKeys(): Promise<SigningKeys> {
    return this.call(SigningKeys, { method: 'GET', path: 'admin/signing-keys' });
  }

  rotateSigningKeys(): Promise<RotationReport> {
    return this.call(RotationReport, { method: 'POST', path: 'admin/signing-keys/rotate', json: {} });
  }

  private async call<T>(schema: z.ZodType<T>, request: Omit<ApiRequest, 'auth'>): Promise<T> {
    // Every admin mutation is idempotent by key (docs/api.md, "Dependency failures, retries and `Idempotency-Key`").
    const { body } = await this.http.send({ ...request, auth: this.auth, idempotent: request.method !== 'GET' });
    const parsed = schema.safeParse(body);
    // The schemas only check (no transforms), so the body itself is returned: key order and all.
    if (parsed.success) return body as T;
    // Issues name paths and expected types, never values (the body may hold a new API key).
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    throw new UnexpectedResponse(`unexpected answer to ${request.method} /${request.path.replace(/\?.*$/, '')}: ${problems}`);
  }
}
