/**
 * Tollgate's deployment settings as the stacks receive them: the typed value
 * ({@link TollgateConfig}), the settings' names as CDK context keys, and the error that names
 * the setting the stack refuses. Read and checked by `lib/config.ts`.
 */
import type { RouteRule, UnmatchedRoutes } from '../common/gateway-contract';
import { ConfigurationError } from '../common/errors';
import type { KeySpec } from '../common/tokens';
import type { ServiceDefinition } from '../common/services';
import type { AnomalySettings } from '../common/usage';

export interface TollgateConfig {
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
  readonly unmatchedRoutes: UnmatchedRoutes;
  readonly tokenTtlSeconds: number;
  readonly keySpec: KeySpec;
  readonly rotationIntervalDays: number;
  readonly keyDeletionWindowDays: number;
  readonly authorizerCacheTtlSeconds: number;
  readonly revocationPollMs: number;
  /**
   * How long authorizers keep deciding on their last revocation view while the feed cannot be
   * read; then they answer 503 until it can. From 5 s to `tokenTtlSeconds`.
   */
  readonly revocationViewMaxStaleSeconds: number;
  readonly stageName: string;
  /** Absent: the API's own URL (see `TollgateApiStack`). */
  readonly issuer?: string;
  readonly audience: string;
  readonly expiryWarningDays: number;
  readonly staleKeyDays: number;
  /** Pass the client's `Authorization` header on to the upstream (docs/api.md#what-the-upstream-receives-upstream-contract: off by default). */
  readonly forwardBearerToken: boolean;
  /** A regional WAFv2 web ACL to associate with the stage. */
  readonly wafWebAclArn?: string;
  /**
   * IAM principal ARN patterns that may call the admin routes (a resource policy denies
   * them to everyone else). Absent: any principal whose IAM policy allows `execute-api:Invoke`.
   */
  readonly operatorPrincipals?: readonly string[];
  /**
   * Which client certificate the stage presents to the upstream: each generation is its own
   * certificate, so raising it by one replaces the certificate (docs/deploy.md).
   */
  readonly upstreamCertificateGeneration: number;
  /** Also create generation + 1, without presenting it, so the upstream can trust it before the switch. */
  readonly prepareNextUpstreamCertificate: boolean;
  /**
   * The prefix of new API keys, unique to this deployment so secret scanners can attribute
   * its keys (docs/api.md, "API key format"). Keys issued under an earlier one stay valid.
   */
  readonly apiKeyPrefix: string;
  /** Where GitHub's secret-scanning public keys are listed (`POST /secret-scanning/github` verifies with them). */
  readonly secretScanningKeysUrl: string;
  /**
   * Requests per source IP per 5 minutes that an AWS WAF rate-based rule lets through to
   * `POST /leaks/revoke`. Absent: no web ACL is made (the method throttle still applies).
   */
  readonly leakRevokeRateLimitPerIp?: number;
  /** How long usage rows are kept, days, per granularity (docs/usage.md). */
  readonly usageMinuteRetentionDays: number;
  readonly usageHourRetentionDays: number;
  readonly usageDayRetentionDays: number;
  /** Anomaly detection's thresholds: the defaults with the overrides given (docs/usage.md). */
  readonly anomalyDetection: AnomalySettings;
}

/** The names of the settings, as CDK context keys (`-c name=value`). */
export const SETTINGS = [
  'services',
  'upstreamUrl',
  'routes',
  'unmatchedRoutes',
  'tokenTtlSeconds',
  'keySpec',
  'rotationIntervalDays',
  'keyDeletionWindowDays',
  'authorizerCacheTtlSeconds',
  'revocationPollMs',
  'revocationViewMaxStaleSeconds',
  'stageName',
  'issuer',
  'audience',
  'expiryWarningDays',
  'staleKeyDays',
  'forwardBearerToken',
  'wafWebAclArn',
  'operatorPrincipals',
  'upstreamCertificateGeneration',
  'prepareNextUpstreamCertificate',
  'apiKeyPrefix',
  'secretScanningKeysUrl',
  'leakRevokeRateLimitPerIp',
  'usageMinuteRetentionDays',
  'usageHourRetentionDays',
  'usageDayRetentionDays',
  'anomalyDetection',
] as const satisfies readonly (keyof TollgateConfig)[];
export type SettingName = (typeof SETTINGS)[number];

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
