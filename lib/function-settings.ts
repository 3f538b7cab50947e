/**
 * The settings each function receives in its environment, derived from the checked
 * deployment settings.
 */
import { Env } from '../common/names';
import type { FunctionName } from '../common/functions';
import { servicesEnvironment } from '../common/services';
import { ANOMALY_ENV, UsageEnv } from '../common/usage';
import type { TollgateConfig } from './settings';

/**
 * The settings each function reads from its environment (table names and wiring that
 * only the stack knows, such as the issuer URL or the rotation function's name, are
 * added where those resources are made).
 */
export function functionSettings(config: TollgateConfig): { readonly [K in FunctionName]: Readonly<Record<string, string>> } {
  return {
    authorizer: {
      [Env.audience]: config.audience,
      ...(config.servicesConfigured ? { [Env.services]: servicesEnvironment(config.services) } : { [Env.routes]: JSON.stringify(config.routes) }),
      [Env.unmatchedRoutes]: config.unmatchedRoutes,
      [Env.revocationPollMs]: String(config.revocationPollMs),
      [Env.revocationMaxStalenessS]: String(config.revocationViewMaxStaleSeconds),
    },
    token: {
      [Env.audience]: config.audience,
      // The token function publishes the services' scopes in its discovery metadata.
      ...(config.servicesConfigured ? { [Env.services]: servicesEnvironment(config.services) } : { [Env.routes]: JSON.stringify(config.routes) }),
      [Env.tokenTtlSeconds]: String(config.tokenTtlSeconds),
    },
    admin: {
      [Env.apiKeyPrefix]: config.apiKeyPrefix,
      // Per-service grants are checked against the services' scopes.
      ...(config.servicesConfigured && { [Env.services]: servicesEnvironment(config.services) }),
    },
    leaks: { [Env.secretScanningKeysUrl]: config.secretScanningKeysUrl },
    // The fan-out times its authorizer-cache flush to one authorizer poll after the feed write.
    fanout: { [Env.revocationPollMs]: String(config.revocationPollMs) },
    rotation: {
      [Env.keySpec]: config.keySpec,
      [Env.rotationIntervalDays]: String(config.rotationIntervalDays),
      [Env.keyDeletionWindowDays]: String(config.keyDeletionWindowDays),
      [Env.expiryWarningDays]: String(config.expiryWarningDays),
      [Env.staleKeyDays]: String(config.staleKeyDays),
    },
    // Requests are counted under the same route rules the authorizer decides by.
    metering: {
      [Env.routes]: JSON.stringify(config.routes),
      [UsageEnv.minuteDays]: String(config.usageMinuteRetentionDays),
      [UsageEnv.hourDays]: String(config.usageHourRetentionDays),
      [UsageEnv.dayDays]: String(config.usageDayRetentionDays),
      [ANOMALY_ENV]: JSON.stringify(config.anomalyDetection),
    },
  };
}
