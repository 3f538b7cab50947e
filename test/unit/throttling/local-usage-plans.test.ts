/** The local API Gateway model keeps the API Gateway rules the registration code relies on. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalUsagePlans, type RestResponse } from '../../../local/usage-plans';

const STAGE = { apiId: 'api', stage: 'v1' };
const dir = mkdtempSync(join(tmpdir(), 'tollgate-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rest(plans: LocalUsagePlans, method: string, path: string, body?: unknown, query: Record<string, string> = {}): RestResponse {
  const response = plans.handle({ method, path, query: new URLSearchParams(query), body: body === undefined ? '' : JSON.stringify(body) });
  if (!response) throw new Error(`not served: ${method} ${path}`);
  return response;
}

const errorType = (response: RestResponse) => response.headers?.['x-amzn-ErrorType'];

describe('local API Gateway usage plans', () => {
  it('key values are unique, 20–128 alphanumerics; names are prefix-searched; values only on request', () => {
    const plans = new LocalUsagePlans();
    const created = rest(plans, 'POST', '/apikeys', { name: 'tollgate-acme', value: 'a'.repeat(20), enabled: true });
    expect(created.status).toBe(201);
    expect(errorType(rest(plans, 'POST', '/apikeys', { name: 'other', value: 'a'.repeat(20) }))).toBe('ConflictException');
    expect(errorType(rest(plans, 'POST', '/apikeys', { name: 'short', value: 'a'.repeat(19) }))).toBe('BadRequestException');
    expect(errorType(rest(plans, 'POST', '/apikeys', { name: 'symbols', value: `${'a'.repeat(20)}_` }))).toBe('BadRequestException');
    rest(plans, 'POST', '/apikeys', { name: 'tollgate-acme2', value: 'b'.repeat(20), enabled: true });
    const listed = rest(plans, 'GET', '/apikeys', undefined, { name: 'tollgate-acme' }).body as { item: Array<{ name: string; value?: string }> };
    expect(listed.item.map((key) => key.name)).toEqual(['tollgate-acme', 'tollgate-acme2']);
    expect(listed.item[0]!.value).toBeUndefined();
    const withValues = rest(plans, 'GET', '/apikeys', undefined, { name: 'tollgate-acme', includeValues: 'true', limit: '1' }).body as {
      item: Array<{ value: string }>;
      position: string;
    };
    expect(withValues.item).toEqual([expect.objectContaining({ value: 'a'.repeat(20) })]);
    expect(withValues.position).toBe('1');
  });

  it('a key is in at most one plan per stage; a plan with stages cannot be deleted; deleting a key frees its plans', () => {
    const plans = new LocalUsagePlans();
    const key = plans.createApiKey({ name: 'k', value: 'c'.repeat(24), enabled: true });
    const a = plans.createPlan({ name: 'a', apiStages: [STAGE], throttle: { rateLimit: 1, burstLimit: 1 } });
    const b = plans.createPlan({ name: 'b', apiStages: [STAGE] });
    expect(rest(plans, 'POST', `/usageplans/${a.id}/keys`, { keyId: key.id, keyType: 'API_KEY' }).status).toBe(201);
    expect(errorType(rest(plans, 'POST', `/usageplans/${a.id}/keys`, { keyId: key.id, keyType: 'API_KEY' }))).toBe('ConflictException');
    expect(errorType(rest(plans, 'POST', `/usageplans/${b.id}/keys`, { keyId: key.id, keyType: 'API_KEY' }))).toBe('ConflictException');
    expect(errorType(rest(plans, 'DELETE', `/usageplans/${a.id}`))).toBe('BadRequestException');
    expect(errorType(rest(plans, 'PATCH', `/usageplans/${a.id}`, { patchOperations: [{ op: 'replace', path: '/name', value: 'x' }] }))).toBe(
      'BadRequestException',
    );
    expect((rest(plans, 'GET', '/usageplans', undefined, { keyId: key.id }).body as { item: Array<{ id: string }> }).item.map((p) => p.id)).toEqual([a.id]);
    expect(plans.limitsFor(key.value, STAGE)).toEqual({ planId: a.id, keyId: key.id, throttle: { rateLimit: 1, burstLimit: 1 } });
    expect(plans.limitsFor(key.value, { apiId: 'api', stage: 'v2' })).toBeUndefined();

    expect(rest(plans, 'DELETE', `/apikeys/${key.id}`).status).toBe(202);
    expect(plans.limitsFor(key.value, STAGE)).toBeUndefined();
    expect(rest(plans, 'PATCH', `/usageplans/${a.id}`, { patchOperations: [{ op: 'remove', path: '/apiStages', value: 'api:v1' }] }).status).toBe(200);
    expect(rest(plans, 'DELETE', `/usageplans/${a.id}`).status).toBe(202);
    expect(errorType(rest(plans, 'DELETE', `/usageplans/${a.id}`))).toBe('NotFoundException');
  });

  it('a disabled key is refused at the gateway', () => {
    const plans = new LocalUsagePlans();
    const plan = plans.ensurePlan('default', STAGE, { rateLimit: 1, burstLimit: 1 });
    const key = plans.createApiKey({ name: 'off', value: 'd'.repeat(20), enabled: false });
    plans.bindKey(plan.id, { keyId: key.id, keyType: 'API_KEY' });
    expect(plans.limitsFor(key.value, STAGE)).toBeUndefined();
  });

  it('persists across restarts, and start-up bootstrap is idempotent', () => {
    const file = join(dir, 'usage-plans.json');
    const first = new LocalUsagePlans(file);
    const plan = first.ensurePlan('tollgate-local-clients', STAGE, { rateLimit: 50, burstLimit: 100 });
    const key = first.ensureKeyInPlan('tollgate-local-fallback', plan.id);
    const second = new LocalUsagePlans(file);
    expect(second.ensurePlan('tollgate-local-clients', STAGE, { rateLimit: 50, burstLimit: 100 }).id).toBe(plan.id);
    expect(second.ensureKeyInPlan('tollgate-local-fallback', plan.id).value).toBe(key.value);
    expect(second.snapshot().plans).toHaveLength(1);
    expect(second.limitsFor(key.value, STAGE)).toMatchObject({ planId: plan.id, throttle: { rateLimit: 50, burstLimit: 100 } });
  });

  it('other paths are not its business', () => {
    expect(new LocalUsagePlans().handle({ method: 'GET', path: '/restapis', query: new URLSearchParams(), body: '' })).toBeUndefined();
  });
});
