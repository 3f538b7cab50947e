/**
 * The Lambda functions: where each handler lives and which tables it may touch. The CDK
 * function constructs grant exactly this access and set the table-name variables; the
 * handlers read those variables (and nothing else of the table set) at cold start.
 */
import type { TableKey } from './tables';

export type TableAccess = 'read' | 'readWrite';

export interface FunctionSpec {
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly entry: string;
  readonly tables: { readonly [K in TableKey]?: TableAccess };
  /** Tables whose DynamoDB stream invokes the function. */
  readonly streams?: readonly TableKey[];
}

export const Functions = {
  authorizer: {
    entry: 'lambda/authorizer/handler.ts',
    tables: { signingKeys: 'read', revocations: 'read' },
  },
  token: {
    entry: 'lambda/token/handler.ts',
    tables: { apiKeys: 'readWrite', clients: 'read', tokens: 'readWrite', signingKeys: 'read' },
  },
  admin: {
    entry: 'lambda/admin/handler.ts',
    tables: { apiKeys: 'readWrite', clients: 'readWrite', tokens: 'readWrite', signingKeys: 'read' },
  },
  fanout: {
    entry: 'lambda/fanout/handler.ts',
    tables: { revocations: 'readWrite' },
    streams: ['apiKeys', 'clients', 'tokens', 'signingKeys'],
  },
  rotation: {
    entry: 'lambda/rotation/handler.ts',
    tables: { signingKeys: 'readWrite', apiKeys: 'read' },
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof Functions;

/** CloudFormation outputs of the deployed stack; the CLI's `--stack` reads them by these keys. */
export const StackOutput = {
  apiUrl: 'ApiUrl',
  region: 'Region',
  rotationFunctionName: 'RotationFunctionName',
  authorizerFunctionName: 'AuthorizerFunctionName',
  tokenFunctionName: 'TokenFunctionName',
  adminFunctionName: 'AdminFunctionName',
  fanoutFunctionName: 'FanoutFunctionName',
  apiKeysTableName: 'ApiKeysTableName',
  clientsTableName: 'ClientsTableName',
  tokensTableName: 'TokensTableName',
  signingKeysTableName: 'SigningKeysTableName',
  revocationsTableName: 'RevocationsTableName',
  /** The usage plan client usage keys are registered with (per-client throttling). */
  usagePlanId: 'UsagePlanId',
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
  rotation: StackOutput.rotationFunctionName,
};

/** The output key of each table's name. */
export const TABLE_NAME_OUTPUT: { readonly [K in TableKey]: string } = {
  apiKeys: StackOutput.apiKeysTableName,
  clients: StackOutput.clientsTableName,
  tokens: StackOutput.tokensTableName,
  signingKeys: StackOutput.signingKeysTableName,
  revocations: StackOutput.revocationsTableName,
};
