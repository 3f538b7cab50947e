/**
 * The settings each function receives in its environment, derived from the checked
 * deployment settings and their descriptors (`common/settings.ts`: `env` and `readBy`).
 */
import type { FunctionName } from '../common/functions';
import { servicesEnvironment } from '../common/services';
import { encodeSetting, SETTING_DESCRIPTORS, type SettingDescriptor, type SettingName } from '../common/settings';
import type { TollgateConfig } from './settings';

/**
 * Settings whose value in the environment is not simply their own value, encoded: the
 * services' JSON without the upstream URLs (which only the stack needs), only when
 * `services` was set; the route rules, which the metering function always labels requests
 * by, but the authorizer and token function only read in the single-service form.
 */
const ENCODINGS: { readonly [N in SettingName]?: (config: TollgateConfig, fn: FunctionName) => string | undefined } = {
  services: (config) => (config.servicesConfigured ? servicesEnvironment(config.services) : undefined),
  routes: (config, fn) => (fn === 'metering' || !config.servicesConfigured ? JSON.stringify(config.routes) : undefined),
};

/** The descriptors, as the compiler checks that each `readBy` names functions. */
const DESCRIPTORS: readonly (SettingDescriptor & { readonly readBy?: readonly FunctionName[] })[] = SETTING_DESCRIPTORS;

/**
 * The settings each function reads from its environment (table names and wiring that
 * only the stack knows, such as the issuer URL or the rotation function's name, are
 * added where those resources are made).
 */
export function functionSettings(config: TollgateConfig): { readonly [K in FunctionName]: Readonly<Record<string, string>> } {
  const settings: Record<FunctionName, Record<string, string>> = { authorizer: {}, token: {}, admin: {}, leaks: {}, fanout: {}, rotation: {}, metering: {} };
  for (const setting of DESCRIPTORS) {
    if (setting.env === undefined) continue;
    for (const fn of setting.readBy ?? []) {
      const encode = ENCODINGS[setting.name as SettingName];
      const value = encode ? encode(config, fn) : config[setting.name as keyof TollgateConfig];
      if (value !== undefined) settings[fn][setting.env] = encodeSetting(value);
    }
  }
  return settings;
}
