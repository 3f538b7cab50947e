import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { Defaults } from '../../../common/defaults';
import { Env } from '../../../common/names';
import { Tables } from '../../../common/tables';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { allowLogSampleRate } from '../../../common/settings';
import { ConfigurationError } from '../../../lambda/core/shared/env';
import { RoutePolicy } from '../../../lambda/core/authorizer/route-policy';

const BASE = {
  [Env.issuer]: 'https://tollgate.test',
  [Tables.signingKeys.envVar]: 'ring',
  [Tables.revocations.envVar]: 'feed',
};

describe('authorizerConfigFrom', () => {
  it('applies the defaults', () => {
    expect(authorizerConfigFrom(BASE)).toEqual({
      issuer: 'https://tollgate.test',
      audience: Defaults.audience,
      clockSkewSeconds: Defaults.clockSkewSeconds,
      routes: DEFAULT_ROUTES,
      unmatchedRoutes: 'deny',
      revocationPollMs: Defaults.revocationPollMs,
      revocationMaxStalenessS: Defaults.revocationMaxStalenessS,
      keyRingRefreshSeconds: Defaults.keyRingRefreshSeconds,
      allowLogSampleRate: allowLogSampleRate.default,
      tables: { signingKeys: 'ring', revocations: 'feed' },
    });
  });

  it('reads every setting', () => {
    const config = authorizerConfigFrom({
      ...BASE,
      [Env.audience]: 'orders-api',
      [Env.clockSkewSeconds]: '5',
      [Env.routes]: '[{"method":"GET","path":"/a","scopes":["x"]}]',
      [Env.unmatchedRoutes]: 'allow',
      [Env.revocationPollMs]: '250',
      [Env.revocationMaxStalenessS]: '10',
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
    [{ [Env.revocationPollMs]: '5000' }, /REVOCATION_POLL_MS must be an integer from 100 to 1000/],
    [{ [Env.revocationMaxStalenessS]: '0' }, /REVOCATION_MAX_STALENESS_S must be an integer/],
    [{ [Env.keyRingRefreshSeconds]: 'often' }, /TOLLGATE_KEY_RING_REFRESH_SECONDS must be an integer/],
    [{ [allowLogSampleRate.env]: '2' }, /TOLLGATE_ALLOW_LOG_SAMPLE_RATE must be a number from 0 to 1/],
    [{ [Env.fallbackUsageKey]: 'too-short_key' }, /TOLLGATE_FALLBACK_USAGE_KEY must be an API Gateway API key value/],
    [{ [Env.unmatchedRoutes]: 'maybe' }, /TOLLGATE_UNMATCHED_ROUTES must be "deny" or "allow", got "maybe"/],
    [{ [Env.routes]: '[{"method":"GET","path":"/a/","scopes":[]}]' }, /TOLLGATE_ROUTES\[0\] \(GET \/a\/\): path must not contain empty segments/],
    [
      { [Env.routes]: '[{"method":"GET","path":"/a","scopes":[]},{"method":"GET","path":"/a","scopes":[]}]' },
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
