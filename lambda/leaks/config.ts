/**
 * The leak function's configuration, read and checked once at cold start: its tables, the
 * event bus its events go to and where GitHub's secret-scanning keys are listed.
 */
import { GITHUB_SECRET_SCANNING_KEYS_URL } from '../../common/defaults';
import { Functions } from '../../common/functions';
import { Env } from '../../common/names';
import { keysUrlProblem } from '../../common/setting-checks';
import { secretScanningKeysUrl } from '../../common/settings';
import type { TableKey, TableNames } from '../../common/tables';
import { ConfigurationError, tableNamesFrom } from '../core/shared/env';

type Environment = Readonly<Record<string, string | undefined>>;

export interface LeaksConfig {
  readonly tables: Pick<TableNames, keyof typeof Functions.leaks.tables>;
  /** Absent: the account's default event bus. */
  readonly eventBusName?: string;
}

export function readLeaksConfig(env: Environment): LeaksConfig {
  const eventBusName = env[Env.eventBusName] || undefined;
  return {
    tables: tableNamesFrom(env, Object.keys(Functions.leaks.tables) as (keyof typeof Functions.leaks.tables & TableKey)[]),
    ...(eventBusName && { eventBusName }),
  };
}

/** `secretScanningKeysUrl`; read only when no key list is injected (tests serve their own). */
export function keysUrlFrom(env: Environment): string {
  const url = env[secretScanningKeysUrl.env] || GITHUB_SECRET_SCANNING_KEYS_URL;
  const problem = keysUrlProblem(url);
  if (problem) throw new ConfigurationError(`environment variable ${secretScanningKeysUrl.env} ${problem}, got "${url}"`);
  return url;
}
