import { describe, expect, it } from 'vitest';
import { withoutCredentials } from '../../../client/redact';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { TollgateClient } from '../../../client/index';

describe('withoutCredentials', () => {
  it('hides what a server may echo of a request: scheme credentials, JWTs, API keys, admin tokens; keeps the rest', () => {
    const key = generateApiKey().apiKey;
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2ln';
    expect(withoutCredentials(`bad Authorization header: Bearer admin-secret-123, try again`)).toBe('bad Authorization header: Bearer <redacted>, try again');
    expect(withoutCredentials('unsupported: basic YWNtZTpzZWNyZXQ=')).toBe('unsupported: basic <redacted>');
    expect(withoutCredentials(`token ${jwt} expired`)).toBe('token <redacted token> expired');
    expect(withoutCredentials(`key ${key} refused`)).toBe('key tg_<redacted> refused');
    // A placeholder in a hint is no credential.
    expect(withoutCredentials('send "Authorization: Bearer <admin token>"')).toBe('send "Authorization: Bearer <admin token>"');
    expect(withoutCredentials('the admin token tga_0123456789abcdefABCDEF is unknown')).toBe('the admin token tga_<redacted> is unknown');
    expect(withoutCredentials('The requested scope is invalid.')).toBe('The requested scope is invalid.');
  });

  it("keeps the client's own API key out of a refusal that quotes it", async () => {
    const key = generateApiKey().apiKey;
    const echo = async () =>
      new Response(JSON.stringify({ error: 'invalid_request', error_description: `unsupported credential in header: Bearer ${key}` }), {
        status: 400,
        headers: { 'Content-Type': 'application/json' },
      });
    const client = new TollgateClient({ tokenUrl: 'https://auth.example.com/oauth/token', apiKeys: [{ apiKey: key }], fetch: echo });
    const error = await client.getToken().then(
      () => expect.fail('a token was issued'),
      (thrown: unknown) => thrown as Error,
    );
    expect(error.name).toBe('TokenRequestRejected');
    expect(error.message).not.toContain(key);
    expect(error.message).toContain('Bearer <redacted>');
  });
});
