/**
 * The metering function's configuration, read and checked once at cold start: the usage
 * table, the retention of each granularity (the stack checked them at synth; checked again
 * here so a hand-edited variable cannot write rows that never expire), and the route rules
 * requests are labelled by (the same `TOLLGATE_ROUTES` the authorizer reads).
 */
import type { RouteRule } from '../../common/gateway-contract';
import { Env } from '../../common/names';
import { checkedJson } from '../../common/setting-checks';
import { anomalyDetection, usageDayRetentionDays, usageHourRetentionDays, usageMinuteRetentionDays } from '../../common/settings';
import { ANOMALY_DEFAULTS, anomalySettingsFrom, usageRetentionProblem, type AnomalySettings, type UsageRetention } from '../../common/usage';
import { routesFrom } from '../core/authorizer/route-policy';
import { ConfigurationError, settingFromEnv, tableNamesFrom } from '../core/shared/env';

type Environment = Readonly<Record<string, string | undefined>>;

export interface MeteringConfig {
  readonly usageTable: string;
  /** Metered quotas and suspensions live on the client records. */
  readonly clientsTable: string;
  /** The anomaly response `revoke` revokes API keys. */
  readonly apiKeysTable: string;
  /** Where `UsageLimitApproaching` events go; absent: the default bus. */
  readonly eventBusName?: string;
  readonly retention: UsageRetention;
  readonly routes: readonly RouteRule[];
  readonly anomaly: AnomalySettings;
}

export function readMeteringConfig(env: Environment): MeteringConfig {
  const { usage, clients, apiKeys } = tableNamesFrom(env, ['usage', 'clients', 'apiKeys']);
  const retention: UsageRetention = {
    minuteDays: settingFromEnv(env, usageMinuteRetentionDays),
    hourDays: settingFromEnv(env, usageHourRetentionDays),
    dayDays: settingFromEnv(env, usageDayRetentionDays),
  };
  const problem = usageRetentionProblem(retention);
  if (problem) throw new ConfigurationError(`environment variable ${problem.setting.env} ${problem.problem}`);
  const eventBusName = env[Env.eventBusName] || undefined;
  return {
    usageTable: usage,
    clientsTable: clients,
    apiKeysTable: apiKeys,
    ...(eventBusName && { eventBusName }),
    retention,
    routes: routesFrom(env),
    anomaly: anomalyFrom(env[anomalyDetection.env]),
  };
}

/** `TOLLGATE_ANOMALY_SETTINGS`, checked as the stack checked it at synth; absent: the defaults. */
function anomalyFrom(raw: string | undefined): AnomalySettings {
  if (raw === undefined || raw === '') return ANOMALY_DEFAULTS;
  const problemOf = (value: unknown) => {
    const result = anomalySettingsFrom(value);
    return 'problem' in result ? result.problem : undefined;
  };
  const checked = checkedJson(raw, `environment variable ${anomalyDetection.env}`, problemOf);
  if ('message' in checked) throw new ConfigurationError(checked.message);
  return (anomalySettingsFrom(checked.value) as { readonly settings: AnomalySettings }).settings;
}
