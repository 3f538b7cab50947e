import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { Defaults } from '../../../common/defaults';
import { Env } from '../../../common/names';
import { Tables } from '../../../common/tables';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { allowLogSampleRate } from '../../../common/settings';
import { ConfigurationError } from '../../../lambda/core/shared/env';
import { RoutePolicy } from '../../../lambda/core/authorizer/route-policy';
import * as Setting from '../../../common/settings';

const BASE = {
  [Env.issuer]: 'https://tollgate.test',
  [Tables.signingKeys.envVar]: 'ring',
  [Tables.revocations.envVar]: 'feed',
};

describe('authorizerConfigFrom', () => {
  it('applies the defaults', () => {
    expect(authorizerConfigFrom(BASE)).toEqual({
      issuer: 'https://tollgate.test',
      audience: Setting.audience.default,
      clockSkewSeconds: Defaults.clockSkewSeconds,
      routes: DEFAULT_ROUTES,
      unmatchedRoutes: 'deny',
      revocationPollMs: Setting.revocationPollMs.default,
      revocationMaxStalenessS: Setting.revocationViewMaxStaleSeconds.default,
      keyRingRefreshSeconds: Defaults.keyRingRefreshSeconds,
      allowLogSampleRate: allowLogSampleRate.default,
      tables: { signingKeys: 'ring', revocations: 'feed' },
    });
  });

  it('reads every setting', () => {
    const config = authorizerConfigFrom({
      ...BASE,
      [Setting.audience.env]: 'orders-api',
      [Env.clockSkewSeconds]: '5',
      [Setting.routes.env]: '[{"method":"GET","path":"/a","scopes":["x"]}]',
      [Setting.unmatchedRoutes.env]: 'allow',
      [Setting.revocationPollMs.env]: '250',
      [Setting.revocationViewMaxStaleSeconds.env]: '10',
      [Env.keyRingRefreshSeconds]: '30',
      [allowLogSampleRate.env]: '0',
      [Env.fallbackUsageKey]: 'tollgateFallbackUsageKey0',
    });
    expect(config).toMatchObject({
      audience: 'orders-api',
      clockSkewSeconds: 5,
      routes: [{ method: 'GET', path: '/a', scopes: ['x'] }],
      unmatchedRoutes: 'allow',
      revocationPollMs: 250,
      revocationMaxStalenessS: 10,
      keyRingRefreshSeconds: 30,
      allowLogSampleRate: 0,
      fallbackUsageKey: 'tollgateFallbackUsageKey0',
    });
  });

  it.each([
    [{ [Env.issuer]: undefined }, /TOLLGATE_ISSUER is required/],
    [{ [Tables.revocations.envVar]: undefined }, /TOLLGATE_REVOCATIONS_TABLE is required/],
    [{ [Env.clockSkewSeconds]: '301' }, /TOLLGATE_CLOCK_SKEW_SECONDS must be an integer from 0 to 300/],
    [{ [Setting.revocationPollMs.env]: '5000' }, /REVOCATION_POLL_MS must be an integer from 100 to 1000/],
    [{ [Setting.revocationViewMaxStaleSeconds.env]: '0' }, /REVOCATION_MAX_STALENESS_S must be an integer/],
    [{ [Env.keyRingRefreshSeconds]: 'often' }, /TOLLGATE_KEY_RING_REFRESH_SECONDS must be an integer/],
    [{ [allowLogSampleRate.env]: '2' }, /TOLLGATE_ALLOW_LOG_SAMPLE_RATE must be a number from 0 to 1/],
    [{ [Env.fallbackUsageKey]: 'too-short_key' }, /TOLLGATE_FALLBACK_USAGE_KEY must be an API Gateway API key value/],
    [{ [Setting.unmatchedRoutes.env]: 'maybe' }, /TOLLGATE_UNMATCHED_ROUTES must be "deny" or "allow", got "maybe"/],
    [{ [Setting.routes.env]: '[{"method":"GET","path":"/a/","scopes":[]}]' }, /TOLLGATE_ROUTES\[0\] \(GET \/a\/\): path must not contain empty segments/],
    [
      { [Setting.routes.env]: '[{"method":"GET","path":"/a","scopes":[]},{"method":"GET","path":"/a","scopes":[]}]' },
      /TOLLGATE_ROUTES\[1\] \(GET \/a\) duplicates an earlier rule/,
    ],
  ])('fails at cold start on %o, naming the setting', (override, message) => {
    const coldStart = () => {
      const config = authorizerConfigFrom({ ...BASE, ...override });
      // Rules are compiled when the authorizer is built, as the cold start does.
      return new RoutePolicy(config.routes, config.unmatchedRoutes);
    };
    expect(coldStart).toThrow(ConfigurationError);
    expect(coldStart).toThrow(message);
  });
});
