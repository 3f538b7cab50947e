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
 * - {@link StackOutput}, {@link FUNCTION_NAME_OUTPUT}, {@link TABLE_NAME_OUTPUT}: the keys of the
 *   stack outputs, which the CLI's `--stack` reads.
 */
export { Tollgate, type TollgateProps, type TollgateSettings, type SettingValue } from './tollgate';
export { TollgateApi, TollgateApiStack, TollgateDataStack, type TollgateApiParts, type TollgateApiProps, type TollgateApiStackProps } from './stacks';
export { TokenData, type TokenDataProps, type TollgateTables } from './data';
export { readConfig } from './config';
export type { Read } from './context-readers';
export { ConfigError, SETTINGS, type SettingName, type TollgateConfig } from './settings';
export { ConfigurationError } from '../common/errors';
// The parts a TollgateApi is built of (`api.gateway`, `api.functions`…), as types only: their
// constructors take Tollgate's internal wiring (each function's environment, the key ring,
// one another), which no caller can supply, so `TollgateApi` is the unit to build.
export type { TollgateFunction, TollgateFunctionProps } from './function';
export type { Gateway, GatewayProps } from './gateway';
export type { SigningKeyRotation } from './rotation';
export type { RevocationFanout } from './fanout';
export type { Observability } from './observability';
export type { UsageMetering } from './usage-metering';
export type { FunctionName } from '../common/functions';
export { StackOutput, FUNCTION_NAME_OUTPUT, TABLE_NAME_OUTPUT } from '../common/stack-outputs';
export type { TableKey } from '../common/tables';
export type { ServiceDefinition } from '../common/services';
export type { RouteRule, UnmatchedRoutes } from '../common/gateway-contract';
export type { KeySpec } from '../common/tokens';
export type { AnomalySettings } from '../common/usage';
