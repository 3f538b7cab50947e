/**
 * A signed GitHub batch is handled match by match against DynamoDB Local: a malformed match
 * (GitHub documents `url` as possibly empty; `null` arrives) costs no other match its
 * revocation, and a batch of more than 1,000 matches is handled whole, as GitHub expects of
 * a partner endpoint, instead of being refused with nothing revoked.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CredentialStatus } from '../../../common/credential-items';
import { DynamoApiKeyStore } from '../../../lambda/adapters/api-key-store';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { githubSigner } from '../../support/github-reports';
import { testLeakHandler } from '../../support/leak-handler';
import { dynamoEndpoint, freshTables, type TestTables } from '../../support/aws';

let tables: TestTables;
let store: DynamoApiKeyStore;
const github = githubSigner();
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  tables = await freshTables();
  store = new DynamoApiKeyStore(tables.doc, { apiKeys: tables.names.apiKeys, clients: tables.names.clients });
});

function handler() {
  return testLeakHandler(tables, dynamoEndpoint(), { keyList: github.keyList });
}

async function liveKey(clientId: string) {
  const key = generateApiKey();
  await store.create({ keyId: key.keyId, keyHash: key.keyHash, clientId, scopes: ['a'], status: CredentialStatus.Active, createdAt: 1 });
  return key;
}

describe('a signed GitHub batch', () => {
  it('with malformed matches: the well-formed ones are revoked, a non-string url/source/type is absent, a match without a string token is false_positive', async () => {
    const [nullUrl, oddFields] = await Promise.all([liveKey('batch-a'), liveKey('batch-b')]);
    const bystander = await liveKey('batch-c');
    const matches = [
      { token: nullUrl.apiKey, type: 'tollgate_api_key', url: null, source: 'content' },
      { token: null, type: 'tollgate_api_key', url: 'https://github.com/x' },
      { type: 'tollgate_api_key' },
      7,
      [bystander.apiKey],
      { token: oddFields.apiKey, type: ['x'], url: { href: 'y' }, source: 42 },
    ];
    const response = await handler()(github.signedReport(matches));
    expect(response.statusCode, response.body).toBe(200);
    expect(JSON.parse(response.body)).toEqual([
      { token_hash: sha256(nullUrl.apiKey), token_type: 'tollgate_api_key', label: 'true_positive' },
      { token_hash: sha256(''), token_type: 'tollgate_api_key', label: 'false_positive' },
      { token_hash: sha256(''), token_type: 'tollgate_api_key', label: 'false_positive' },
      { token_hash: sha256(''), token_type: 'tollgate_api_key', label: 'false_positive' },
      { token_hash: sha256(''), token_type: 'tollgate_api_key', label: 'false_positive' },
      { token_hash: sha256(oddFields.apiKey), token_type: 'tollgate_api_key', label: 'true_positive' },
    ]);
    expect((await store.get(nullUrl.keyId))?.status).toBe(CredentialStatus.Revoked);
    expect((await store.get(oddFields.keyId))?.status).toBe(CredentialStatus.Revoked);
    // A key inside a malformed match is never revoked.
    expect((await store.get(bystander.keyId))?.status).toBe(CredentialStatus.Active);
  });

  it('of 1,500 matches is handled whole, in order', async () => {
    const live = await liveKey('batch-big');
    const strangers = Array.from({ length: 1_499 }, () => generateApiKey().apiKey);
    const tokens = [...strangers.slice(0, 1_200), live.apiKey, ...strangers.slice(1_200)];
    const response = await handler()(github.signedReport(tokens.map((token) => ({ token, type: 'tollgate_api_key', url: '', source: 'content' }))));
    expect(response.statusCode, response.body).toBe(200);
    const feedback = JSON.parse(response.body) as { token_hash: string; label: string }[];
    expect(feedback.map((entry) => entry.token_hash)).toEqual(tokens.map(sha256));
    expect(feedback.filter((entry) => entry.label === 'true_positive').map((entry) => entry.token_hash)).toEqual([sha256(live.apiKey)]);
    expect((await store.get(live.keyId))?.status).toBe(CredentialStatus.Revoked);
  });
});
