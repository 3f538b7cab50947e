/**
 * Reading a function's configuration from its environment, once at cold start: a missing
 * or malformed value fails the init with a message naming the variable.
 */
import { Env } from '../../../common/names';
import { Tables, type TableKey, type TableNames } from '../../../common/tables';
import { DEFAULT_API_KEY_PREFIX, apiKeyPrefixProblem } from '../../../common/tokens';

type Environment = Readonly<Record<string, string | undefined>>;

import { ConfigurationError } from '../../../common/errors';

export { ConfigurationError };

export function requireString(env: Environment, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
}

export function optionalInt(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`environment variable ${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function optionalNumber(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
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

/** The names of the tables a function was granted, each required. */
export function tableNamesFrom<K extends TableKey>(env: Environment, keys: readonly K[]): Pick<TableNames, K> {
  return Object.fromEntries(keys.map((key) => [key, requireString(env, Tables[key].envVar)])) as Pick<TableNames, K>;
}

/** `TOLLGATE_API_KEY_PREFIX` (`apiKeyPrefix`), checked as the stack checks it at synth. */
export function apiKeyPrefixFrom(env: Environment): string {
  const raw = env[Env.apiKeyPrefix];
  if (raw === undefined || raw === '') return DEFAULT_API_KEY_PREFIX;
  const problem = apiKeyPrefixProblem(raw);
  if (problem) throw new ConfigurationError(`environment variable ${Env.apiKeyPrefix} ${problem}`);
  return raw;
}
