import { describe, expect, it } from 'vitest';
import { Env } from '../../../common/names';
import { pendingPublicationSeconds } from '../../../common/defaults';
import { Tables } from '../../../common/tables';
import { rotationConfig } from '../../../lambda/rotation/config';

const base = { [Tables.signingKeys.envVar]: 'ring', [Tables.apiKeys.envVar]: 'keys' };

describe('rotation configuration: the pending window', () => {
  it('defaults to the window that also covers outside verifiers’ JWKS caches', () => {
    expect(rotationConfig(base).timing.pendingSeconds).toBe(pendingPublicationSeconds());
  });

  it('accepts a local override down to two ring refreshes', () => {
    const env = { ...base, [Env.keyRingRefreshSeconds]: '5', [Env.pendingPublicationSeconds]: '10' };
    expect(rotationConfig(env).timing.pendingSeconds).toBe(10);
  });

  it('refuses an override that could let a key sign before every authorizer has refreshed', () => {
    const env = { ...base, [Env.keyRingRefreshSeconds]: '5', [Env.pendingPublicationSeconds]: '9' };
    expect(() => rotationConfig(env)).toThrow(new RegExp(`${Env.pendingPublicationSeconds} must be an integer from 10`));
  });

  it('refuses an override longer than the default window', () => {
    const env = { ...base, [Env.pendingPublicationSeconds]: String(pendingPublicationSeconds() + 1) };
    expect(() => rotationConfig(env)).toThrow(new RegExp(Env.pendingPublicationSeconds));
  });
});

describe('rotation configuration: the upstream client certificates', () => {
  it('watches none without the variables (local mode), the presented one alone, or both', () => {
    expect(rotationConfig(base).upstreamCertificates).toBeUndefined();
    expect(rotationConfig({ ...base, [Env.upstreamCertificateId]: '' }).upstreamCertificates).toBeUndefined();
    expect(rotationConfig({ ...base, [Env.upstreamCertificateId]: 'a1b2c3' }).upstreamCertificates).toEqual({ presented: 'a1b2c3' });
    expect(rotationConfig({ ...base, [Env.upstreamCertificateId]: 'a1b2c3', [Env.nextUpstreamCertificateId]: 'd4e5f6' }).upstreamCertificates).toEqual({
      presented: 'a1b2c3',
      next: 'd4e5f6',
    });
  });

  it.each([
    [
      'an ARN instead of an id',
      { [Env.upstreamCertificateId]: 'arn:aws:apigateway:eu-west-1::/clientcertificates/a1b2c3' },
      `${Env.upstreamCertificateId} must be an API Gateway client-certificate id`,
    ],
    ['a path', { [Env.upstreamCertificateId]: 'a1b2c3/../restapis' }, `${Env.upstreamCertificateId} must be an API Gateway client-certificate id`],
    [
      'a bad successor id',
      { [Env.upstreamCertificateId]: 'a1b2c3', [Env.nextUpstreamCertificateId]: 'd4 e5' },
      `${Env.nextUpstreamCertificateId} must be an API Gateway client-certificate id`,
    ],
    [
      'a successor without a presented certificate',
      { [Env.nextUpstreamCertificateId]: 'd4e5f6' },
      `${Env.nextUpstreamCertificateId} is set without ${Env.upstreamCertificateId}`,
    ],
    ['the same certificate twice', { [Env.upstreamCertificateId]: 'a1b2c3', [Env.nextUpstreamCertificateId]: 'a1b2c3' }, 'name the same certificate, "a1b2c3"'],
  ])('refuses %s at cold start, naming the variable', (_name, env, message) => {
    expect(() => rotationConfig({ ...base, ...env })).toThrow(message);
  });
});
