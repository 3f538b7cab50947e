/**
 * The metering function's configuration, read and checked once at cold start: the usage
 * table, the retention of each granularity (the stack checked them at synth; checked again
 * here so a hand-edited variable cannot write rows that never expire), and the route rules
 * requests are labelled by (the same `TOLLGATE_ROUTES` the authorizer reads).
 */
import { DEFAULT_ROUTES, type RouteRule } from '../../common/gateway-contract';
import { Env } from '../../common/names';
import { routeRulesProblem } from '../../common/setting-checks';
import { anomalyDetection, routes as routesSetting } from '../../common/settings';
import {
  anomalySettingsFrom,
  RETENTION_KEYS,
  UsageRetentionDefaults,
  UsageRetentionSetting,
  usageRetentionProblem,
  type AnomalySettings,
  type UsageRetention,
} from '../../common/usage';
import { ConfigurationError, tableNamesFrom } from '../core/shared/env';

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
  const retention = Object.fromEntries(
    RETENTION_KEYS.map((key) => {
      const raw = env[UsageRetentionSetting[key].env];
      return [key, raw === undefined || raw === '' ? UsageRetentionDefaults[key] : /^\d+$/.test(raw) ? Number(raw) : raw];
    }),
  ) as unknown as UsageRetention;
  const problem = usageRetentionProblem(retention);
  if (problem) throw new ConfigurationError(`environment variable ${UsageRetentionSetting[problem.key].env} ${problem.problem}`);
  const eventBusName = env[Env.eventBusName] || undefined;
  return {
    usageTable: usage,
    clientsTable: clients,
    apiKeysTable: apiKeys,
    ...(eventBusName && { eventBusName }),
    retention,
    routes: routesFrom(env[routesSetting.env]),
    anomaly: anomalyFrom(env[anomalyDetection.env]),
  };
}

function anomalyFrom(raw: string | undefined): AnomalySettings {
  let value: unknown;
  try {
    value = raw === undefined || raw === '' ? undefined : JSON.parse(raw);
  } catch (error) {
    throw new ConfigurationError(`environment variable ${anomalyDetection.env} is not valid JSON: ${(error as Error).message}`);
  }
  const result = anomalySettingsFrom(value);
  if ('problem' in result) throw new ConfigurationError(`environment variable ${anomalyDetection.env} ${result.problem}`);
  return result.settings;
}

function routesFrom(raw: string | undefined): readonly RouteRule[] {
  if (raw === undefined || raw === '') return DEFAULT_ROUTES;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new ConfigurationError(`environment variable ${routesSetting.env} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = routeRulesProblem(value);
  if (problem) throw new ConfigurationError(`environment variable ${routesSetting.env} ${problem}`);
  return value as RouteRule[];
}
