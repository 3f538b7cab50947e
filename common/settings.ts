/**
 * Tollgate's deployment settings, each declared once (issue #16): its name (the CDK context key, and `npm start`'s
 * config-file key where `local`), the variable the functions in `readBy` read it from, its kind, default and
 * bounds. The stack's reading and checks, each function's environment ({@link functionEnvironments}), `npm start`'s
 * config file and docs/deploy.md's table derive from it (docs/architecture.md, "How to add a setting").
 *
 * Each descriptor is its own constant, a pure call of literals only, so a bundle keeps only those it reads
 * (esbuild drops an unused pure call, not one whose arguments read a property, nor one object of them all). They
 * are the only place a setting's variable, default and bounds are written: other code reads the descriptor where
 * it uses it (`tokenTtlSeconds.max`), never into a module-level value. `Env`, `Defaults` and `Limits` hold none.
 */
interface SettingBase {
  /** The CDK context key (`-c name=value`). */
  readonly name: string;
  /** The environment variable the functions in `readBy` read it from. */
  readonly env?: string;
  /** Names in `Functions` (`common/functions.ts`, which imports back into this module): `lib/function-settings.ts` checks them. */
  readonly readBy?: readonly string[];
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
  /** What it counts, which its refusals name: `a whole number of days from 1 to 35`. */
  readonly unit?: string;
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

/** Declares one setting: an identity function, called `/* @__PURE__ *\/` so that a bundle drops the descriptors it does not use. */
function setting<const D extends SettingDescriptor>(descriptor: D): D {
  return descriptor;
}

export const services = /* @__PURE__ */ setting({
  name: 'services',
  kind: 'custom',
  env: 'TOLLGATE_SERVICES',
  readBy: ['authorizer', 'token', 'admin'],
  local: true,
});
export const upstreamUrl = /* @__PURE__ */ setting({ name: 'upstreamUrl', kind: 'custom' });
export const routes = /* @__PURE__ */ setting({
  name: 'routes',
  kind: 'custom',
  env: 'TOLLGATE_ROUTES',
  readBy: ['authorizer', 'token', 'metering'],
  local: true,
});
export const unmatchedRoutes = /* @__PURE__ */ setting({
  name: 'unmatchedRoutes',
  kind: 'choice',
  values: ['deny', 'allow'],
  default: 'deny',
  choiceText: '"deny" or "allow"',
  env: 'TOLLGATE_UNMATCHED_ROUTES',
  readBy: ['authorizer'],
  local: true,
});
/** `max` is the hard maximum access-token lifetime (docs/api.md#credentials), which verifiers and key retirement rely on whatever is configured. */
export const tokenTtlSeconds = /* @__PURE__ */ setting({
  name: 'tokenTtlSeconds',
  kind: 'integer',
  default: 900,
  min: 60,
  max: 3_600,
  hint: 'seconds',
  env: 'TOLLGATE_TOKEN_TTL_SECONDS',
  readBy: ['token'],
  local: true,
});
export const keySpec = /* @__PURE__ */ setting({
  name: 'keySpec',
  kind: 'choice',
  values: ['ECC_NIST_P256', 'RSA_2048'],
  default: 'ECC_NIST_P256',
  env: 'TOLLGATE_KEY_SPEC',
  readBy: ['rotation'],
  local: true,
});
/** `min` 0: the shortest interval the key ring allows is a rule (`minRotationIntervalDays`), which names its reason. */
export const rotationIntervalDays = /* @__PURE__ */ setting({
  name: 'rotationIntervalDays',
  kind: 'integer',
  default: 30,
  min: 0,
  max: 365,
  envMin: 1,
  env: 'TOLLGATE_ROTATION_INTERVAL_DAYS',
  readBy: ['rotation'],
});
/** KMS's own bounds for a key's deletion waiting period. */
export const keyDeletionWindowDays = /* @__PURE__ */ setting({
  name: 'keyDeletionWindowDays',
  kind: 'integer',
  default: 30,
  min: 7,
  max: 30,
  env: 'TOLLGATE_KEY_DELETION_WINDOW_DAYS',
  readBy: ['rotation'],
});
/** The stack configures API Gateway's cache with it (`max`: API Gateway's own bound); local mode emulates that cache. */
export const authorizerCacheTtlSeconds = /* @__PURE__ */ setting({
  name: 'authorizerCacheTtlSeconds',
  kind: 'integer',
  default: 60,
  min: 0,
  max: 3_600,
  hint: 'seconds; 0 turns the cache off',
  local: true,
});
/**
 * The fan-out times its authorizer-cache flush to one poll after the feed write. 500, not the
 * contract's 1000: that missed the 2 s p99 propagation promise (BENCHMARKS.md P4). Polls
 * happen only on requests, so an idle instance reads nothing.
 */
export const revocationPollMs = /* @__PURE__ */ setting({
  name: 'revocationPollMs',
  kind: 'integer',
  default: 500,
  min: 100,
  max: 1_000,
  env: 'REVOCATION_POLL_MS',
  readBy: ['authorizer', 'fanout'],
});
/**
 * How long authorizers keep deciding on their last revocation view while the feed cannot be
 * read, then answer 503 (docs/revocation.md, "Outages"). `min`: a few polls. At most
 * `tokenTtlSeconds`, default included (a rule; `npm start` checks it too): beyond that a
 * token revoked during an outage could be accepted for its whole life.
 */
export const revocationViewMaxStaleSeconds = /* @__PURE__ */ setting({
  name: 'revocationViewMaxStaleSeconds',
  kind: 'integer',
  default: 30,
  min: 5,
  max: 3_600,
  envMin: 1,
  env: 'REVOCATION_MAX_STALENESS_S',
  readBy: ['authorizer'],
  local: true,
});
export const stageName = /* @__PURE__ */ setting({
  name: 'stageName',
  kind: 'text',
  default: 'v1',
  // API Gateway stage names: letters, digits, `-` and `_`, at most 128 characters.
  pattern: /^[A-Za-z0-9_-]{1,128}$/,
  rule: 'must be 1–128 letters, digits, "-" or "_"',
});
/** Absent: the API's own URL, which only the stack knows (it sets `TOLLGATE_ISSUER` itself). */
export const issuer = /* @__PURE__ */ setting({ name: 'issuer', kind: 'custom' });
export const audience = /* @__PURE__ */ setting({
  name: 'audience',
  kind: 'text',
  default: 'tollgate',
  pattern: /^\S{1,256}$/,
  rule: 'must be 1–256 characters without whitespace',
  env: 'TOLLGATE_AUDIENCE',
  readBy: ['authorizer', 'token'],
  local: true,
});
/** With `staleKeyDays`, the rotation function's credential-hygiene events (`max`: ten years). */
export const expiryWarningDays = /* @__PURE__ */ setting({
  name: 'expiryWarningDays',
  kind: 'integer',
  default: 14,
  min: 1,
  max: 3_650,
  env: 'TOLLGATE_EXPIRY_WARNING_DAYS',
  readBy: ['rotation'],
});
export const staleKeyDays = /* @__PURE__ */ setting({
  name: 'staleKeyDays',
  kind: 'integer',
  default: 90,
  min: 1,
  max: 3_650,
  env: 'TOLLGATE_STALE_KEY_DAYS',
  readBy: ['rotation'],
});
/** Pass the client's `Authorization` header on to the upstream (docs/api.md#what-the-upstream-receives-upstream-contract); the stage, or the local gateway, applies it. */
export const forwardBearerToken = /* @__PURE__ */ setting({ name: 'forwardBearerToken', kind: 'boolean', default: false, local: true });
/** A regional WAFv2 web ACL for the stage; `lib/gateway/rest-api.ts` checks its Region against the stack's. */
export const wafWebAclArn = /* @__PURE__ */ setting({
  name: 'wafWebAclArn',
  kind: 'text',
  pattern: /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[^/]+\/[^/]+$/,
  rule: 'must be the ARN of a regional WAFv2 web ACL',
});
export const operatorPrincipals = /* @__PURE__ */ setting({ name: 'operatorPrincipals', kind: 'custom' });
/**
 * Which client certificate the stage presents to the upstream: each generation is its own
 * certificate, so raising it by one replaces it (docs/deploy.md). `max`: one a year for 1000 years.
 */
export const upstreamCertificateGeneration = /* @__PURE__ */ setting({
  name: 'upstreamCertificateGeneration',
  kind: 'integer',
  default: 1,
  min: 1,
  max: 1_000,
});
/** Also create generation + 1, without presenting it, so the upstream can trust it before the switch. */
export const prepareNextUpstreamCertificate = /* @__PURE__ */ setting({ name: 'prepareNextUpstreamCertificate', kind: 'boolean', default: false });
export const apiKeyPrefix = /* @__PURE__ */ setting({ name: 'apiKeyPrefix', kind: 'custom', env: 'TOLLGATE_API_KEY_PREFIX', readBy: ['admin'], local: true });
export const secretScanningKeysUrl = /* @__PURE__ */ setting({
  name: 'secretScanningKeysUrl',
  kind: 'custom',
  env: 'TOLLGATE_SECRET_SCANNING_KEYS_URL',
  readBy: ['leaks'],
  local: true,
});
/** AWS WAF's bounds for a rate-based rule's limit (requests per evaluation window, per IP). No default: absent, no web ACL is made. */
export const leakRevokeRateLimitPerIp = /* @__PURE__ */ setting({ name: 'leakRevokeRateLimitPerIp', kind: 'integer', min: 10, max: 2_000_000_000 });
/** How long usage rows of each granularity are kept; each at least as long as a finer one (a rule: `usageRetentionProblem`). */
export const usageMinuteRetentionDays = /* @__PURE__ */ setting({
  name: 'usageMinuteRetentionDays',
  kind: 'integer',
  default: 7,
  min: 1,
  max: 35,
  unit: 'days',
  env: 'TOLLGATE_USAGE_MINUTE_RETENTION_DAYS',
  readBy: ['metering'],
  local: true,
});
export const usageHourRetentionDays = /* @__PURE__ */ setting({
  name: 'usageHourRetentionDays',
  kind: 'integer',
  default: 90,
  min: 1,
  max: 400,
  unit: 'days',
  env: 'TOLLGATE_USAGE_HOUR_RETENTION_DAYS',
  readBy: ['metering'],
  local: true,
});
export const usageDayRetentionDays = /* @__PURE__ */ setting({
  name: 'usageDayRetentionDays',
  kind: 'integer',
  default: 400,
  min: 1,
  max: 3_650,
  unit: 'days',
  env: 'TOLLGATE_USAGE_DAY_RETENTION_DAYS',
  readBy: ['metering'],
  local: true,
});
/** An object overriding some of `ANOMALY_DEFAULTS` (`common/usage.ts`); the metering function gets the overrides as JSON. */
export const anomalyDetection = /* @__PURE__ */ setting({
  name: 'anomalyDetection',
  kind: 'custom',
  env: 'TOLLGATE_ANOMALY_SETTINGS',
  readBy: ['metering'],
  local: true,
});
/**
 * The fraction of allow decisions the authorizer logs (every denial is logged): a busy
 * deployment keeps its log volume down, a new one logs every decision while it settles in.
 */
export const allowLogSampleRate = /* @__PURE__ */ setting({
  name: 'allowLogSampleRate',
  kind: 'number',
  default: 0.01,
  min: 0,
  max: 1,
  env: 'TOLLGATE_ALLOW_LOG_SAMPLE_RATE',
  readBy: ['authorizer'],
  local: true,
});

/**
 * Every setting. The order is the one `npm start` lists its config file's keys in (the
 * `local` ones); docs/deploy.md may order its table for the reader.
 */
export const SETTING_DESCRIPTORS = [
  upstreamUrl,
  routes,
  unmatchedRoutes,
  tokenTtlSeconds,
  keySpec,
  rotationIntervalDays,
  keyDeletionWindowDays,
  authorizerCacheTtlSeconds,
  services,
  revocationPollMs,
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
  revocationViewMaxStaleSeconds,
  leakRevokeRateLimitPerIp,
  usageMinuteRetentionDays,
  usageHourRetentionDays,
  usageDayRetentionDays,
  anomalyDetection,
  allowLogSampleRate,
] as const satisfies readonly SettingDescriptor[];

export type SettingName = (typeof SETTING_DESCRIPTORS)[number]['name'];
type Descriptors = (typeof SETTING_DESCRIPTORS)[number];
type Plain = Exclude<Descriptors, { readonly kind: 'custom' }>;
/** The plain settings `npm start`'s config file may set. */
export type LocalPlainSettingName = Extract<Plain, { readonly local: true }>['name'];

/** The values of the settings that need no reader of their own, as read: those with a default always have one. */
export type PlainSettings = {
  readonly [D in Plain as D extends { readonly default: unknown } ? D['name'] : never]: SettingValue<D>;
} & {
  readonly [D in Plain as D extends { readonly default: unknown } ? never : D['name']]?: SettingValue<D>;
};

/**
 * The variables that hand `values` (by setting name) to each function that reads them, for the stack and local mode
 * alike, as the functions read them back: strings as they are, numbers and switches as text, the rest as JSON;
 * `services` without the upstream URLs, which only the stack needs; `routes` to the metering function, which labels
 * requests by them, and to the others only without `services`, which replace them.
 */
export function functionEnvironments(values: Readonly<Record<string, unknown>>): Readonly<Record<string, Readonly<Record<string, string>>>> {
  const environments: Record<string, Record<string, string>> = {};
  for (const setting of SETTING_DESCRIPTORS as readonly SettingDescriptor[]) {
    for (const fn of setting.readBy ?? []) {
      const value = setting === routes && fn !== 'metering' && values.services !== undefined ? undefined : values[setting.name];
      const encoded = setting === services ? (value as { upstreamUrl?: string }[] | undefined)?.map(({ upstreamUrl: _url, ...rest }) => rest) : value;
      if (setting.env === undefined || encoded === undefined) continue;
      (environments[fn] ??= {})[setting.env] =
        typeof encoded === 'string' ? encoded : typeof encoded === 'number' || typeof encoded === 'boolean' ? String(encoded) : JSON.stringify(encoded);
    }
  }
  return environments;
}
