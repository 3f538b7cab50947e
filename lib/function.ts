/**
 * Every Tollgate Lambda function, with our defaults in one place: Node.js 24 on arm64,
 * bundled by the locally installed esbuild (never Docker) with the settings of
 * `lib/bundling.ts` (minified, source maps, the AWS SDK bundled), at synth from
 * source in this repository or ahead of time in `@tollgate/cdk` (see {@link FunctionCode}), an
 * explicit log group with retention, Powertools settings, and a role that may write to
 * that log group and nothing else until a grant adds to it. The table access of each
 * function comes from `common/functions.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, type App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, LoggingFormat, Runtime, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { DynamoEventSource, type DynamoEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Table, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, Dependable } from 'constructs';
import { SERVICE_NAME_ENV } from '../common/metrics';
import { METRICS_NAMESPACE } from '../common/names';
import {
  FUNCTION_NODE_OPTIONS,
  Functions,
  LAMBDA_NODE_MAJOR,
  WRITE_ACTIONS,
  type FunctionName,
  type FunctionSpec,
  type TableAccess,
  type TableAction,
} from '../common/functions';
import { Tables, type TableKey } from '../common/tables';
import { afterBuildCommand, LAMBDA_BUNDLING, prebuiltDigest } from './bundling';
import { onlyValues } from './conditions';
import { NameLimit, tollgateName } from './physical-names';
import type { TollgateTables } from './data';

/**
 * `nodejs<LAMBDA_NODE_MAJOR>.x` as CDK knows it. Not a variable runtime: CDK's
 * `NODEJS_LATEST` has the same name today, but its major moves with aws-cdk-lib, and
 * `NodejsFunction` bundles differently for it.
 */
export function lambdaRuntime(): Runtime {
  const name = `nodejs${LAMBDA_NODE_MAJOR}.x`;
  const runtime = Runtime.ALL.find((known) => known.name === name && !known.isVariable);
  if (runtime === undefined) throw new Error(`this aws-cdk-lib does not know the Lambda runtime ${name}`);
  return runtime;
}

/** What DynamoDB needs of the caller on the tables' customer-managed key (as CDK's own table grants). */
const TABLE_KEY_READ_ACTIONS = ['kms:Decrypt'];
const TABLE_KEY_WRITE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/** The repository root: `entry` paths in `common/functions.ts` are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Where the functions' code comes from, the one seam between this repository and the
 * `@tollgate/cdk` package:
 * - `{ source: root }`: each function's `entry` (`common/functions.ts`) under `root`, bundled
 *   at synth by `NodejsFunction` with the local esbuild and `lib/bundling.ts`'s settings;
 * - `{ prebuilt: dir }`: `dir/<function name>/index.mjs` (and its source map), bundled ahead
 *   of time with the same settings by `scripts/packages/cdk.mjs`, used as an asset as it is.
 */
export type FunctionCode = { readonly source: string } | { readonly prebuilt: string };

/**
 * The in-process hook through which this repository's infra tests replace the default
 * {@link FunctionCode} (`test/infra/app.ts`: placeholder entries, so that synth need not
 * bundle). A symbol-keyed property of the `App`, set only by {@link overrideFunctionCode}: no
 * CDK context source (`cdk.json`, `cdk.context.json`, `~/.cdk.json`, `-c`, `CDK_CONTEXT_JSON`)
 * can express it, so nothing a JSON file holds can swap a function's code, the authorizer's
 * included. `@tollgate/cdk` does not even contain it: there {@link functionCode} is
 * {@link packagedCode}, and esbuild drops the rest as unreachable (`scripts/packages/cdk.mjs`
 * checks that it did).
 */
const FUNCTION_CODE_OVERRIDE = Symbol('tollgate.functionCodeOverride');

/** For this repository's tests: every function under `app` takes its code from `code`. */
export function overrideFunctionCode(app: App, code: FunctionCode): void {
  if (!path.isAbsolute('source' in code ? code.source : code.prebuilt))
    throw new Error(`overrideFunctionCode needs an absolute directory, got ${JSON.stringify(code)}`);
  Object.defineProperty(app, FUNCTION_CODE_OVERRIDE, { value: code, configurable: true });
}

/**
 * The package build defines these (esbuild `define`) in `@tollgate/cdk`'s bundle: the folder
 * of the prebuilt functions relative to the bundle, and the sha256 of each file of each
 * function as the build wrote it. From source neither is defined at all.
 */
declare const TOLLGATE_PREBUILT_FUNCTIONS: string | undefined;
declare const TOLLGATE_PREBUILT_DIGESTS: { readonly [name: string]: { readonly [file: string]: string } };

/** In this repository: each entry under the project root, unless a test has overridden it. */
function sourceCode(scope: Construct): FunctionCode {
  const override = (scope.node.root as { [FUNCTION_CODE_OVERRIDE]?: FunctionCode })[FUNCTION_CODE_OVERRIDE];
  if (override === undefined) return { source: PROJECT_ROOT };
  Annotations.of(scope).addWarningV2(
    '@tollgate/cdk:functionCodeOverride',
    `The function's code comes from a test override (${JSON.stringify(override)}), not from this repository's handlers`,
  );
  return override;
}

/**
 * In `@tollgate/cdk`: the function's prebuilt folder next to the bundle, once its files are
 * exactly those the package build wrote. The check stops synth when a file under
 * `dist/functions` was changed, added or removed after the build (an edited or corrupted
 * install, a postinstall script of another package), before `Code.fromAsset` would deploy
 * it. It cannot help when `dist/index.js`, which holds the digests, was changed too.
 */
function packagedCode(_scope: Construct, name: FunctionName): FunctionCode {
  const dir = fileURLToPath(new URL(TOLLGATE_PREBUILT_FUNCTIONS as string, import.meta.url));
  const expected = TOLLGATE_PREBUILT_DIGESTS[name] ?? {};
  const folder = path.join(dir, name);
  const found = fs.existsSync(folder) ? fs.readdirSync(folder).sort() : [];
  const wanted = Object.keys(expected).sort();
  if (found.join('/') !== wanted.join('/'))
    throw new Error(`@tollgate/cdk: ${folder} holds ${found.join(', ') || 'nothing'}, not ${wanted.join(', ')} as built; reinstall the package`);
  for (const file of wanted) {
    const digest = prebuiltDigest(path.join(folder, file));
    if (digest !== expected[file])
      throw new Error(
        `@tollgate/cdk: ${path.join(folder, file)} is not the file the package was built with (sha256 ${digest}, built ${expected[file]}); reinstall the package`,
      );
  }
  return { prebuilt: dir };
}

/** Prebuilt next to the package's bundle; from source in this repository. */
const functionCode: (scope: Construct, name: FunctionName) => FunctionCode = typeof TOLLGATE_PREBUILT_FUNCTIONS === 'string' ? packagedCode : sourceCode;

export interface TollgateFunctionProps {
  readonly name: FunctionName;
  /** Every table; the function is granted only those its spec lists. */
  readonly tables: TollgateTables;
  /** Settings the function reads (see `functionSettings` in `lib/function-settings.ts`). */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default one year for a function whose spec marks its logs as the audit trail, else one month */
  readonly logRetention?: RetentionDays;
  /** Powertools log level. @default INFO */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export class TollgateFunction extends Construct {
  /** A `NodejsFunction` when bundled from source, a plain `Function` on a prebuilt asset. */
  readonly fn: LambdaFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  readonly functionName: FunctionName;
  /**
   * The `service` of its logs and of its metrics' `service` dimension, set as its
   * `POWERTOOLS_SERVICE_NAME`: `<deployment>-<function>`, the deployment named as its other
   * physical names are (`lib/physical-names.ts`: `Tollgate-rotation` in the `Tollgate` stack,
   * `Orders_Auth-rotation` for a `Tollgate` construct `Auth` in stack `Orders`). Every
   * Tollgate in an account and Region emits to one namespace, so this is what keeps one
   * deployment's metrics out of another's alarms; the alarms and dashboard read it from here
   * (`tollgateMetric`), so they watch exactly what the function emits.
   */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: TollgateFunctionProps) {
    super(scope, id);
    this.functionName = props.name;
    // `scope` is the part (authorizer, rotation…) built side by side in the Tollgate's scope.
    this.serviceName = tollgateName(scope, props.name, NameLimit.serviceName);
    const spec: FunctionSpec = Functions[props.name];
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? (spec.auditLog ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH) });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Tollgate ${props.name} function`,
    });
    // The Lambda construct makes the function depend on its role, which renders as DependsOn
    // on both the role and its default policy. The role's is redundant (the function's `Role`
    // is a GetAtt of it, and the policy refers to the role too: cfn-lint W3005); the policy's
    // is needed, so the function never runs before its permissions exist. Depending on the
    // role now means depending on its default policy, which orders after the role anyway.
    const role = this.role;
    Dependable.implement(role, {
      get dependencyRoots() {
        return [role.node.tryFindChild('DefaultPolicy') ?? role];
      },
    });
    // The log group exists before the function, so the role needs no logs:CreateLogGroup
    // and no account-wide AWSLambdaBasicExecutionRole.
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    const common = {
      runtime: lambdaRuntime(),
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      description: `Tollgate ${props.name}`,
      environment: {
        NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
        [SERVICE_NAME_ENV]: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
    } satisfies Omit<FunctionProps, 'code' | 'handler'>;
    const code = functionCode(this, props.name);
    if ('prebuilt' in code) {
      // The handler NodejsFunction would give the same bundle: `index.mjs`, export `handler`.
      this.fn = new LambdaFunction(this, 'Function', { ...common, code: Code.fromAsset(path.join(code.prebuilt, props.name)), handler: 'index.handler' });
    } else {
      // Keys in the order they always had: CDK's analytics metadata lists them as given.
      const { environment, ...settings } = common;
      this.fn = new NodejsFunction(this, 'Function', {
        entry: path.join(code.source, spec.entry),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
        ...settings,
        bundling: {
          forceDockerBundling: false,
          ...LAMBDA_BUNDLING,
          format: { esm: OutputFormat.ESM, cjs: OutputFormat.CJS }[LAMBDA_BUNDLING.format],
          externalModules: [...LAMBDA_BUNDLING.externalModules],
          mainFields: [...LAMBDA_BUNDLING.mainFields],
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            // `afterBuild` of lib/build-function.ts as a command: NodejsFunction runs esbuild's CLI, not its API.
            afterBundling: (_input: string, output: string) => [afterBuildCommand(path.join(output, 'index.mjs'))],
          },
        },
        environment,
      });
    }
    this.grantTables(props.tables);
  }

  /**
   * Grant and wire in one call: the function gets exactly the access its spec lists on
   * each table, and the variable through which it learns that table's name.
   */
  private grantTables(tables: TollgateTables): void {
    const access = (Functions[this.functionName] as FunctionSpec).tables;
    const keyActions = new Map<IKey, Set<string>>();
    for (const key of Object.keys(access) as TableKey[]) {
      const table = tables[key];
      const unknown = (access[key]!.queryIndexes ?? []).filter((index) => !Tables[key].indexes.some((spec) => spec.indexName === index));
      if (unknown.length) throw new Error(`Functions.${this.functionName}.tables.${key}.queryIndexes: ${unknown.join(', ')} is not an index of ${key}`);
      for (const statement of tableStatements(table, access[key]!)) this.role.addToPolicy(statement);
      if (table.encryptionKey) {
        const needed = keyActions.get(table.encryptionKey) ?? new Set<string>();
        const writes = access[key]!.actions.some((action) => WRITE_ACTIONS.includes(action));
        for (const action of writes ? TABLE_KEY_WRITE_ACTIONS : TABLE_KEY_READ_ACTIONS) needed.add(action);
        keyActions.set(table.encryptionKey, needed);
      }
      this.fn.addEnvironment(Tables[key].envVar, table.tableName);
    }
    // Stream records are encrypted with their table's key too; the stream reads get it on the
    // same terms, through DynamoDB only (see consumeStreams).
    for (const key of (Functions[this.functionName] as FunctionSpec).streams ?? []) {
      const encryptionKey = tables[key].encryptionKey;
      if (!encryptionKey) continue;
      const needed = keyActions.get(encryptionKey) ?? new Set<string>();
      for (const action of TABLE_KEY_READ_ACTIONS) needed.add(action);
      keyActions.set(encryptionKey, needed);
    }
    for (const [key, actions] of keyActions) this.grantTableKey(key, [...actions]);
  }

  /**
   * The table key, usable only through DynamoDB in this Region (`kms:ViaService`): the
   * function's own KMS calls cannot use it as a general-purpose encryption key. DescribeKey
   * returns key metadata only and makes no cryptographic use of the key, so it stays
   * unconditioned.
   */
  private grantTableKey(key: IKey, actions: readonly string[]): void {
    this.role.addToPolicy(
      new PolicyStatement({
        actions: [...actions],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    this.role.addToPolicy(new PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key.keyArn] }));
    for (const action of actions.filter((a) => a.endsWith('*'))) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason:
          'DynamoDB writes to a table encrypted with a customer-managed key need the data-key family of KMS actions; the statement names the one table key and only DynamoDB may use it on our behalf.',
      });
    }
  }

  /**
   * The stream side of grant-and-wire: one event source per table the spec says streams
   * into this function (the mapping grants the stream reads), and the table-name variable
   * the function tells the records apart by.
   *
   * The event source is given the table without its encryption key: CDK's stream grant
   * would otherwise add `kms:Decrypt` on the key for any use, and the key is granted in
   * {@link grantTables} with `kms:ViaService` instead. DynamoDB Streams is part of DynamoDB
   * (its actions are `dynamodb:*`, its endpoint `streams.dynamodb.<region>`), and it is
   * DynamoDB that decrypts stream records with the table key on the reader's behalf.
   */
  consumeStreams(tables: TollgateTables, options: (table: TableKey) => DynamoEventSourceProps): void {
    const streams: readonly TableKey[] = (Functions[this.functionName] as FunctionSpec).streams ?? [];
    for (const key of streams) {
      const table = tables[key];
      if (!table.tableStreamArn) throw new Error(`Functions.${this.functionName}.streams: ${key} has no stream`);
      const withoutKey = Table.fromTableAttributes(this, `${Tables[key].id}Stream`, { tableArn: table.tableArn, tableStreamArn: table.tableStreamArn });
      this.fn.addEventSource(new DynamoEventSource(withoutKey, options(key)));
      this.fn.addEnvironment(Tables[key].envVar, table.tableName);
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

/**
 * The identity-policy statements of one function's access to one table: its base-table
 * actions (UpdateItem apart when it is attribute-restricted), Query on the indexes it
 * queries, each index by name rather than CDK's `index/*`.
 */
export function tableStatements(table: ITable, access: TableAccess): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const restricted = access.updateOnly !== undefined;
  const plain = access.actions.filter((action) => !(restricted && action === 'UpdateItem'));
  if (plain.length) statements.push(new PolicyStatement({ actions: plain.map(dynamodb), resources: [table.tableArn] }));
  if (restricted && access.actions.includes('UpdateItem')) {
    statements.push(
      new PolicyStatement({
        actions: [dynamodb('UpdateItem')],
        resources: [table.tableArn],
        conditions: {
          // A request whose attributes DynamoDB does not report must not pass either.
          ...onlyValues('dynamodb:Attributes', access.updateOnly!),
          // ALL_OLD or ALL_NEW would hand back attributes the request may not name.
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
  }
  if (access.queryIndexes?.length) {
    statements.push(new PolicyStatement({ actions: [dynamodb('Query')], resources: access.queryIndexes.map((index) => `${table.tableArn}/index/${index}`) }));
  }
  return statements;
}

function dynamodb(action: TableAction): string {
  return `dynamodb:${action}`;
}
