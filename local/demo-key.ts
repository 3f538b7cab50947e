/**
 * The demo client's API key that `npm start` prints. Each start mints a fresh one (the
 * secret is shown once, so an earlier start's key cannot be printed again) and then revokes
 * the demo keys earlier starts made, so one demo key is active however often the state
 * survives a restart. Keys an operator created for `demo` (another description) are kept.
 */
import { AdminApi } from '../client/admin-api';
import { bearerAuth } from '../client/admin-auth';
import { DEMO_CLIENT, DEMO_SCOPES } from './banner';

/** Marks the keys this module creates, and so the only ones it revokes. */
export const DEMO_KEY_DESCRIPTION = 'demo key created by npm start';

export interface DemoKey {
  readonly apiKey: string;
  readonly keyId: string;
  /** Demo keys of earlier starts revoked now. */
  readonly revoked: readonly string[];
}

export async function replaceDemoKey(server: { readonly url: string; readonly adminToken: string }): Promise<DemoKey> {
  const admin = new AdminApi({ baseUrl: server.url, auth: bearerAuth(server.adminToken) });
  const created = await admin.createKey(DEMO_CLIENT, { scopes: [...DEMO_SCOPES], description: DEMO_KEY_DESCRIPTION });
  const { keys } = await admin.listAllKeys(DEMO_CLIENT);
  const earlier = keys.filter((key) => key.keyId !== created.key.keyId && key.status === 'active' && key.description === DEMO_KEY_DESCRIPTION);
  for (const key of earlier) await admin.revokeKey(key.keyId);
  return { apiKey: created.apiKey, keyId: created.key.keyId, revoked: earlier.map((key) => key.keyId) };
}
