/**
 * The stack's CloudFormation output keys: what the stack (`lib/stacks.ts`), the `@tollgate/cdk`
 * exports and the CLI's `--stack` agree on. Kept out of `common/functions.ts`, which the
 * functions themselves import: no function needs these.
 */
import type { FunctionName } from './functions';
import type { TableKey } from './tables';

/** CloudFormation outputs of the deployed stack; the CLI's `--stack` reads them by these keys. */
export const StackOutput = {
  apiUrl: 'ApiUrl',
  region: 'Region',
  rotationFunctionName: 'RotationFunctionName',
  authorizerFunctionName: 'AuthorizerFunctionName',
  tokenFunctionName: 'TokenFunctionName',
  adminFunctionName: 'AdminFunctionName',
  fanoutFunctionName: 'FanoutFunctionName',
  leaksFunctionName: 'LeaksFunctionName',
  meteringFunctionName: 'MeteringFunctionName',
  apiKeysTableName: 'ApiKeysTableName',
  clientsTableName: 'ClientsTableName',
  tokensTableName: 'TokensTableName',
  signingKeysTableName: 'SigningKeysTableName',
  revocationsTableName: 'RevocationsTableName',
  idempotencyTableName: 'IdempotencyTableName',
  usageTableName: 'UsageTableName',
  /** The usage plan client usage keys are registered with (per-client throttling). */
  usagePlanId: 'UsagePlanId',
  /** The client certificate the stage presents to the upstream, which must verify it (mTLS). */
  upstreamClientCertificateId: 'UpstreamClientCertificateId',
  /** Present while `prepareNextUpstreamCertificate` is on: the certificate the stage will present after the switch. */
  nextUpstreamClientCertificateId: 'NextUpstreamClientCertificateId',
  restApiId: 'RestApiId',
  stageName: 'StageName',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardName: 'DashboardName',
} as const;

/** The output key of each function's name. */
export const FUNCTION_NAME_OUTPUT: { readonly [K in FunctionName]: string } = {
  authorizer: StackOutput.authorizerFunctionName,
  token: StackOutput.tokenFunctionName,
  admin: StackOutput.adminFunctionName,
  fanout: StackOutput.fanoutFunctionName,
  leaks: StackOutput.leaksFunctionName,
  rotation: StackOutput.rotationFunctionName,
  metering: StackOutput.meteringFunctionName,
};

/** The output key of each table's name. */
export const TABLE_NAME_OUTPUT: { readonly [K in TableKey]: string } = {
  apiKeys: StackOutput.apiKeysTableName,
  clients: StackOutput.clientsTableName,
  tokens: StackOutput.tokensTableName,
  signingKeys: StackOutput.signingKeysTableName,
  revocations: StackOutput.revocationsTableName,
  idempotency: StackOutput.idempotencyTableName,
  usage: StackOutput.usageTableName,
};
