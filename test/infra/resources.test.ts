import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Env, METRICS_NAMESPACE } from '../../common/names';
import { FUNCTION_NODE_OPTIONS, Functions, LAMBDA_NODE_MAJOR, type FunctionName } from '../../common/functions';
import { FUNCTION_NAME_OUTPUT, StackOutput, TABLE_NAME_OUTPUT } from '../../common/stack-outputs';
import { ALL_TABLES, Tables, type TableKey } from '../../common/tables';
import { tempDirs } from '../support/temp-dirs';
import { buildApp, template, type BuiltApp } from './app';
import * as Setting from '../../common/settings';

const tempDir = tempDirs('tollgate-resources-');

let built: BuiltApp;
beforeAll(() => {
  built = buildApp();
});

const functionResource = (fn: FunctionName) => {
  const id = built.api.getLogicalId(built.api.functions[fn].fn.node.defaultChild as never);
  return template(built.api).toJSON().Resources[id] as { Properties: Record<string, any> };
};

describe('the data stack', () => {
  it('is termination-protected', () => {
    expect(built.data.terminationProtection).toBe(true);
  });

  it.each(ALL_TABLES.map((spec) => [spec.id, spec] as const))('%s: on demand, PITR, CMK, deletion protection, RETAIN', (_id, spec) => {
    const logicalId = built.data.getLogicalId(
      built.data.data.tables[(Object.keys(Tables) as TableKey[]).find((k) => Tables[k] === spec)!].node.defaultChild as never,
    );
    const table = template(built.data).toJSON().Resources[logicalId];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    const keyId = built.data.getLogicalId(built.data.data.encryptionKey.node.defaultChild as never);
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    });
    if (spec.ttlAttribute) expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: spec.ttlAttribute, Enabled: true });
    else expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    if (spec.stream) expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    else expect(table.Properties.StreamSpecification).toBeUndefined();
    expect((table.Properties.GlobalSecondaryIndexes ?? []).map((i: { IndexName: string }) => i.IndexName)).toEqual(spec.indexes.map((i) => i.indexName));
  });

  it('rotates the table key yearly and keeps it', () => {
    template(built.data).hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, RotationPeriodInDays: 365 }),
      DeletionPolicy: 'Retain',
    });
  });
});

describe('every function', () => {
  const names = Object.keys(Functions) as FunctionName[];

  it.each(names)(`%s: Node.js ${LAMBDA_NODE_MAJOR} on arm64, source maps, Powertools settings, JSON logs in its own log group`, (fn) => {
    const props = functionResource(fn).Properties;
    expect(props.Runtime).toBe(`nodejs${LAMBDA_NODE_MAJOR}.x`);
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Handler).toBe('index.handler');
    expect(props.LoggingConfig).toMatchObject({
      LogFormat: 'JSON',
      LogGroup: { Ref: built.api.getLogicalId(built.api.functions[fn].logGroup.node.defaultChild as never) },
    });
    expect(props.Environment.Variables).toMatchObject({
      NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
      // The deployment's own (`Tollgate` stack): test/infra/physical-names.test.ts holds the rule.
      POWERTOOLS_SERVICE_NAME: `Tollgate-${fn}`,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  it.each(names)('%s: learns the name of every table it may use, and of no other', (fn) => {
    const variables = functionResource(fn).Properties.Environment.Variables as Record<string, unknown>;
    const spec = Functions[fn] as { tables: object; streams?: readonly TableKey[] };
    const expected = new Set([...(Object.keys(spec.tables) as TableKey[]), ...(spec.streams ?? [])].map((k) => Tables[k].envVar));
    const tableVariables = Object.keys(variables).filter((v) => Object.values(Tables).some((t) => t.envVar === v));
    expect(tableVariables.sort()).toEqual([...expected].sort());
  });

  it("keeps its logs for a month, except the admin and leak functions', the audit trail of key creation, roll and revocation: a year", () => {
    const groups = template(built.api).findResources('AWS::Logs::LogGroup');
    const retention = Object.fromEntries(
      names.map((fn) => [fn, groups[built.api.getLogicalId(built.api.functions[fn].logGroup.node.defaultChild as never)]!.Properties.RetentionInDays]),
    );
    expect(retention).toEqual({ authorizer: 30, token: 30, admin: 365, fanout: 30, leaks: 365, rotation: 30, metering: 365 });
  });

  it("signer and verifier share one issuer: the API's own URL by default, the configured one otherwise", () => {
    const issuerOf = (app: BuiltApp, fn: FunctionName) => {
      const id = app.api.getLogicalId(app.api.functions[fn].fn.node.defaultChild as never);
      return template(app.api).toJSON().Resources[id].Properties.Environment.Variables[Env.issuer];
    };
    const apiId = built.api.getLogicalId(built.api.gateway.api.node.defaultChild as never);
    expect(issuerOf(built, 'token')).toEqual(issuerOf(built, 'authorizer'));
    expect(JSON.stringify(issuerOf(built, 'token'))).toContain(apiId);
    expect(JSON.stringify(issuerOf(built, 'token'))).toContain('/v1');
    const configured = buildApp({ settings: { issuer: 'https://id.example.com' } });
    expect(issuerOf(configured, 'token')).toBe('https://id.example.com');
    expect(issuerOf(configured, 'authorizer')).toBe('https://id.example.com');
  });

  it('the admin function knows the rotation function it invokes', () => {
    const rotationId = built.api.getLogicalId(built.api.functions.rotation.fn.node.defaultChild as never);
    expect(functionResource('admin').Properties.Environment.Variables[Env.rotationFunction]).toEqual({ Ref: rotationId });
  });
});

describe('the function-code seam (overrideFunctionCode)', () => {
  it('resolves every entry against the source directory the override names: an empty one has none', () => {
    const empty = tempDir();
    expect(() => buildApp({ functionCode: { source: empty } })).toThrow(`Cannot find entry file at ${empty}/lambda/`);
  });

  it('takes each function from <dir>/<name> as a prebuilt asset: a missing one stops synth', () => {
    const empty = tempDir();
    expect(() => buildApp({ functionCode: { prebuilt: empty } })).toThrow(`Cannot find asset at ${empty}/`);
  });

  it('gives a prebuilt function the handler and runtime a bundled one has', () => {
    const dir = tempDir();
    for (const name of Object.keys(built.api.functions)) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'index.mjs'), 'export const handler = async () => undefined;\n');
    }
    const prebuilt = buildApp({ functionCode: { prebuilt: dir } });
    const shape = (app: typeof built) =>
      Object.values(template(app.api).findResources('AWS::Lambda::Function'))
        .map((fn) => [fn.Properties.Description, fn.Properties.Handler, fn.Properties.Runtime, fn.Properties.Architectures])
        .sort();
    expect(shape(prebuilt)).toEqual(shape(built));
    expect(shape(prebuilt)).toContainEqual(['Tollgate authorizer', 'index.handler', `nodejs${LAMBDA_NODE_MAJOR}.x`, ['arm64']]);
  });

  it('marks every function built from an override with a warning', () => {
    const warnings = Annotations.fromStack(built.api).findWarning('*', Match.stringLikeRegexp('comes from a test override'));
    expect(warnings.map((warning) => warning.id.split('/')[2]).sort()).toEqual(
      ['Authorizer', 'Fanout', 'LeakResponse', 'Metering', 'Rotation', 'TokenApi', 'TokenApi'].sort(),
    );
    expect(warnings).toHaveLength(Object.keys(Functions).length);
  });

  it('refuses a relative directory', () => {
    expect(() => buildApp({ functionCode: { source: 'lambda' } })).toThrow(/overrideFunctionCode needs an absolute directory/);
  });

  // The key an earlier version read: any context source (cdk.context.json, ~/.cdk.json,
  // CDK_CONTEXT_JSON) could point every function, the authorizer's included, at other code.
  it.each([
    ['the construct tree', (context: Record<string, unknown>) => buildApp({ context })],
    [
      'CDK_CONTEXT_JSON',
      (context: Record<string, unknown>) => {
        const before = process.env.CDK_CONTEXT_JSON;
        process.env.CDK_CONTEXT_JSON = JSON.stringify(context);
        try {
          return buildApp();
        } finally {
          if (before === undefined) delete process.env.CDK_CONTEXT_JSON;
          else process.env.CDK_CONTEXT_JSON = before;
        }
      },
    ],
  ])('takes no function code from CDK context (%s)', (_source, build) => {
    const elsewhere = tempDir();
    const fromContext = build({ 'tollgate:functionCode': { source: elsewhere } });
    expect(fromContext.app.node.tryGetContext('tollgate:functionCode')).toEqual({ source: elsewhere });
    expect(template(fromContext.api).toJSON()).toEqual(template(built.api).toJSON());
    const bundled = buildApp({ bundle: false, context: { 'tollgate:functionCode': { prebuilt: elsewhere } } });
    expect(template(bundled.api).toJSON()).toEqual(template(built.api).toJSON());
  });
});

describe('signing-key rotation schedule', () => {
  it("sends EventBridge's scheduled event to the rotation function every hour, with bounded retries", () => {
    const rotationId = built.api.getLogicalId(built.api.functions.rotation.fn.node.defaultChild as never);
    template(built.api).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [rotationId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 1800 },
          Input: Match.absent(),
        }),
      ],
    });
  });

  it('hands the rotation settings and the event bus to the function', () => {
    const settings = buildApp({ settings: { rotationIntervalDays: 14, keyDeletionWindowDays: 7, keySpec: 'RSA_2048' } });
    const id = settings.api.getLogicalId(settings.api.functions.rotation.fn.node.defaultChild as never);
    expect(template(settings.api).toJSON().Resources[id].Properties.Environment.Variables).toMatchObject({
      [Setting.rotationIntervalDays.env]: '14',
      [Setting.keyDeletionWindowDays.env]: '7',
      [Setting.keySpec.env]: 'RSA_2048',
      [Env.eventBusName]: 'default',
    });
  });
});

describe('stack outputs', () => {
  it('publishes the API URL, region, usage plan and every function and table name under the shared keys', () => {
    const outputs = template(built.api).toJSON().Outputs as Record<string, unknown>;
    const expected = [
      StackOutput.apiUrl,
      StackOutput.region,
      StackOutput.usagePlanId,
      StackOutput.restApiId,
      StackOutput.stageName,
      StackOutput.alarmTopicArn,
      StackOutput.dashboardName,
      ...Object.values(FUNCTION_NAME_OUTPUT),
      ...Object.values(TABLE_NAME_OUTPUT),
    ];
    for (const key of expected) expect(outputs, key).toHaveProperty(key);
    const rotationId = built.api.getLogicalId(built.api.functions.rotation.fn.node.defaultChild as never);
    expect(outputs[StackOutput.rotationFunctionName]).toMatchObject({ Value: { Ref: rotationId } });
  });
});
