/**
 * The admin function's configuration, read and checked once at cold start: its tables, the
 * prefix of new API keys, the rotation function it invokes, the usage-plan settings of
 * per-client throttling and the services whose scopes it grants.
 */
import { Functions } from '../../common/functions';
import { Env } from '../../common/names';
import type { ResolvedService } from '../../common/services';
import type { TableKey, TableNames } from '../../common/tables';
import { usageRegistrationConfigFrom, type UsageRegistrationConfig } from '../core/credentials/usage-registration';
import { apiKeyPrefixFrom, requireString, tableNamesFrom } from '../core/shared/env';
import { servicesOf } from '../core/shared/services-env';

type Environment = Readonly<Record<string, string | undefined>>;

export interface AdminConfig {
  readonly tables: Pick<TableNames, keyof typeof Functions.admin.tables>;
  /** Absent: usage-plan registration is off (`usageRegistrationConfigFrom`). */
  readonly usageRegistration?: UsageRegistrationConfig;
  readonly apiKeyPrefix: string;
  readonly rotationFunction: string;
  readonly services: readonly Pick<ResolvedService, 'name' | 'scopes'>[];
}

export function readAdminConfig(env: Environment): AdminConfig {
  const tables = tableNamesFrom(env, Object.keys(Functions.admin.tables) as (keyof typeof Functions.admin.tables & TableKey)[]);
  const usageRegistration = usageRegistrationConfigFrom(env);
  return {
    tables,
    ...(usageRegistration && { usageRegistration }),
    apiKeyPrefix: apiKeyPrefixFrom(env),
    rotationFunction: requireString(env, Env.rotationFunction),
    services: servicesOf(env),
  };
}
