import { describe, expect, it } from 'vitest';
import { authenticate, extractCredentials } from '../../../lambda/core/issuance/client-auth';
import { CredentialStatus } from '../../../common/credential-items';
import { InvalidClient, InvalidRequest } from '../../../lambda/core/shared/issuance-errors';
import { FakeApiKeys, FakeClients, form, storedKey } from './fakes';

const KEY = 'tg_secret';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('extractCredentials (RFC 6749 §2.3)', () => {
  it('decodes client_secret_basic: base64 first, then form-urlencoding of each part (§2.3.1)', () => {
    expect(extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({}))).toEqual({ method: 'client_secret_basic', clientId: 'acme', apiKey: KEY });
    expect(extractCredentials(`basic   ${b64('a%2Dc%41:tg_%2Bx')}`, form({}))).toEqual({ method: 'client_secret_basic', clientId: 'a-cA', apiKey: 'tg_+x' });
    expect(extractCredentials(`Basic ${b64('a+b:c')}`, form({})).clientId).toBe('a b');
    // The secret may itself contain a colon once decoded: only the first separates.
    expect(extractCredentials(`Basic ${b64('acme:x%3Ay:z')}`, form({})).apiKey).toBe('x:y:z');
  });

  it('accepts client_secret_post and a bearer API key', () => {
    expect(extractCredentials(undefined, form({ client_id: 'acme', client_secret: KEY }))).toEqual({
      method: 'client_secret_post',
      clientId: 'acme',
      apiKey: KEY,
    });
    expect(extractCredentials(`Bearer ${KEY}`, form({}))).toEqual({ method: 'bearer', apiKey: KEY });
  });

  it('refuses two methods in one request with invalid_request', () => {
    expect(() => extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({ client_id: 'acme', client_secret: KEY }))).toThrow(InvalidRequest);
    expect(() => extractCredentials(`Bearer ${KEY}`, form({ client_id: 'acme', client_secret: KEY }))).toThrow(InvalidRequest);
    expect(() => extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({ client_id: 'other' }))).toThrow(InvalidRequest);
    expect(() => extractCredentials(undefined, form({ client_secret: KEY }))).toThrow(InvalidRequest);
  });

  it('tolerates a client_id field that repeats the Basic client', () => {
    expect(extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({ client_id: 'acme' })).method).toBe('client_secret_basic');
  });

  it.each([
    ['no credentials', undefined, undefined],
    ['client_id without a secret', undefined, undefined],
    ['an unsupported scheme', `Digest ${b64('x')}`, undefined],
    ['a bearer JWT instead of an API key', 'Bearer eyJhbGciOi.x.y', 'Bearer'],
    ['Basic without a colon', `Basic ${b64('acme')}`, 'Basic'],
    ['Basic with invalid base64', 'Basic !!!', 'Basic'],
    ['Basic with a broken percent-encoding', `Basic ${b64('ac%zz:x')}`, 'Basic'],
    ['Basic without a value', 'Basic', 'Basic'],
    ['Basic with only spaces after it', 'Basic   ', 'Basic'],
    ['Bearer without a value', 'Bearer', 'Bearer'],
  ])('refuses %s with invalid_client (challenged in the scheme used, if any)', (name, header, challenge) => {
    const fields = name === 'client_id without a secret' ? form({ client_id: 'acme' }) : form({});
    let caught: unknown;
    try {
      extractCredentials(header, fields);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidClient);
    expect((caught as InvalidClient).challenge).toBe(challenge);
  });
});

describe('authenticate', () => {
  it('accepts a client_id field beside a bearer key that names the key`s own client, checked once the key authenticates', async () => {
    const ports = { apiKeys: new FakeApiKeys(), clients: new FakeClients() };
    const { apiKey, key } = storedKey();
    ports.apiKeys.keys.set(key.keyId, key);
    ports.clients.clients.set('acme', { clientId: 'acme', status: CredentialStatus.Active, createdAt: 1_000 });
    const own = extractCredentials(`Bearer ${apiKey}`, form({ client_id: 'acme' }));
    expect((await authenticate(own, ports, 2_000)).key.clientId).toBe('acme');
    // Another client stays invalid_request with the same description as beside Basic.
    const other = extractCredentials(`Bearer ${apiKey}`, form({ client_id: 'other' }));
    const caught = await authenticate(other, ports, 2_000).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(InvalidRequest);
    expect((caught as InvalidRequest).description).toBe('client_id in the body does not match the authenticated client.');
  });

  it.each([
    ['client_secret_basic', 'Basic'],
    ['bearer', 'Bearer'],
    ['client_secret_post', undefined],
  ] as const)('challenges a failed %s authentication with %s', async (method, challenge) => {
    const ports = { apiKeys: new FakeApiKeys(), clients: new FakeClients() };
    const { apiKey } = storedKey();
    const credentials = method === 'bearer' ? { method, apiKey } : { method, apiKey, clientId: 'acme' };
    const typo = { ...credentials, apiKey: apiKey.slice(0, 8) + (apiKey[8] === 'A' ? 'B' : 'A') + apiKey.slice(9) };
    for (const presented of [credentials, typo]) {
      const caught = await authenticate(presented, ports, 1_000).catch((error: unknown) => error);
      expect(caught).toBeInstanceOf(InvalidClient);
      expect((caught as InvalidClient).challenge).toBe(challenge);
    }
  });
});
