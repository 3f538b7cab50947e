/** The issuer's `uik` claim: the client's usage key, only while it is bound to a usage plan. */
import { describe, expect, it } from 'vitest';
import { importSPKI, jwtVerify } from 'jose';
import { Claim } from '../../../common/tokens';
import { CredentialStatus } from '../../../common/credential-items';
import { Issuer } from '../../../lambda/core/issuance/issuer';
import type { StoredClient } from '../../../lambda/core/credentials/credentials';
import { basic, ecSigningKey, FakeApiKeys, FakeAudit, FakeClients, FakeRing, FakeTokens, form, storedKey } from '../issuance/fakes';

const USAGE_KEY = 'tguAbCdEfGhIjKlMnOpQrStUvWxYz012345';

async function claimsFor(client: Partial<StoredClient>): Promise<Record<string, unknown>> {
  const apiKeys = new FakeApiKeys();
  const clients = new FakeClients();
  const signing = ecSigningKey();
  const { apiKey, key } = storedKey();
  apiKeys.keys.set(key.keyId, key);
  clients.clients.set('acme', { clientId: 'acme', status: CredentialStatus.Active, createdAt: 1_000, ...client });
  const issuer = new Issuer(
    {
      apiKeys,
      clients,
      tokens: new FakeTokens(),
      ring: new FakeRing([signing.record]),
      signer: signing.signer,
      audit: new FakeAudit(),
      now: () => 1_700_000_000_000,
    },
    { issuer: 'https://issuer.example', audience: 'tollgate', tokenTtlSeconds: 900 },
  );
  const { access_token } = await issuer.exchange({ authorization: basic('acme', apiKey), form: form({ grant_type: 'client_credentials' }) });
  const publicKey = await importSPKI(signing.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 'ES256');
  const { payload } = await jwtVerify(access_token, publicKey, { currentDate: new Date(1_700_000_000_000) });
  return payload;
}

describe('the uik claim', () => {
  it('names the usage key of a client whose key is bound to a plan', async () => {
    const claims = await claimsFor({ usageKey: USAGE_KEY, usageKeyId: 'k1', usagePlanId: 'plan1' });
    expect(Claim.usageKey).toBe('uik');
    expect(claims.uik).toBe(USAGE_KEY);
  });

  it('is absent while the key is in no plan (registration pending or failed), so the fallback key applies', async () => {
    expect((await claimsFor({ usageKey: USAGE_KEY, usageKeyId: 'k1' })).uik).toBeUndefined();
    expect((await claimsFor({})).uik).toBeUndefined();
    expect(Object.keys(await claimsFor({}))).not.toContain('uik');
  });
});
