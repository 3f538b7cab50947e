/**
 * Local stand-in for API Gateway's API keys and usage plans: the REST-JSON operations the
 * admin function's SDK client sends (`/apikeys`, `/usageplans`, `/usageplans/{id}/keys`),
 * in memory and persisted to a JSON file, with the API Gateway rules the registration code
 * relies on: key values are unique (409), a key is in at most one plan per API stage (409),
 * a plan with API stages cannot be deleted (400), deleting a key removes it from its plans.
 * The local gateway reads the same state to enforce each client's throttle and quota.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { QUOTA_PERIODS, type QuotaPeriod } from '../common/credential-items';
import { USAGE_KEY_VALUE_PATTERN } from '../common/tokens';

export interface LocalApiStage {
  readonly apiId: string;
  readonly stage: string;
}

export interface LocalApiKey {
  readonly id: string;
  readonly name: string;
  readonly value: string;
  readonly enabled: boolean;
  readonly description?: string;
  readonly tags: Record<string, string>;
  readonly createdDate: number;
}

export interface LocalUsagePlan {
  readonly id: string;
  name: string;
  description?: string;
  apiStages: LocalApiStage[];
  throttle?: { rateLimit: number; burstLimit: number };
  quota?: { limit: number; period: QuotaPeriod; offset: number };
  tags: Record<string, string>;
  keyIds: string[];
}

interface State {
  apiKeys: LocalApiKey[];
  plans: LocalUsagePlan[];
}

export interface RestRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: string;
}

export interface RestResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The limits that apply to one usage key on one stage, as API Gateway resolves them. */
export interface KeyLimits {
  readonly planId: string;
  readonly keyId: string;
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly quota?: { readonly limit: number; readonly period: QuotaPeriod };
}

/** A REST-JSON error as API Gateway sends it: the type in `x-amzn-ErrorType`, the text in `message`. */
class RestError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new RestError(404, 'NotFoundException', `Invalid ${what} specified`);
const conflict = (message: string) => new RestError(409, 'ConflictException', message);
const badRequest = (message: string) => new RestError(400, 'BadRequestException', message);

const PAGE_LIMIT_MAX = 500;

export class LocalUsagePlans {
  private readonly state: State;

  /** `persistPath`: the JSON file the state survives restarts in; absent: memory only. */
  constructor(private readonly persistPath?: string) {
    this.state = persistPath && existsSync(persistPath) ? (JSON.parse(readFileSync(persistPath, 'utf8')) as State) : { apiKeys: [], plans: [] };
  }

  /** Serves an `/apikeys` or `/usageplans` request; `undefined` for any other path. */
  handle(request: RestRequest): RestResponse | undefined {
    const route = ROUTES.find((candidate) => candidate.method === request.method && candidate.pattern.test(request.path));
    if (!route) return undefined;
    const params = route.pattern.exec(request.path)!.slice(1).map(decodeURIComponent);
    try {
      const body = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
      const response = route.run(this, { params, query: request.query, body });
      if (request.method !== 'GET') this.persist();
      return response;
    } catch (error) {
      if (error instanceof RestError) return { status: error.status, headers: { 'x-amzn-ErrorType': error.type }, body: { message: error.message } };
      if (error instanceof SyntaxError) return { status: 400, headers: { 'x-amzn-ErrorType': 'BadRequestException' }, body: { message: 'Invalid JSON body' } };
      throw error;
    }
  }

  /**
   * What API Gateway does with a `usageIdentifierKey` on a method with `apiKeyRequired`:
   * the enabled key with that value and the plan of `stage` holding it, or `undefined`
   * (a 403 for the caller).
   */
  limitsFor(usageKey: string, stage: LocalApiStage): KeyLimits | undefined {
    const key = this.state.apiKeys.find((candidate) => candidate.value === usageKey);
    if (!key?.enabled) return undefined;
    const plan = this.state.plans.find((candidate) => candidate.keyIds.includes(key.id) && hasStage(candidate, stage));
    if (!plan) return undefined;
    return {
      planId: plan.id,
      keyId: key.id,
      ...(plan.throttle && { throttle: { ...plan.throttle } }),
      ...(plan.quota && { quota: { limit: plan.quota.limit, period: plan.quota.period } }),
    };
  }

  /** Everything held (read-only use: tests and diagnostics). */
  snapshot(): { readonly apiKeys: readonly LocalApiKey[]; readonly plans: readonly LocalUsagePlan[] } {
    return structuredClone(this.state);
  }

  createApiKey(input: { name?: unknown; value?: unknown; enabled?: unknown; description?: unknown; tags?: unknown }): LocalApiKey {
    const value = input.value === undefined ? randomBytes(20).toString('hex') : input.value;
    if (typeof value !== 'string' || !USAGE_KEY_VALUE_PATTERN.test(value)) throw badRequest('API Key value should be at least 20 characters long');
    if (this.state.apiKeys.some((key) => key.value === value)) throw conflict('API Key already exists');
    const key: LocalApiKey = {
      id: newId(),
      name: typeof input.name === 'string' ? input.name : '',
      value,
      enabled: input.enabled === true,
      ...(typeof input.description === 'string' && { description: input.description }),
      tags: stringMap(input.tags),
      createdDate: Math.floor(Date.now() / 1000),
    };
    this.state.apiKeys.push(key);
    return key;
  }

  apiKeys(query: URLSearchParams): RestResponse {
    const name = query.get('name');
    const includeValues = query.get('includeValues') === 'true';
    const matching = this.state.apiKeys.filter((key) => name === null || key.name.startsWith(name));
    return page(
      matching.map((key) => apiKeyView(key, includeValues)),
      query,
    );
  }

  /** GetApiKey: one key, its value only when asked (`includeValue=true`). */
  apiKey(keyId: string, query: URLSearchParams): RestResponse {
    const key = this.state.apiKeys.find((candidate) => candidate.id === keyId);
    if (!key) throw notFound('API Key identifier');
    return { status: 200, body: apiKeyView(key, query.get('includeValue') === 'true') };
  }

  deleteApiKey(keyId: string): RestResponse {
    const index = this.state.apiKeys.findIndex((key) => key.id === keyId);
    if (index < 0) throw notFound('API Key identifier');
    this.state.apiKeys.splice(index, 1);
    for (const plan of this.state.plans) plan.keyIds = plan.keyIds.filter((id) => id !== keyId);
    return { status: 202 };
  }

  createPlan(input: Record<string, unknown>): LocalUsagePlan {
    if (typeof input.name !== 'string' || input.name === '') throw badRequest('Usage plan name is required');
    const plan: LocalUsagePlan = {
      id: newId(),
      name: input.name,
      ...(typeof input.description === 'string' && { description: input.description }),
      apiStages: stagesOf(input.apiStages),
      ...(input.throttle !== undefined && { throttle: throttleOf(input.throttle) }),
      ...(input.quota !== undefined && { quota: quotaOf(input.quota) }),
      tags: stringMap(input.tags),
      keyIds: [],
    };
    this.state.plans.push(plan);
    return plan;
  }

  plans(query: URLSearchParams): RestResponse {
    const keyId = query.get('keyId');
    const matching = this.state.plans.filter((plan) => keyId === null || plan.keyIds.includes(keyId));
    return page(matching.map(planView), query);
  }

  updatePlan(planId: string, body: Record<string, unknown>): RestResponse {
    const plan = this.requirePlan(planId);
    const operations = Array.isArray(body.patchOperations) ? (body.patchOperations as Record<string, unknown>[]) : [];
    const next: LocalUsagePlan = structuredClone(plan);
    for (const operation of operations) applyPatch(next, operation);
    for (const stage of next.apiStages.filter((s) => !hasStage(plan, s))) this.requireNoSharedKey(next, stage);
    Object.assign(plan, next);
    if (!next.throttle) delete plan.throttle;
    if (!next.quota) delete plan.quota;
    return { status: 200, body: planView(plan) };
  }

  deletePlan(planId: string): RestResponse {
    const plan = this.requirePlan(planId);
    if (plan.apiStages.length > 0) {
      const [first] = plan.apiStages;
      throw badRequest(`Cannot delete Usage Plan ${planId} because there are API Stages associated with it, including ${first!.apiId}:${first!.stage}`);
    }
    this.state.plans = this.state.plans.filter((candidate) => candidate.id !== planId);
    return { status: 202 };
  }

  bindKey(planId: string, body: Record<string, unknown>): RestResponse {
    const plan = this.requirePlan(planId);
    if (body.keyType !== 'API_KEY') throw badRequest('Invalid key type specified');
    const key = this.state.apiKeys.find((candidate) => candidate.id === body.keyId);
    if (!key) throw notFound('API Key identifier');
    if (plan.keyIds.includes(key.id)) throw conflict('Usage Plan already contains specified API key');
    const other = this.state.plans.find((candidate) => candidate.keyIds.includes(key.id) && candidate.apiStages.some((stage) => hasStage(plan, stage)));
    if (other) throw conflict(`API Key ${key.id} already associated with a usage plan ${other.id} for the same API stage`);
    plan.keyIds.push(key.id);
    return { status: 201, body: planKeyView(key) };
  }

  planKeys(planId: string, query: URLSearchParams): RestResponse {
    const plan = this.requirePlan(planId);
    const keys = this.state.apiKeys.filter((key) => plan.keyIds.includes(key.id));
    return page(keys.map(planKeyView), query);
  }

  unbindKey(planId: string, keyId: string): RestResponse {
    const plan = this.requirePlan(planId);
    if (!plan.keyIds.includes(keyId)) throw notFound('API Key identifier');
    plan.keyIds = plan.keyIds.filter((id) => id !== keyId);
    return { status: 202 };
  }

  /** By name, else created: what the stack does at start with the default plan and the fallback key. */
  ensurePlan(name: string, stage: LocalApiStage, throttle: { rateLimit: number; burstLimit: number }): LocalUsagePlan {
    const found = this.state.plans.find((plan) => plan.name === name && hasStage(plan, stage));
    const plan = found ?? this.createPlan({ name, apiStages: [{ apiId: stage.apiId, stage: stage.stage }], throttle });
    plan.throttle = { ...throttle };
    this.persist();
    return plan;
  }

  ensureKeyInPlan(name: string, planId: string): LocalApiKey {
    const key = this.state.apiKeys.find((candidate) => candidate.name === name) ?? this.createApiKey({ name, enabled: true });
    const plan = this.requirePlan(planId);
    if (!plan.keyIds.includes(key.id)) plan.keyIds.push(key.id);
    this.persist();
    return key;
  }

  private requirePlan(planId: string): LocalUsagePlan {
    const plan = this.state.plans.find((candidate) => candidate.id === planId);
    if (!plan) throw notFound('Usage Plan ID');
    return plan;
  }

  /** A key may be in one plan per stage: a stage cannot join a plan whose keys another plan of it holds. */
  private requireNoSharedKey(plan: LocalUsagePlan, stage: LocalApiStage): void {
    const clash = this.state.plans.find((other) => other.id !== plan.id && hasStage(other, stage) && other.keyIds.some((keyId) => plan.keyIds.includes(keyId)));
    if (clash) throw conflict(`An API key of this plan is already associated with usage plan ${clash.id} for ${stage.apiId}:${stage.stage}`);
  }

  private persist(): void {
    if (this.persistPath) writeFileSync(this.persistPath, JSON.stringify(this.state));
  }
}

interface RouteContext {
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly run: (plans: LocalUsagePlans, context: RouteContext) => RestResponse;
}

const ID = '([^/]+)';
const ROUTES: readonly Route[] = [
  { method: 'POST', pattern: /^\/apikeys$/, run: (p, c) => ({ status: 201, body: apiKeyView(p.createApiKey(c.body), true) }) },
  { method: 'GET', pattern: /^\/apikeys$/, run: (p, c) => p.apiKeys(c.query) },
  { method: 'GET', pattern: new RegExp(`^/apikeys/${ID}$`), run: (p, c) => p.apiKey(c.params[0]!, c.query) },
  { method: 'DELETE', pattern: new RegExp(`^/apikeys/${ID}$`), run: (p, c) => p.deleteApiKey(c.params[0]!) },
  { method: 'POST', pattern: /^\/usageplans$/, run: (p, c) => ({ status: 201, body: planView(p.createPlan(c.body)) }) },
  { method: 'GET', pattern: /^\/usageplans$/, run: (p, c) => p.plans(c.query) },
  { method: 'PATCH', pattern: new RegExp(`^/usageplans/${ID}$`), run: (p, c) => p.updatePlan(c.params[0]!, c.body) },
  { method: 'DELETE', pattern: new RegExp(`^/usageplans/${ID}$`), run: (p, c) => p.deletePlan(c.params[0]!) },
  { method: 'POST', pattern: new RegExp(`^/usageplans/${ID}/keys$`), run: (p, c) => p.bindKey(c.params[0]!, c.body) },
  { method: 'GET', pattern: new RegExp(`^/usageplans/${ID}/keys$`), run: (p, c) => p.planKeys(c.params[0]!, c.query) },
  { method: 'DELETE', pattern: new RegExp(`^/usageplans/${ID}/keys/${ID}$`), run: (p, c) => p.unbindKey(c.params[0]!, c.params[1]!) },
];

/** The patch paths API Gateway accepts for a plan's throttle, quota and stages. */
function applyPatch(plan: LocalUsagePlan, operation: Record<string, unknown>): void {
  const { op, path, value } = operation;
  const number = () => {
    const parsed = Number(value);
    if (typeof value !== 'string' || !Number.isFinite(parsed)) throw badRequest(`Invalid value for ${String(path)}`);
    return parsed;
  };
  if (op === 'replace' && path === '/throttle/rateLimit') plan.throttle = { burstLimit: plan.throttle?.burstLimit ?? 0, rateLimit: number() };
  else if (op === 'replace' && path === '/throttle/burstLimit') plan.throttle = { rateLimit: plan.throttle?.rateLimit ?? 0, burstLimit: number() };
  else if (op === 'replace' && path === '/quota/limit') plan.quota = { period: plan.quota?.period ?? 'DAY', offset: plan.quota?.offset ?? 0, limit: number() };
  else if (op === 'replace' && path === '/quota/period')
    plan.quota = { limit: plan.quota?.limit ?? 0, offset: plan.quota?.offset ?? 0, period: periodOf(value) };
  else if (op === 'remove' && path === '/quota') delete plan.quota;
  else if (op === 'remove' && path === '/throttle') delete plan.throttle;
  else if ((op === 'add' || op === 'remove') && path === '/apiStages') patchStages(plan, op, value);
  else throw badRequest(`Invalid patch path '${String(path)}' specified for op '${String(op)}'`);
}

function patchStages(plan: LocalUsagePlan, op: 'add' | 'remove', value: unknown): void {
  const match = typeof value === 'string' ? /^([^:]+):(.+)$/.exec(value) : null;
  if (!match) throw badRequest('Invalid API Stage specified');
  const stage = { apiId: match[1]!, stage: match[2]! };
  if (op === 'add') {
    if (!hasStage(plan, stage)) plan.apiStages.push(stage);
    return;
  }
  if (!hasStage(plan, stage)) throw notFound('API Stage');
  plan.apiStages = plan.apiStages.filter((s) => !(s.apiId === stage.apiId && s.stage === stage.stage));
}

function hasStage(plan: Pick<LocalUsagePlan, 'apiStages'>, stage: LocalApiStage): boolean {
  return plan.apiStages.some((s) => s.apiId === stage.apiId && s.stage === stage.stage);
}

function stagesOf(value: unknown): LocalApiStage[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest('apiStages must be a list');
  return value.map((stage: { apiId?: unknown; stage?: unknown }) => {
    if (typeof stage.apiId !== 'string' || typeof stage.stage !== 'string') throw badRequest('Invalid API Stage specified');
    return { apiId: stage.apiId, stage: stage.stage };
  });
}

function throttleOf(value: unknown): { rateLimit: number; burstLimit: number } {
  const { rateLimit, burstLimit } = (value ?? {}) as { rateLimit?: unknown; burstLimit?: unknown };
  if (typeof rateLimit !== 'number' || typeof burstLimit !== 'number') throw badRequest('throttle needs rateLimit and burstLimit');
  return { rateLimit, burstLimit };
}

function quotaOf(value: unknown): { limit: number; period: QuotaPeriod; offset: number } {
  const { limit, period, offset } = (value ?? {}) as { limit?: unknown; period?: unknown; offset?: unknown };
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw badRequest('quota limit must be a whole number');
  return { limit, period: periodOf(period), offset: typeof offset === 'number' ? offset : 0 };
}

function periodOf(value: unknown): QuotaPeriod {
  const period = QUOTA_PERIODS.find((candidate) => candidate === value);
  if (!period) throw badRequest(`Invalid quota period: ${String(value)}`);
  return period;
}

function stringMap(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}

/** API Gateway's resource ids: 10 lowercase letters and digits. */
function newId(): string {
  return Array.from(randomBytes(10), (byte) => '0123456789abcdefghijklmnopqrstuvwxyz'[byte % 36]).join('');
}

function apiKeyView(key: LocalApiKey, includeValue: boolean) {
  const { value, ...rest } = key;
  return { ...rest, lastUpdatedDate: key.createdDate, stageKeys: [], ...(includeValue && { value }) };
}

function planView(plan: LocalUsagePlan) {
  const { keyIds: _keys, ...rest } = plan;
  return structuredClone(rest);
}

function planKeyView(key: LocalApiKey) {
  return { id: key.id, type: 'API_KEY', name: key.name, value: key.value };
}

/** `limit` (at most 500) and an opaque `position`, as API Gateway pages its lists. */
function page(items: readonly unknown[], query: URLSearchParams): RestResponse {
  const limit = Math.min(Number(query.get('limit') ?? 25) || 25, PAGE_LIMIT_MAX);
  const start = Number(query.get('position') ?? 0) || 0;
  const slice = items.slice(start, start + limit);
  const next = start + limit < items.length ? String(start + limit) : undefined;
  return { status: 200, body: { item: slice, ...(next && { position: next }) } };
}
