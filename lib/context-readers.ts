/**
 * Reading CDK context values: `-c name=value` strings or cdk.json values, each turned into a
 * typed value or refused with a {@link ConfigError} naming the setting, and the near-miss
 * check of context keys.
 */
import { nearMiss } from '../common/near-miss';
import { checkedJson, decimalNumber } from '../common/setting-checks';
import type { SettingDescriptor } from '../common/settings';
import { ConfigError, SETTINGS, type SettingName } from './settings';

export type Read = (setting: SettingName) => unknown;

/** Context values from `-c name=value` arrive as strings; from cdk.json as JSON values. */
export function present(read: Read, setting: SettingName): unknown {
  const value = read(setting);
  return value === undefined || value === null || value === '' ? undefined : value;
}

/** `unit`: what the number counts, named in the refusal (`a whole number of days`). */
export function integer(read: Read, setting: SettingName, fallback: number, min: number, max: number, unit?: string): number {
  const raw = present(read, setting);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(setting, `must be a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function number(read: Read, setting: SettingName, fallback: number, min: number, max: number): number {
  const raw = present(read, setting);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? decimalNumber(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(setting, `must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function boolean(read: Read, setting: SettingName, fallback: boolean): boolean {
  const raw = present(read, setting);
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new ConfigError(setting, `must be true or false, got ${JSON.stringify(raw)}`);
}

export function oneOf<T extends string>(read: Read, setting: SettingName, allowed: readonly T[], fallback: T): T {
  const raw = present(read, setting);
  if (raw === undefined) return fallback;
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(setting, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
}

export function text(read: Read, setting: SettingName, fallback: string | undefined, pattern: RegExp, rule: string): string | undefined {
  const raw = present(read, setting);
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !pattern.test(raw)) throw new ConfigError(setting, `${rule}, got ${JSON.stringify(raw)}`);
  return raw;
}

export function httpsUrl(read: Read, setting: SettingName, required: boolean): string | undefined {
  const raw = present(read, setting);
  if (raw === undefined) {
    // Read both from CDK context and from the `Tollgate` construct's settings: say where in each.
    if (required) {
      throw new ConfigError(
        setting,
        `is required unless services is given: -c ${setting}=https://… on the CDK command line, or settings.${setting} of the Tollgate construct`,
      );
    }
    return undefined;
  }
  if (typeof raw !== 'string' || !URL.canParse(raw)) throw new ConfigError(setting, `must be an absolute URL, got ${JSON.stringify(raw)}`);
  const url = new URL(raw);
  if (url.protocol !== 'https:')
    throw new ConfigError(setting, `must use https (the upstream receives the caller's identity headers), got ${JSON.stringify(raw)}`);
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(setting, `must not carry a query, fragment or credentials, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/** The setting an unknown context key is a near miss of (same letters in another case, or one or two typos). */
export function settingMeantBy(key: string): SettingName | undefined {
  // CDK's own keys (`@aws-cdk/…`, `aws:cdk:…`, `cli-telemetry`) are never near a setting's name.
  if ((SETTINGS as readonly string[]).includes(key) || /[@:/-]/.test(key)) return undefined;
  return nearMiss(key, SETTINGS, 8);
}

/**
 * A JSON-valued setting: a `-c` string parsed and checked by `checkedJson`, a cdk.json value checked by
 * `problemOf` as given; undefined when absent. A refusal is a {@link ConfigError} naming the setting.
 */
export function jsonSetting<T>(read: Read, setting: SettingName, problemOf: (value: unknown) => string | undefined = () => undefined): T | undefined {
  const raw = present(read, setting);
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') {
    const checked = checkedJson(raw, setting, problemOf);
    // `checkedJson`'s message starts with the setting's name, which `ConfigError` puts first itself.
    if ('message' in checked) throw new ConfigError(setting, checked.message.slice(setting.length).trimStart());
    return checked.value as T;
  }
  const problem = problemOf(raw);
  if (problem) throw new ConfigError(setting, problem);
  return raw as T;
}

/** A setting that needs no reader of its own, read as its descriptor says; undefined when absent without a default. */
export function plainSetting(read: Read, setting: Exclude<SettingDescriptor, { kind: 'custom' }>): unknown {
  const name = setting.name as SettingName;
  switch (setting.kind) {
    case 'integer':
      return present(read, name) === undefined ? setting.default : integer(read, name, 0, setting.min, setting.max, setting.unit);
    case 'number':
      return number(read, name, setting.default, setting.min, setting.max);
    case 'boolean':
      return boolean(read, name, setting.default);
    case 'choice':
      return oneOf(read, name, setting.values, setting.default);
    case 'text':
      return text(read, name, setting.default, setting.pattern, setting.rule);
  }
}
