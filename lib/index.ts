/**
 * `@tollgate/cdk`'s public entry point, and the only module `bin/tollgate.ts` imports: the
 * package's dist is built from this file (scripts/build-packages.mjs), so this repository's
 * app is the package's first consumer.
 *
 * - {@link Tollgate}: the whole of Tollgate in one construct, in the caller's scope.
 * - {@link TollgateDataStack} and {@link TollgateApiStack}: the two-stack layout (stateful,
 *   termination-protected tables apart from the stateless API); {@link TokenData} and
 *   {@link TollgateApi} are their contents as constructs.
 * - {@link readConfig}, {@link ConfigError}, {@link SETTINGS}: the settings, read and checked
 *   as the constructs do; {@link ConfigurationError}, which `ConfigError` extends, also refuses
 *   a key that is no setting.
 */
export { Tollgate, type TollgateProps, type TollgateSettings, type SettingValue } from './tollgate';
export { TollgateApi, TollgateApiStack, TollgateDataStack, type TollgateApiParts, type TollgateApiProps, type TollgateApiStackProps } from './stacks';
export { TokenData, type TokenDataProps, type TollgateTables } from './data';
export { readConfig } from './config';
export type { Read } from './context-readers';
export { ConfigError, SETTINGS, type SettingName, type TollgateConfig } from './settings';
export { ConfigurationError } from '../common/errors';
export { TollgateFunction, type TollgateFunctionProps } from './function';
export { Gateway, type GatewayProps } from './gateway';
export { TokenAuthorizer } from './authorizer';
export { TokenApi } from './token-api';
export { SigningKeyRotation } from './rotation';
export { RevocationFanout } from './fanout';
export { LeakRateLimit, LeakResponse } from './leak-response';
export { Observability } from './observability';
export { UsageMetering } from './usage-metering';
export { StackOutput, FUNCTION_NAME_OUTPUT, TABLE_NAME_OUTPUT, type FunctionName } from '../common/functions';
export type { TableKey } from '../common/tables';
export type { ServiceDefinition } from '../common/services';
export type { RouteRule, UnmatchedRoutes } from '../common/gateway-contract';
export type { KeySpec } from '../common/tokens';
export type { AnomalySettings } from '../common/usage';
