/**
 * Tollgate's deployment settings, each declared once (issue #16): its name (the CDK context
 * key, and the key of `npm start`'s config file where `local`), the environment variable the
 * functions read it from and which functions do, its kind, default and bounds. The rest
 * derives from this table:
 *
 * - `lib/config.ts` reads and checks every setting from CDK context (`readConfig`), and
 *   `lib/settings.ts` derives `TollgateConfig` and `SETTINGS` from it;
 * - `lib/function-settings.ts` hands each function the settings it reads, encoded;
 * - each `lambda/<function>/config.ts` reads them back at cold start with
 *   `lambda/core/shared/env.ts`'s `settingFromEnv`;
 * - `local/start-input.ts` checks `npm start`'s config file against the `local` settings;
 * - `test/unit/settings/docs.test.ts` holds docs/deploy.md's settings table to it.
 *
 * Settings whose value needs more than a kind and bounds (`custom`: JSON lists, URLs with
 * rules of their own) keep their reader beside the stack's other checks; the rules that
 * relate two settings (`SETTING_RULES` in `lib/config.ts`) run after every setting is read.
 *
 * Each descriptor is its own constant so a function's bundle holds only the ones it reads
 * (esbuild drops unused module-level constants; one object of all of them would not be).
 * Bounds the stack shares with other code stay in `common/defaults.ts`; a new setting needs
 * no constant there, its numbers live here.
 */
import { Defaults, Limits, SettingBounds } from './defaults';
import type { FunctionName } from './functions';
import { Env } from './names';
import { KEY_SPECS } from './tokens';
import { ANOMALY_ENV, UsageEnv } from './usage';

interface SettingBase {
  /** The CDK context key (`-c name=value`). */
  readonly name: string;
  /** The environment variable the functions in `readBy` read it from. */
  readonly env?: string;
  readonly readBy?: readonly FunctionName[];
  /** `npm start`'s config file may set it too (`local/start-input.ts`). */
  readonly local?: boolean;
}

/** A whole number from `min` to `max`. */
export interface IntegerSetting extends SettingBase {
  readonly kind: 'integer';
  /** Absent: the setting is optional and has no value unless given. */
  readonly default?: number;
  readonly min: number;
  readonly max: number;
  /** The functions accept down to this (local mode and tests run shorter windows); default `min`. */
  readonly envMin?: number;
  /** What `npm start`'s refusal adds in brackets after the bounds, e.g. `seconds`. */
  readonly hint?: string;
}

/** A finite number from `min` to `max`. */
export interface NumberSetting extends SettingBase {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface BooleanSetting extends SettingBase {
  readonly kind: 'boolean';
  readonly default: boolean;
}

/** One of `values`. */
export interface ChoiceSetting<T extends string = string> extends SettingBase {
  readonly kind: 'choice';
  readonly values: readonly T[];
  readonly default: T;
  /** How the functions and `npm start` name the values when they refuse one; default `one of a, b`. */
  readonly choiceText?: string;
}

/** A string matching `pattern`; `rule` says what that is, for the refusal. */
export interface TextSetting extends SettingBase {
  readonly kind: 'text';
  readonly default?: string;
  readonly pattern: RegExp;
  readonly rule: string;
}

/** Read by its own reader in `lib/config.ts` (and `local/start-input.ts` where `local`). */
export interface CustomSetting extends SettingBase {
  readonly kind: 'custom';
}

export type SettingDescriptor = IntegerSetting | NumberSetting | BooleanSetting | ChoiceSetting | TextSetting | CustomSetting;

/** The value a descriptor's setting has once read (custom settings are typed where they are read). */
export type SettingValue<D> = D extends { readonly kind: 'integer' | 'number' }
  ? number
  : D extends { readonly kind: 'boolean' }
    ? boolean
    : D extends { readonly kind: 'choice'; readonly values: readonly (infer V)[] }
      ? V
      : D extends { readonly kind: 'text' }
        ? string
        : unknown;

/** The choices as the functions and `npm start` name them in a refusal. */
export function choicesText(setting: ChoiceSetting): string {
  return setting.choiceText ?? `one of ${setting.values.join(', ')}`;
}

// ---- the table, in the order docs/deploy.md lists the settings ----

export const services = { name: 'services', kind: 'custom', env: Env.services, readBy: ['authorizer', 'token', 'admin'], local: true } as const;
export const upstreamUrl = { name: 'upstreamUrl', kind: 'custom' } as const;
export const routes = { name: 'routes', kind: 'custom', env: Env.routes, readBy: ['authorizer', 'token', 'metering'], local: true } as const;
export const unmatchedRoutes = {
  name: 'unmatchedRoutes',
  kind: 'choice',
  values: ['deny', 'allow'],
  default: Defaults.unmatchedRoutes,
  choiceText: '"deny" or "allow"',
  env: Env.unmatchedRoutes,
  readBy: ['authorizer'],
  local: true,
} as const satisfies ChoiceSetting;
export const tokenTtlSeconds = {
  name: 'tokenTtlSeconds',
  kind: 'integer',
  default: Defaults.tokenTtlSeconds,
  min: Limits.tokenTtlSecondsMin,
  max: Limits.tokenTtlSecondsMax,
  hint: 'seconds',
  env: Env.tokenTtlSeconds,
  readBy: ['token'],
  local: true,
} as const satisfies IntegerSetting;
export const keySpec = {
  name: 'keySpec',
  kind: 'choice',
  values: KEY_SPECS,
  default: Defaults.keySpec,
  env: Env.keySpec,
  readBy: ['rotation'],
  local: true,
} as const satisfies ChoiceSetting;
/** `min` 0: the shortest interval the key ring allows is a rule (`minRotationIntervalDays`), which names its reason. */
export const rotationIntervalDays = {
  name: 'rotationIntervalDays',
  kind: 'integer',
  default: Defaults.rotationIntervalDays,
  min: 0,
  max: SettingBounds.rotationIntervalDaysMax,
  envMin: 1,
  env: Env.rotationIntervalDays,
  readBy: ['rotation'],
} as const satisfies IntegerSetting;
export const keyDeletionWindowDays = {
  name: 'keyDeletionWindowDays',
  kind: 'integer',
  default: Defaults.keyDeletionWindowDays,
  min: Limits.keyDeletionWindowDaysMin,
  max: Limits.keyDeletionWindowDaysMax,
  env: Env.keyDeletionWindowDays,
  readBy: ['rotation'],
} as const satisfies IntegerSetting;
/** The stack configures API Gateway's cache with it; local mode emulates that cache. */
export const authorizerCacheTtlSeconds = {
  name: 'authorizerCacheTtlSeconds',
  kind: 'integer',
  default: Defaults.authorizerCacheTtlSeconds,
  min: 0,
  max: Limits.authorizerCacheTtlSecondsMax,
  hint: 'seconds; 0 turns the cache off',
  local: true,
} as const satisfies IntegerSetting;
/** The fan-out gets it too: it times its authorizer-cache flush to one authorizer poll after the feed write. */
export const revocationPollMs = {
  name: 'revocationPollMs',
  kind: 'integer',
  default: Defaults.revocationPollMs,
  min: Limits.revocationPollMsMin,
  max: Limits.revocationPollMsMax,
  env: Env.revocationPollMs,
  readBy: ['authorizer', 'fanout'],
} as const satisfies IntegerSetting;
/** At most `tokenTtlSeconds` too, and its default never above it (a rule); `npm start` checks it against the TTL itself. */
export const revocationViewMaxStaleSeconds = {
  name: 'revocationViewMaxStaleSeconds',
  kind: 'integer',
  default: Defaults.revocationMaxStalenessS,
  min: Limits.revocationViewMaxStaleSecondsMin,
  max: Limits.tokenTtlSecondsMax,
  envMin: 1,
  env: Env.revocationMaxStalenessS,
  readBy: ['authorizer'],
  local: true,
} as const satisfies IntegerSetting;
export const stageName = {
  name: 'stageName',
  kind: 'text',
  default: Defaults.stageName,
  // API Gateway stage names: letters, digits, `-` and `_`, at most 128 characters.
  pattern: /^[A-Za-z0-9_-]{1,128}$/,
  rule: 'must be 1–128 letters, digits, "-" or "_"',
} as const satisfies TextSetting;
/** Absent: the API's own URL, which only the stack knows (it sets `TOLLGATE_ISSUER` itself). */
export const issuer = { name: 'issuer', kind: 'custom' } as const;
export const audience = {
  name: 'audience',
  kind: 'text',
  default: Defaults.audience,
  pattern: /^\S{1,256}$/,
  rule: 'must be 1–256 characters without whitespace',
  env: Env.audience,
  readBy: ['authorizer', 'token'],
} as const satisfies TextSetting;
export const expiryWarningDays = {
  name: 'expiryWarningDays',
  kind: 'integer',
  default: Defaults.expiryWarningDays,
  min: 1,
  max: SettingBounds.hygieneDaysMax,
  env: Env.expiryWarningDays,
  readBy: ['rotation'],
} as const satisfies IntegerSetting;
export const staleKeyDays = {
  name: 'staleKeyDays',
  kind: 'integer',
  default: Defaults.staleKeyDays,
  min: 1,
  max: SettingBounds.hygieneDaysMax,
  env: Env.staleKeyDays,
  readBy: ['rotation'],
} as const satisfies IntegerSetting;
export const forwardBearerToken = { name: 'forwardBearerToken', kind: 'boolean', default: Defaults.forwardBearerToken } as const satisfies BooleanSetting;
export const wafWebAclArn = {
  name: 'wafWebAclArn',
  kind: 'text',
  pattern: /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[^/]+\/[^/]+$/,
  rule: 'must be the ARN of a regional WAFv2 web ACL',
} as const satisfies TextSetting;
export const operatorPrincipals = { name: 'operatorPrincipals', kind: 'custom' } as const;
export const upstreamCertificateGeneration = {
  name: 'upstreamCertificateGeneration',
  kind: 'integer',
  default: Defaults.upstreamCertificateGeneration,
  min: 1,
  max: SettingBounds.upstreamCertificateGenerationMax,
} as const satisfies IntegerSetting;
export const prepareNextUpstreamCertificate = { name: 'prepareNextUpstreamCertificate', kind: 'boolean', default: false } as const satisfies BooleanSetting;
export const apiKeyPrefix = { name: 'apiKeyPrefix', kind: 'custom', env: Env.apiKeyPrefix, readBy: ['admin'], local: true } as const;
export const secretScanningKeysUrl = { name: 'secretScanningKeysUrl', kind: 'custom', env: Env.secretScanningKeysUrl, readBy: ['leaks'], local: true } as const;
/** AWS WAF's bounds for a rate-based rule's limit (requests per evaluation window, per IP). No default: absent, no web ACL is made. */
export const leakRevokeRateLimitPerIp = { name: 'leakRevokeRateLimitPerIp', kind: 'integer', min: 10, max: 2_000_000_000 } as const satisfies IntegerSetting;
/** The three retentions are checked together (coarser kept at least as long as finer): `usageRetentionProblem`. */
export const usageMinuteRetentionDays = {
  name: 'usageMinuteRetentionDays',
  kind: 'custom',
  env: UsageEnv.minuteDays,
  readBy: ['metering'],
  local: true,
} as const;
export const usageHourRetentionDays = { name: 'usageHourRetentionDays', kind: 'custom', env: UsageEnv.hourDays, readBy: ['metering'], local: true } as const;
export const usageDayRetentionDays = { name: 'usageDayRetentionDays', kind: 'custom', env: UsageEnv.dayDays, readBy: ['metering'], local: true } as const;
export const anomalyDetection = { name: 'anomalyDetection', kind: 'custom', env: ANOMALY_ENV, readBy: ['metering'], local: true } as const;

/** Every setting, in docs/deploy.md's order. */
export const SETTING_DESCRIPTORS = [
  services,
  upstreamUrl,
  routes,
  unmatchedRoutes,
  tokenTtlSeconds,
  keySpec,
  rotationIntervalDays,
  keyDeletionWindowDays,
  authorizerCacheTtlSeconds,
  revocationPollMs,
  revocationViewMaxStaleSeconds,
  stageName,
  issuer,
  audience,
  expiryWarningDays,
  staleKeyDays,
  forwardBearerToken,
  wafWebAclArn,
  operatorPrincipals,
  upstreamCertificateGeneration,
  prepareNextUpstreamCertificate,
  apiKeyPrefix,
  secretScanningKeysUrl,
  leakRevokeRateLimitPerIp,
  usageMinuteRetentionDays,
  usageHourRetentionDays,
  usageDayRetentionDays,
  anomalyDetection,
] as const satisfies readonly SettingDescriptor[];

export type SettingName = (typeof SETTING_DESCRIPTORS)[number]['name'];
type Descriptors = (typeof SETTING_DESCRIPTORS)[number];
type Plain = Exclude<Descriptors, { readonly kind: 'custom' }>;

/**
 * The values of the settings that need no reader of their own, as read: those with a
 * default always have one.
 */
export type PlainSettings = {
  readonly [D in Plain as D extends { readonly default: unknown } ? D['name'] : never]: SettingValue<D>;
} & {
  readonly [D in Plain as D extends { readonly default: unknown } ? never : D['name']]?: SettingValue<D>;
};
