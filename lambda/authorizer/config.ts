/**
 * The authorizer's configuration, read from its environment once at cold start. A bad
 * value fails the init with a message naming the variable (or the route rule).
 */
import { Env } from '../../common/names';
import { USAGE_KEY_VALUE_PATTERN } from '../../common/tokens';
import { clockSkewSecondsFrom, ConfigurationError, keyRingRefreshSecondsFrom, requireString, settingFromEnv, tableNamesFrom } from '../core/shared/env';
import { allowLogSampleRate, audience, revocationPollMs, revocationViewMaxStaleSeconds, unmatchedRoutes } from '../../common/settings';
import { routesFrom } from '../core/authorizer/route-policy';
import type { AuthorizerSettings } from '../core/authorizer/create-authorizer';
import { servicesFrom } from '../core/shared/services-env';

type Environment = Readonly<Record<string, string | undefined>>;

export interface AuthorizerConfig extends AuthorizerSettings {
  /** Fraction of allow decisions that are logged (every denial is). */
  readonly allowLogSampleRate: number;
  readonly tables: { readonly signingKeys: string; readonly revocations: string };
}

export function authorizerConfigFrom(env: Environment): AuthorizerConfig {
  const issuer = requireString(env, Env.issuer);
  const fallback = settingFromEnv(env, unmatchedRoutes);
  return {
    issuer,
    ...servicesFrom(env, issuer, fallback),
    audience: settingFromEnv(env, audience),
    clockSkewSeconds: clockSkewSecondsFrom(env),
    routes: routesFrom(env),
    unmatchedRoutes: fallback,
    revocationPollMs: settingFromEnv(env, revocationPollMs),
    revocationMaxStalenessS: settingFromEnv(env, revocationViewMaxStaleSeconds),
    keyRingRefreshSeconds: keyRingRefreshSecondsFrom(env),
    allowLogSampleRate: settingFromEnv(env, allowLogSampleRate),
    fallbackUsageKey: fallbackUsageKeyFrom(env),
    tables: tableNamesFrom(env, ['signingKeys', 'revocations']),
  };
}

function fallbackUsageKeyFrom(env: Environment): string | undefined {
  const raw = env[Env.fallbackUsageKey];
  if (raw === undefined || raw === '') return undefined;
  if (!USAGE_KEY_VALUE_PATTERN.test(raw))
    throw new ConfigurationError(`environment variable ${Env.fallbackUsageKey} must be an API Gateway API key value (20–128 letters and digits)`);
  return raw;
}
