/**
 * The settings each function receives in its environment, derived from the checked
 * deployment settings and their descriptors (`common/settings.ts`: `env` and `readBy`).
 */
import type { FunctionName } from '../common/functions';
import { functionEnvironments, SETTING_DESCRIPTORS, type SettingDescriptor } from '../common/settings';
import type { TollgateConfig } from './settings';

/** The descriptors, as the compiler checks that each `readBy` names functions. */
const DESCRIPTORS: readonly (SettingDescriptor & { readonly readBy?: readonly FunctionName[] })[] = SETTING_DESCRIPTORS;

/**
 * The settings each function reads from its environment, encoded by `functionEnvironments`
 * (`services` only when it was set: the single-service form reads `upstreamUrl`, `routes` and
 * `audience`). Table names and wiring that only the stack knows, such as the issuer URL or the
 * rotation function's name, are added where those resources are made.
 */
export function functionSettings(config: TollgateConfig): { readonly [K in FunctionName]: Readonly<Record<string, string>> } {
  const environments = functionEnvironments({ ...config, services: config.servicesConfigured ? config.services : undefined });
  const settings: Record<FunctionName, Readonly<Record<string, string>>> = {
    authorizer: {},
    token: {},
    admin: {},
    leaks: {},
    fanout: {},
    rotation: {},
    metering: {},
  };
  for (const fn of new Set(DESCRIPTORS.flatMap((setting) => setting.readBy ?? []))) settings[fn] = environments[fn] ?? {};
  return settings;
}
