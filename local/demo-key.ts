/**
 * The demo client's API key that `npm start` prints. Each start mints a fresh one (the
 * secret is shown once, so an earlier start's key cannot be printed again) and then revokes
 * the demo keys earlier starts made, so one demo key is active however often the state
 * survives a restart. Keys an operator created for `demo` (another description) are kept.
 */
import { DEMO_CLIENT, DEMO_SCOPES } from './banner';

/** Marks the keys this module creates, and so the only ones it revokes. */
export const DEMO_KEY_DESCRIPTION = 'demo key created by npm start';

interface Admin {
  readonly url: string;
  readonly adminToken: string;
}

interface KeyRecord {
  readonly keyId: string;
  readonly status: string;
  readonly description?: string;
}

export interface DemoKey {
  readonly apiKey: string;
  readonly keyId: string;
  /** Demo keys of earlier starts revoked now. */
  readonly revoked: readonly string[];
}

export async function replaceDemoKey(admin: Admin): Promise<DemoKey> {
  const created = await call<{ apiKey?: string; key?: { keyId: string } }>(admin, 'POST', `/admin/clients/${DEMO_CLIENT}/keys`, 201, {
    scopes: DEMO_SCOPES,
    description: DEMO_KEY_DESCRIPTION,
  });
  if (!created.apiKey || !created.key) throw new Error('creating the demo key failed: the answer has no key');
  const earlier = (await listKeys(admin)).filter(
    (key) => key.keyId !== created.key!.keyId && key.status === 'active' && key.description === DEMO_KEY_DESCRIPTION,
  );
  for (const key of earlier) await call(admin, 'DELETE', `/admin/keys/${key.keyId}`, 204);
  return { apiKey: created.apiKey, keyId: created.key.keyId, revoked: earlier.map((key) => key.keyId) };
}

async function listKeys(admin: Admin): Promise<KeyRecord[]> {
  const keys: KeyRecord[] = [];
  let nextToken: string | undefined;
  do {
    const query = nextToken ? `?nextToken=${encodeURIComponent(nextToken)}` : '';
    const page = await call<{ keys: KeyRecord[]; nextToken?: string }>(admin, 'GET', `/admin/clients/${DEMO_CLIENT}/keys${query}`, 200);
    keys.push(...page.keys);
    nextToken = page.nextToken;
  } while (nextToken);
  return keys;
}

async function call<T>(admin: Admin, method: string, path: string, expected: number, body?: unknown): Promise<T> {
  const response = await fetch(`${admin.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${admin.adminToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== expected) {
    const reason = (safeJson(text) as { error_description?: string } | undefined)?.error_description ?? text;
    throw new Error(`${method} ${path} for the demo key answered ${response.status}: ${reason}`);
  }
  return (safeJson(text) ?? {}) as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
