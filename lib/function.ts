/**
 * Every Tollgate Lambda function, with our defaults in one place: Node.js 24 on arm64,
 * bundled by the locally installed esbuild (never Docker) with the settings of
 * `lib/bundling.ts` (minified, source maps, the AWS SDK left to the runtime), an
 * explicit log group with retention, Powertools settings, and a role that may write to
 * that log group and nothing else until a grant adds to it. The table access of each
 * function comes from `common/functions.ts`.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { DynamoEventSource, type DynamoEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../common/config';
import { Functions, type FunctionName, type FunctionSpec, type TableAccess } from '../common/functions';
import { serviceName } from '../common/metrics';
import { Tables, type TableKey } from '../common/tables';
import { LAMBDA_BUNDLING } from './bundling';
import type { TollgateTables } from './data';

/**
 * Item-level access only. No Scan (every read is a key lookup or a query, so a leaked
 * role cannot dump a table in one call) and no DescribeTable. Transactions are
 * authorized per contained action, so TransactWriteItems needs nothing more.
 */
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
export const TABLE_ACTIONS: { readonly [A in TableAccess]: readonly string[] } = {
  read: READ_ACTIONS,
  readWrite: [...READ_ACTIONS, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
};
/** What DynamoDB needs of the caller on the tables' customer-managed key (as CDK's own table grants). */
const TABLE_KEY_ACTIONS: { readonly [A in TableAccess]: readonly string[] } = {
  read: ['kms:Decrypt', 'kms:DescribeKey'],
  readWrite: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
};

/** The repository root: `entry` paths in `common/functions.ts` are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface TollgateFunctionProps {
  readonly name: FunctionName;
  /** Every table; the function is granted only those its spec lists. */
  readonly tables: TollgateTables;
  /** Settings the function reads (see `functionSettings` in `lib/config.ts`). */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** Powertools log level. @default INFO */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Directory the spec's `entry` is resolved against. Infra tests that skip bundling
   * point it at a directory of placeholder entries; the app never sets it.
   * @default the repository root
   */
  readonly entryRoot?: string;
}

export class TollgateFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  readonly functionName: FunctionName;

  constructor(scope: Construct, id: string, props: TollgateFunctionProps) {
    super(scope, id);
    this.functionName = props.name;
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${props.name} function`,
    });
    // The log group exists before the function, so the role needs no logs:CreateLogGroup
    // and no account-wide AWSLambdaBasicExecutionRole.
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.fn = new NodejsFunction(this, 'Function', {
      entry: path.join(props.entryRoot ?? PROJECT_ROOT, Functions[props.name].entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      description: `Tollgate ${props.name}`,
      bundling: {
        forceDockerBundling: false,
        ...LAMBDA_BUNDLING,
        format: { esm: OutputFormat.ESM, cjs: OutputFormat.CJS }[LAMBDA_BUNDLING.format],
        externalModules: [...LAMBDA_BUNDLING.externalModules],
      },
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: serviceName(props.name),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
    });
    this.grantTables(props.tables);
  }

  /**
   * Grant and wire in one call: the function gets exactly the access its spec lists on
   * each table, and the variable through which it learns that table's name.
   */
  private grantTables(tables: TollgateTables): void {
    const access = (Functions[this.functionName] as FunctionSpec).tables;
    for (const key of Object.keys(access) as TableKey[]) {
      const table = tables[key];
      const level = access[key]!;
      // Each index by name rather than CDK's `index/*`: a function reaches exactly the
      // indexes the table spec defines.
      const indexArns = Tables[key].indexes.map((index) => `${table.tableArn}/index/${index.indexName}`);
      this.role.addToPolicy(new PolicyStatement({ actions: [...TABLE_ACTIONS[level]], resources: [table.tableArn, ...indexArns] }));
      table.encryptionKey?.grant(this.fn, ...TABLE_KEY_ACTIONS[level]);
      this.fn.addEnvironment(Tables[key].envVar, table.tableName);
    }
    if (Object.values(access).includes('readWrite')) {
      for (const action of TABLE_KEY_ACTIONS.readWrite.filter((a) => a.endsWith('*'))) {
        Validations.of(this).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: 'DynamoDB writes to a table encrypted with a customer-managed key need the data-key family of KMS actions; the statement names the one table key.',
        });
      }
    }
  }

  /**
   * The stream side of grant-and-wire: one event source per table the spec says streams
   * into this function (the mapping grants the stream reads), and the table-name variable
   * the function tells the records apart by.
   */
  consumeStreams(tables: TollgateTables, options: (table: TableKey) => DynamoEventSourceProps): void {
    const streams: readonly TableKey[] = (Functions[this.functionName] as FunctionSpec).streams ?? [];
    for (const key of streams) {
      this.fn.addEventSource(new DynamoEventSource(tables[key], options(key)));
      this.fn.addEnvironment(Tables[key].envVar, tables[key].tableName);
    }
    if (streams.length) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListStreams, added by the DynamoDB event source, has no resource-level permissions; stream reads themselves name each stream ARN.',
      });
    }
  }

  addEnvironment(name: string, value: string): void {
    this.fn.addEnvironment(name, value);
  }
}
