/** RFC 8707 `resource`: how the client and the shared request builder name a service. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { buildTokenRequest, TollgateClient } from '../../../client/index';
import { startTokenStub, type TokenStub } from './token-stub';

const KEY = generateApiKey().apiKey;

let stub: TokenStub;
beforeEach(async () => {
  stub = await startTokenStub();
});
afterEach(() => stub.close());

describe('resource indicator', () => {
  it('buildTokenRequest adds resource to the form only when given', () => {
    const form = (resource?: string) => Object.fromEntries(new URLSearchParams(buildTokenRequest({ apiKey: KEY }, 'orders:read', resource).body));
    expect(form('https://api.example.com/v1/orders')).toEqual({
      grant_type: 'client_credentials',
      scope: 'orders:read',
      resource: 'https://api.example.com/v1/orders',
    });
    expect(form()).toEqual({ grant_type: 'client_credentials', scope: 'orders:read' });
  });

  it('TollgateClient sends its resource with every exchange', async () => {
    const tollgate = new TollgateClient({ tokenUrl: stub.tokenUrl, apiKeys: [{ apiKey: KEY }], resource: 'urn:example:orders' });
    await tollgate.getToken();
    tollgate.invalidate();
    await tollgate.getToken();
    expect(stub.tokenRequests().map((request) => new URLSearchParams(request.body).get('resource'))).toEqual(['urn:example:orders', 'urn:example:orders']);
  });

  it.each(['orders', 'https://api.example.com/v1/orders#top', ''])('refuses the resource %j in the constructor', (resource) => {
    expect(() => new TollgateClient({ tokenUrl: stub.tokenUrl, apiKeys: [{ apiKey: KEY }], resource })).toThrow(
      /resource must be an absolute URI without a fragment/,
    );
  });
});
