/**
 * The per-deployment key prefix on DynamoDB Local: the admin function issues keys under the
 * configured prefix, and after the prefix changes, keys issued under the earlier one still
 * exchange (the stored hash decides), while the same body under another prefix is no key.
 */
import { describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { EndpointEnv, Env } from '../../../common/names';
import { documentClient } from '../../../lambda/adapters/clients/dynamodb';
import { lambdaClient } from '../../../lambda/adapters/clients/lambda';
import { createAdminHandler } from '../../../lambda/admin/app';
import { adminCall } from '../../support/api-events';
import { dynamoEndpoint } from '../../support/aws';
import { captureLogs, harness, ROTATION_FUNCTION, secrets } from './harness';
import * as Setting from '../../../common/settings';

captureLogs();

describe('apiKeyPrefix', () => {
  it('issues keys under the configured prefix; keys of the earlier prefix keep working after a change', async () => {
    const h = await harness({ extraEnv: { [Setting.apiKeyPrefix.env]: 'old1_' } });
    const old = await h.createKey('shop');
    expect(old.apiKey).toMatch(/^old1_[0-9A-Za-z]{49}$/);

    // The deployment changes its prefix: a new admin function instance with the new setting, same tables.
    const adminEnv = {
      ...h.tables.env,
      [Setting.apiKeyPrefix.env]: 'acme_',
      [Env.rotationFunction]: ROTATION_FUNCTION,
      [EndpointEnv.dynamodb]: dynamoEndpoint(),
      [EndpointEnv.lambda]: 'http://127.0.0.1:9',
    };
    const admin = createAdminHandler({
      env: adminEnv,
      doc: documentClient(adminEnv),
      lambda: lambdaClient(adminEnv),
      logger: new Logger({ serviceName: 'admin-test' }),
    });
    const created = await admin(adminCall('POST', '/admin/clients/{clientId}/keys', { clientId: 'shop' }, { scopes: ['orders:read'] }));
    expect(created.statusCode).toBe(201);
    const fresh = (JSON.parse(created.body) as { apiKey: string }).apiKey;
    secrets.add(fresh);
    expect(fresh).toMatch(/^acme_[0-9A-Za-z]{49}$/);

    expect((await h.exchange('shop', old.apiKey)).statusCode).toBe(200);
    expect((await h.exchange('shop', fresh)).statusCode).toBe(200);
    // The checksum still holds under another prefix, but the hash covers the prefix: no such key.
    expect((await h.exchange('shop', `acme_${old.apiKey.slice('old1_'.length)}`)).statusCode).toBe(401);
  });

  it("fails the admin function's cold start on a bad prefix, naming the variable", async () => {
    await expect(harness({ extraEnv: { [Setting.apiKeyPrefix.env]: 'Bad_' } })).rejects.toThrow(
      /TOLLGATE_API_KEY_PREFIX must be 2–10 lowercase letters or digits/,
    );
  });
});
