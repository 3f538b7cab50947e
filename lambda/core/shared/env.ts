/**
 * Reading a function's configuration from its environment, once at cold start: a missing
 * or malformed value fails the init with a message naming the variable.
 */
import { apiKeyPrefix, choicesText, type SettingDescriptor, type SettingValue } from '../../../common/settings';
import { Tables, type TableKey, type TableNames } from '../../../common/tables';
import { DEFAULT_API_KEY_PREFIX, apiKeyPrefixProblem } from '../../../common/tokens';
import { ConfigurationError } from '../../../common/errors';
import { decimalNumber } from '../../../common/setting-checks';
import { Defaults, Limits } from '../../../common/defaults';
import { Env } from '../../../common/names';

type Environment = Readonly<Record<string, string | undefined>>;

export { ConfigurationError };

export function requireString(env: Environment, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

/** An integer variable within bounds; absent or empty: `fallback`. `unit` words the refusal (`a whole number of days`). */
export function optionalInt(env: Environment, name: string, fallback: number, min: number, max: number, unit?: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = decimalNumber(raw);
  if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
    const what = unit === undefined ? 'an integer' : `a whole number of ${unit}`;
    throw new ConfigurationError(`environment variable ${name} must be ${what} from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function optionalNumber(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = decimalNumber(raw);
  if (value === undefined || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(`environment variable ${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function optionalBoolean(env: Environment, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigurationError(`environment variable ${name} must be "true" or "false", got "${raw}"`);
}

/** A plain setting the stack hands a function (`common/settings.ts`: it has an `env` and a default). */
export type EnvSetting = Exclude<SettingDescriptor, { kind: 'custom' }> & { readonly env: string };

/**
 * A setting from the variable its descriptor names, checked against the descriptor's
 * bounds (the functions accept down to `envMin`); absent or empty: its default.
 */
export function settingFromEnv<S extends EnvSetting>(env: Environment, setting: S): SettingValue<S> {
  return readSetting(env, setting) as SettingValue<S>;
}

function readSetting(env: Environment, setting: EnvSetting): unknown {
  const name = setting.env;
  switch (setting.kind) {
    case 'integer':
      return optionalInt(env, name, setting.default as number, setting.envMin ?? setting.min, setting.max, setting.unit);
    case 'number':
      return optionalNumber(env, name, setting.default, setting.min, setting.max);
    case 'boolean':
      return optionalBoolean(env, name, setting.default);
    case 'choice': {
      const raw = env[name];
      if (raw === undefined || raw === '') return setting.default;
      if (setting.values.includes(raw)) return raw;
      throw new ConfigurationError(`environment variable ${name} must be ${choicesText(setting)}, got "${raw}"`);
    }
    case 'text': {
      const raw = env[name];
      if (raw === undefined || raw === '') return setting.default;
      if (!setting.pattern.test(raw)) throw new ConfigurationError(`environment variable ${name} ${setting.rule}, got "${raw}"`);
      return raw;
    }
  }
}

/** `TOLLGATE_CLOCK_SKEW_SECONDS`: the leeway every function that reasons about token times applies alike. */
export function clockSkewSecondsFrom(env: Environment): number {
  return optionalInt(env, Env.clockSkewSeconds, Defaults.clockSkewSeconds, 0, Limits.clockSkewSecondsMax);
}

/** `TOLLGATE_KEY_RING_REFRESH_SECONDS`: how often authorizers reread the ring, which rotation's publication wait is derived from. */
export function keyRingRefreshSecondsFrom(env: Environment): number {
  return optionalInt(env, Env.keyRingRefreshSeconds, Defaults.keyRingRefreshSeconds, Limits.keyRingRefreshSecondsMin, Limits.keyRingRefreshSecondsMax);
}

/** The names of the tables a function was granted, each required. */
export function tableNamesFrom<K extends TableKey>(env: Environment, keys: readonly K[]): Pick<TableNames, K> {
  return Object.fromEntries(keys.map((key) => [key, requireString(env, Tables[key].envVar)])) as Pick<TableNames, K>;
}

/** `TOLLGATE_API_KEY_PREFIX` (`apiKeyPrefix`), checked as the stack checks it at synth. */
export function apiKeyPrefixFrom(env: Environment): string {
  const raw = env[apiKeyPrefix.env];
  if (raw === undefined || raw === '') return DEFAULT_API_KEY_PREFIX;
  const problem = apiKeyPrefixProblem(raw);
  if (problem) throw new ConfigurationError(`environment variable ${apiKeyPrefix.env} ${problem}`);
  return raw;
}
