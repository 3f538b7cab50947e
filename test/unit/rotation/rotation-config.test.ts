import { describe, expect, it } from 'vitest';
import { Env, pendingPublicationSeconds } from '../../../common/config';
import { Tables } from '../../../common/tables';
import { rotationConfig } from '../../../lambda/core/rotation-config';

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
