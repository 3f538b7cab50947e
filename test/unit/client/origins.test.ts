/**
 * Where keys and tokens may travel: the access token only to the allowed API origins (by
 * default the token URL's), and the API key and token over TLS unless the host is loopback.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { ApiOriginNotAllowed, TollgateClient, TollgateClientError, type TollgateClientOptions } from '../../../client/index';
import { startHttpStub, type HttpStub } from '../../support/http-stub';
import { startTokenStub, type TokenStub } from './token-stub';

const KEY = generateApiKey().apiKey;

let stub: TokenStub;
let elsewhere: HttpStub;
beforeEach(async () => {
  stub = await startTokenStub();
  elsewhere = await startHttpStub(() => ({ status: 200, body: {} }));
});
afterEach(async () => {
  await stub.close();
  await elsewhere.close();
});

const client = (overrides: Partial<TollgateClientOptions> = {}) => new TollgateClient({ tokenUrl: stub.tokenUrl, apiKeys: [{ apiKey: KEY }], ...overrides });

describe('API origins', () => {
  it('refuses to send the token to another origin than the token URL’s, sending nothing at all', async () => {
    const tollgate = client();
    await tollgate.getToken();

    const error = await tollgate.fetch(`${elsewhere.url}/orders/42`).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiOriginNotAllowed);
    expect(error).toBeInstanceOf(TollgateClientError);
    expect(error).toMatchObject({ origin: elsewhere.url, allowedOrigins: [stub.url] });
    expect(elsewhere.requests).toEqual([]);
  });

  it('sends it to the token URL’s origin by default, and to the origins apiOrigins lists', async () => {
    expect((await client().fetch(`${stub.url}/orders/42`)).status).toBe(404);
    expect(stub.requests.at(-1)!.headers.authorization).toMatch(/^Bearer tok_/);

    const tollgate = client({ apiOrigins: [new URL(elsewhere.url), `${stub.url}/`] });
    expect((await tollgate.fetch(new Request(`${elsewhere.url}/orders/42`))).status).toBe(200);
    expect(elsewhere.requests[0]!.headers.authorization).toMatch(/^Bearer tok_/);
  });

  it.each([
    [{ tokenUrl: 'http://api.example.com/v1/oauth/token' }, /tokenUrl must use https:/],
    [{ tokenUrl: 'http://10.0.0.7:8787/oauth/token' }, /tokenUrl must use https:/],
    [{ apiOrigins: ['http://api.example.com'] }, /apiOrigins\[0\] must use https:/],
    [{ apiOrigins: ['https://api.example.com/v1'] }, /apiOrigins\[0\] must be an origin only/],
    [{ apiOrigins: [] }, /apiOrigins must list at least one origin/],
  ])('refuses %j', (overrides, message) => {
    expect(() => client(overrides)).toThrow(message);
  });

  it.each(['http://127.0.0.1:8787', 'http://127.1.2.3', 'http://localhost:8787', 'http://[::1]:8787', 'https://api.example.com'])(
    'accepts %s for the token URL and as an API origin',
    (origin) => {
      expect(() => client({ tokenUrl: `${origin}/oauth/token`, apiOrigins: [origin] })).not.toThrow();
    },
  );
});
