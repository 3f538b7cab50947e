/** Where the authorizer's DynamoDB client connects, from the environment Lambda (or local mode) gives it. */
import { describe, expect, it } from 'vitest';
import { EndpointEnv } from '../../../common/names';
import { dynamoHttpOptionsFrom } from '../../../lambda/adapters/dynamodb-http/config';
import { ConfigurationError } from '../../../lambda/core/shared/env';

const LAMBDA = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' };

describe('dynamoHttpOptionsFrom', () => {
  it('uses the regional endpoint and the execution role credentials Lambda sets', () => {
    const options = dynamoHttpOptionsFrom(LAMBDA);
    expect(options.endpoint.href).toBe('https://dynamodb.eu-west-1.amazonaws.com/');
    expect(options).toMatchObject({ region: 'eu-west-1', credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' } });
  });

  it('uses the partition DNS suffix of China and isolated Regions', () => {
    expect(dynamoHttpOptionsFrom({ ...LAMBDA, AWS_REGION: 'cn-north-1' }).endpoint.host).toBe('dynamodb.cn-north-1.amazonaws.com.cn');
    expect(dynamoHttpOptionsFrom({ ...LAMBDA, AWS_REGION: 'us-gov-west-1' }).endpoint.host).toBe('dynamodb.us-gov-west-1.amazonaws.com');
    expect(dynamoHttpOptionsFrom({ ...LAMBDA, AWS_REGION: 'us-isob-east-1' }).endpoint.host).toBe('dynamodb.us-isob-east-1.sc2s.sgov.gov');
  });

  it("points at the local endpoint with stand-in credentials, never the developer's own", () => {
    const options = dynamoHttpOptionsFrom({ ...LAMBDA, [EndpointEnv.dynamodb]: 'http://127.0.0.1:8000' });
    expect(options.endpoint.href).toBe('http://127.0.0.1:8000/');
    expect(options.credentials).toEqual({ accessKeyId: 'local', secretAccessKey: 'local' });
  });

  it('fails the init naming the variable that is missing or unusable', () => {
    const { AWS_SESSION_TOKEN: _token, ...withoutToken } = LAMBDA;
    expect(dynamoHttpOptionsFrom(withoutToken).credentials.sessionToken).toBeUndefined();
    for (const name of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const) {
      const { [name]: _missing, ...env } = LAMBDA;
      expect(() => dynamoHttpOptionsFrom(env)).toThrow(new RegExp(name));
    }
    expect(() => dynamoHttpOptionsFrom({ ...LAMBDA, AWS_REGION: 'eu-west-1.evil.example/x' })).toThrow(/AWS_REGION/);
    expect(() => dynamoHttpOptionsFrom({ ...LAMBDA, [EndpointEnv.dynamodb]: 'not a url' })).toThrow(new RegExp(EndpointEnv.dynamodb));
    expect(() => dynamoHttpOptionsFrom({ ...LAMBDA, [EndpointEnv.dynamodb]: 'ftp://127.0.0.1' })).toThrow(ConfigurationError);
  });

  it('refuses the FIPS and dual-stack switches it would otherwise ignore', () => {
    expect(() => dynamoHttpOptionsFrom({ ...LAMBDA, AWS_USE_FIPS_ENDPOINT: 'true' })).toThrow(/AWS_USE_FIPS_ENDPOINT/);
    expect(() => dynamoHttpOptionsFrom({ ...LAMBDA, AWS_USE_DUALSTACK_ENDPOINT: 'TRUE' })).toThrow(/AWS_USE_DUALSTACK_ENDPOINT/);
    expect(dynamoHttpOptionsFrom({ ...LAMBDA, AWS_USE_FIPS_ENDPOINT: 'false' }).endpoint.host).toBe('dynamodb.eu-west-1.amazonaws.com');
  });
});
