/** HTTP helpers for end-to-end tests against a running local stack (`startLocalStack`). */

export interface StackAddress {
  readonly url: string;
  readonly adminToken: string;
}

export interface JsonAnswer {
  readonly status: number;
  /** The parsed JSON body; undefined when the answer had none. */
  readonly body: Record<string, unknown>;
}

/** Calls an operator route with the stack's admin token, sending `body` as JSON when given. */
export async function adminCall(stack: StackAddress, method: string, path: string, body?: unknown): Promise<JsonAnswer> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${stack.adminToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as Record<string, unknown> };
}

/** POST /oauth/token: the client-credentials grant with HTTP Basic client authentication. */
export function exchangeApiKey(baseUrl: string, clientId: string, apiKey: string): Promise<Response> {
  return fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
}
