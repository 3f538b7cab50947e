/**
 * The descriptor table (`common/settings.ts`) holds literals only, so a function's bundle
 * keeps just the descriptors it reads. Where older shared constants repeat a descriptor's
 * variable, default or bounds, they must agree with it.
 */
import { describe, expect, it } from 'vitest';
import { Defaults, Limits, SettingBounds } from '../../../common/defaults';
import { Env } from '../../../common/names';
import * as S from '../../../common/settings';
import { KEY_SPECS } from '../../../common/tokens';
import { ANOMALY_ENV, UsageEnv } from '../../../common/usage';

describe('the setting descriptors', () => {
  it('name every setting once, each with its own variable', () => {
    const names = S.SETTING_DESCRIPTORS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    const envs = S.SETTING_DESCRIPTORS.flatMap((d) => ('env' in d && d.env ? [d.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
    for (const d of S.SETTING_DESCRIPTORS) expect('env' in d && d.env !== undefined).toBe('readBy' in d && (d.readBy?.length ?? 0) > 0);
  });

  it('agree with the shared constants that repeat them', () => {
    expect(S.services.env).toBe(Env.services);
    expect(S.routes.env).toBe(Env.routes);
    expect(S.unmatchedRoutes).toMatchObject({ env: Env.unmatchedRoutes, default: Defaults.unmatchedRoutes });
    expect(S.tokenTtlSeconds).toMatchObject({
      env: Env.tokenTtlSeconds,
      default: Defaults.tokenTtlSeconds,
      min: Limits.tokenTtlSecondsMin,
      max: Limits.tokenTtlSecondsMax,
    });
    expect(S.keySpec).toMatchObject({ env: Env.keySpec, default: Defaults.keySpec, values: KEY_SPECS });
    expect(S.rotationIntervalDays).toMatchObject({
      env: Env.rotationIntervalDays,
      default: Defaults.rotationIntervalDays,
      max: SettingBounds.rotationIntervalDaysMax,
    });
    expect(S.keyDeletionWindowDays).toMatchObject({
      env: Env.keyDeletionWindowDays,
      default: Defaults.keyDeletionWindowDays,
      min: Limits.keyDeletionWindowDaysMin,
      max: Limits.keyDeletionWindowDaysMax,
    });
    expect(S.authorizerCacheTtlSeconds).toMatchObject({ default: Defaults.authorizerCacheTtlSeconds, max: Limits.authorizerCacheTtlSecondsMax });
    expect(S.revocationPollMs).toMatchObject({
      env: Env.revocationPollMs,
      default: Defaults.revocationPollMs,
      min: Limits.revocationPollMsMin,
      max: Limits.revocationPollMsMax,
    });
    expect(S.revocationViewMaxStaleSeconds).toMatchObject({
      env: Env.revocationMaxStalenessS,
      default: Defaults.revocationMaxStalenessS,
      min: Limits.revocationViewMaxStaleSecondsMin,
      max: Limits.tokenTtlSecondsMax,
    });
    expect(S.stageName.default).toBe(Defaults.stageName);
    expect(S.audience).toMatchObject({ env: Env.audience, default: Defaults.audience });
    for (const d of [S.expiryWarningDays, S.staleKeyDays]) expect(d.max).toBe(SettingBounds.hygieneDaysMax);
    expect(S.expiryWarningDays).toMatchObject({ env: Env.expiryWarningDays, default: Defaults.expiryWarningDays });
    expect(S.staleKeyDays).toMatchObject({ env: Env.staleKeyDays, default: Defaults.staleKeyDays });
    expect(S.forwardBearerToken.default).toBe(Defaults.forwardBearerToken);
    expect(S.upstreamCertificateGeneration).toMatchObject({
      default: Defaults.upstreamCertificateGeneration,
      max: SettingBounds.upstreamCertificateGenerationMax,
    });
    expect(S.apiKeyPrefix.env).toBe(Env.apiKeyPrefix);
    expect(S.secretScanningKeysUrl.env).toBe(Env.secretScanningKeysUrl);
    expect([S.usageMinuteRetentionDays.env, S.usageHourRetentionDays.env, S.usageDayRetentionDays.env]).toEqual([
      UsageEnv.minuteDays,
      UsageEnv.hourDays,
      UsageEnv.dayDays,
    ]);
    expect(S.anomalyDetection.env).toBe(ANOMALY_ENV);
  });
});
