/**
 * Tollgate's deployment settings as the stacks receive them: the typed value
 * ({@link TollgateConfig}), the settings' names as CDK context keys, and the error that names
 * the setting the stack refuses. Each setting is declared once, in `common/settings.ts`; the
 * plain ones (a kind, a default, bounds) are typed from there, the custom ones here. Read and
 * checked by `lib/config.ts`.
 */
import type { RouteRule } from '../common/gateway-contract';
import { ConfigurationError } from '../common/errors';
import type { ServiceDefinition } from '../common/services';
import { SETTING_DESCRIPTORS, type PlainSettings, type SettingName } from '../common/settings';
import type { AnomalySettings } from '../common/usage';

export type { SettingName };

/**
 * Every setting, read and checked. The plain settings (`PlainSettings`: numbers, switches,
 * choices, patterns) come from their descriptors, with the meaning documented there and in
 * docs/deploy.md; the settings below need a reader of their own.
 */
export interface TollgateConfig extends PlainSettings {
  /** The single-service form: where every request that is not Tollgate's own goes, after the authorizer allowed it. */
  readonly upstreamUrl?: string;
  readonly routes: readonly RouteRule[];
  /**
   * The upstream services, each with its https upstream URL: the `services` setting, or the
   * single-service form (`upstreamUrl`, `routes`, `audience`) as its one service.
   */
  readonly services: readonly ServiceDefinition[];
  /** Whether `services` was set (the functions then read `TOLLGATE_SERVICES`). */
  readonly servicesConfigured: boolean;
  /** Absent: the API's own URL (see `TollgateApiStack`). */
  readonly issuer?: string;
  /**
   * IAM principal ARN patterns that may call the admin routes (a resource policy denies
   * them to everyone else). Absent: any principal whose IAM policy allows `execute-api:Invoke`.
   */
  readonly operatorPrincipals?: readonly string[];
  /**
   * The prefix of new API keys, unique to this deployment so secret scanners can attribute
   * its keys (docs/api.md, "API key format"). Keys issued under an earlier one stay valid.
   */
  readonly apiKeyPrefix: string;
  /** Where GitHub's secret-scanning public keys are listed (`POST /secret-scanning/github` verifies with them). */
  readonly secretScanningKeysUrl: string;
  /** How long usage rows are kept, days, per granularity (docs/usage.md). */
  readonly usageMinuteRetentionDays: number;
  readonly usageHourRetentionDays: number;
  readonly usageDayRetentionDays: number;
  /** Anomaly detection's thresholds: the defaults with the overrides given (docs/usage.md). */
  readonly anomalyDetection: AnomalySettings;
}

/** The names of the settings, as CDK context keys (`-c name=value`). */
export const SETTINGS: readonly SettingName[] = SETTING_DESCRIPTORS.map((setting) => setting.name);

/** A setting the stack refuses at synth: the one `ConfigurationError`, naming the CDK setting. */
export class ConfigError extends ConfigurationError {
  override readonly name = 'ConfigError';
  constructor(
    override readonly setting: SettingName,
    problem: string,
  ) {
    super(`Invalid Tollgate configuration: ${setting} ${problem}`, setting);
  }
}
