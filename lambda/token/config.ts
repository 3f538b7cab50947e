/**
 * The token function's configuration, read and checked once at cold start: the issuer and
 * its services, the token lifetime (`common/settings.ts`), the route rules of the
 * single-service form (published in its discovery metadata) and its tables.
 */
import type { RouteRule } from '../../common/gateway-contract';
import { Functions } from '../../common/functions';
import { Env } from '../../common/names';
import { audience, tokenTtlSeconds } from '../../common/settings';
import type { TableKey, TableNames } from '../../common/tables';
import { routesFrom } from '../core/authorizer/route-policy';
import type { IssuerConfig } from '../core/issuance/issuer';
import { requireString, settingFromEnv, tableNamesFrom } from '../core/shared/env';
import { servicesFrom } from '../core/shared/services-env';

type Environment = Readonly<Record<string, string | undefined>>;

export interface TokenConfig {
  readonly issuer: IssuerConfig;
  readonly tables: Pick<TableNames, keyof typeof Functions.token.tables>;
  /** The single-service form's rules (`TOLLGATE_ROUTES`); unused when `issuer.services` is set. */
  readonly routes: readonly RouteRule[];
}

export function readTokenConfig(env: Environment): TokenConfig {
  return {
    issuer: issuerConfigFrom(env),
    tables: tableNamesFrom(env, Object.keys(Functions.token.tables) as (keyof typeof Functions.token.tables & TableKey)[]),
    routes: routesFrom(env),
  };
}

export function issuerConfigFrom(env: Environment): IssuerConfig {
  const issuer = requireString(env, Env.issuer);
  return {
    issuer,
    ...servicesFrom(env, issuer),
    audience: settingFromEnv(env, audience),
    tokenTtlSeconds: settingFromEnv(env, tokenTtlSeconds),
  };
}
