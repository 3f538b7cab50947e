import { beforeAll, describe, expect, it } from 'vitest';
import { Env, HygieneEvent, UsageNaming } from '../../common/names';
import { Functions, WRITE_ACTIONS, type FunctionName, type FunctionSpec } from '../../common/functions';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiKeyAttr } from '../../common/credential-items';
import { Tables, type TableKey } from '../../common/tables';
import { KMS_TAG_APPLICATION_VALUE, KmsTag } from '../../common/tokens';
import { DynamoApiKeyStore } from '../../lambda/adapters/api-key-store';
import { actionsOf, buildApp, resourcesOf, roleStatements, tableLogicalId, template, type BuiltApp, type Statement } from './app';
import * as Setting from '../../common/settings';

let built: BuiltApp;
beforeAll(() => {
  built = buildApp();
});

/**
 * Statements allowed to name `Resource: *`, each because the action has no resource-level
 * permission. `kms:CreateKey` must also be condition-scoped.
 */
const RESOURCE_STAR_ACTIONS = new Map<string, { readonly needsCondition: boolean }>([
  ['kms:CreateKey', { needsCondition: true }],
  ['kms:ListKeys', { needsCondition: false }],
  ['dynamodb:ListStreams', { needsCondition: false }],
]);

interface PolicyDocumentAt {
  readonly where: string;
  readonly kind: 'identity' | 'key' | 'resource';
  readonly statements: readonly Statement[];
}

/** Every policy document of both templates: role policies, inline policies, key and resource policies. */
function allPolicyDocuments(): PolicyDocumentAt[] {
  const documents: PolicyDocumentAt[] = [];
  for (const stack of [built.data, built.api]) {
    for (const [id, resource] of Object.entries(template(stack).toJSON().Resources as Record<string, { Type: string; Properties: any }>)) {
      const where = `${stack.stackName}/${id}`;
      const p = resource.Properties ?? {};
      if (resource.Type === 'AWS::IAM::Policy') documents.push({ where, kind: 'identity', statements: p.PolicyDocument.Statement });
      if (resource.Type === 'AWS::IAM::Role') {
        for (const inline of p.Policies ?? []) documents.push({ where, kind: 'identity', statements: inline.PolicyDocument.Statement });
      }
      if (resource.Type === 'AWS::KMS::Key') documents.push({ where, kind: 'key', statements: p.KeyPolicy.Statement });
      if (['AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy'].includes(resource.Type)) {
        documents.push({ where, kind: 'resource', statements: p.PolicyDocument.Statement });
      }
    }
  }
  return documents;
}

const isAccountRoot = (principal: unknown) => /":root"\]\]\}\}$/.test(JSON.stringify(principal));

describe('every policy document of the app', () => {
  it('finds the documents it walks (roles of all five functions, key and resource policies)', () => {
    const documents = allPolicyDocuments();
    expect(documents.filter((d) => d.kind === 'identity').length).toBeGreaterThanOrEqual(5);
    expect(documents.some((d) => d.kind === 'key')).toBe(true);
    expect(documents.some((d) => d.kind === 'resource')).toBe(true);
  });

  it("grants no service-wide wildcard action, except the key policies' delegation to the account", () => {
    for (const document of allPolicyDocuments()) {
      for (const statement of document.statements.filter((s) => s.Effect === 'Allow')) {
        const wildcards = actionsOf(statement).filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a));
        if (wildcards.length === 0) continue;
        // KMS developer guide, default key policy: `kms:*` for the account root is what
        // lets IAM policies (like the grants checked below) apply to the key at all.
        expect({ where: document.where, kind: document.kind, wildcards }).toEqual({ where: document.where, kind: 'key', wildcards: ['kms:*'] });
        expect(isAccountRoot(statement.Principal), `${document.where}: kms:* for ${JSON.stringify(statement.Principal)}`).toBe(true);
      }
    }
  });

  it('names `Resource: *` in identity policies only for actions without resource-level permissions, conditioned where IAM allows', () => {
    const seen = new Set<string>();
    for (const document of allPolicyDocuments().filter((d) => d.kind === 'identity')) {
      for (const statement of document.statements.filter((s) => s.Effect === 'Allow' && resourcesOf(s).includes('*'))) {
        for (const action of actionsOf(statement)) {
          const rule = RESOURCE_STAR_ACTIONS.get(action);
          expect(rule, `${document.where}: ${action} on *`).toBeDefined();
          if (rule!.needsCondition) expect(statement.Condition, `${document.where}: ${action} needs conditions`).toBeDefined();
          seen.add(action);
        }
      }
    }
    expect([...seen].sort()).toEqual([...RESOURCE_STAR_ACTIONS.keys()].sort());
  });

  it('allows no anonymous principal in resource policies', () => {
    for (const document of allPolicyDocuments().filter((d) => d.kind !== 'identity')) {
      for (const statement of document.statements.filter((s) => s.Effect === 'Allow')) {
        expect(JSON.stringify(statement.Principal), document.where).not.toMatch(/^"\*"$|"AWS":"\*"/);
      }
    }
  });

  it('attaches no AWS managed policy to any role', () => {
    for (const role of Object.values(template(built.api).findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

/** A statement on one table as the tests read it: sorted actions, `table` or `index/<name>` resources, conditions. */
interface TableStatement {
  readonly actions: string[];
  readonly resources: string[];
  readonly condition?: unknown;
}

/** The item-level statements of a function's role on one table (stream reads and ListStreams apart). */
function tableStatementsOf(fn: FunctionName, key: TableKey): TableStatement[] {
  const logicalId = tableLogicalId(built, key);
  return roleStatements(built, fn)
    .filter(
      (s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')) && !actionsOf(s).some((a) => a === 'dynamodb:GetRecords' || a === 'dynamodb:ListStreams'),
    )
    .filter((s) => JSON.stringify(s.Resource).includes(logicalId))
    .map((s) => ({
      actions: actionsOf(s).sort(),
      resources: resourcesOf(s)
        .map((r) => JSON.stringify(r).match(/\/index\/([A-Za-z0-9*]+)/)?.[1])
        .map((index) => (index ? `index/${index}` : 'table'))
        .sort(),
      ...(s.Condition && { condition: s.Condition }),
    }));
}

const UPDATE_ONLY = (attributes: readonly string[]) => ({
  'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...attributes] },
  Null: { 'dynamodb:Attributes': 'false' },
  StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
});

describe('table access per function', () => {
  const tableKeys = Object.keys(Tables) as TableKey[];

  it.each(Object.keys(Functions) as FunctionName[])("%s reaches exactly the tables its spec lists, with the spec's actions, indexes and conditions", (fn) => {
    const spec = Functions[fn].tables as FunctionSpec['tables'];
    for (const key of tableKeys) {
      const access = spec[key];
      if (!access) {
        expect(tableStatementsOf(fn, key), `${fn} on ${key}`).toEqual([]);
        continue;
      }
      const restricted = access.updateOnly !== undefined;
      const plain = access.actions.filter((a) => !(restricted && a === 'UpdateItem')).map((a) => `dynamodb:${a}`);
      const expected: TableStatement[] = [
        ...(plain.length ? [{ actions: [...plain].sort(), resources: ['table'] }] : []),
        ...(restricted ? [{ actions: ['dynamodb:UpdateItem'], resources: ['table'], condition: UPDATE_ONLY(access.updateOnly!) }] : []),
        ...(access.queryIndexes?.length ? [{ actions: ['dynamodb:Query'], resources: access.queryIndexes.map((i) => `index/${i}`).sort() }] : []),
      ];
      expect(tableStatementsOf(fn, key), `${fn} on ${key}`).toEqual(expected);
    }
  });

  it('the token function may read an API key and stamp its lastUsedAt, and nothing else: no Put, Delete, index or other attribute', () => {
    expect(tableStatementsOf('token', 'apiKeys')).toEqual([
      { actions: ['dynamodb:GetItem'], resources: ['table'] },
      { actions: ['dynamodb:UpdateItem'], resources: ['table'], condition: UPDATE_ONLY([ApiKeyAttr.keyId, ApiKeyAttr.lastUsedAt]) },
    ]);
    expect(tableStatementsOf('token', 'clients')).toEqual([{ actions: ['dynamodb:GetItem'], resources: ['table'] }]);
    expect(tableStatementsOf('token', 'tokens')).toEqual([{ actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: ['table'] }]);
    expect(tableStatementsOf('token', 'signingKeys')).toEqual([{ actions: ['dynamodb:Query'], resources: ['table'] }]);
  });

  it("the token function's lastUsedAt update names only the attributes its condition allows, and asks for no return values", async () => {
    const sent: Record<string, any>[] = [];
    const doc = { send: async (command: { input: Record<string, any> }) => void sent.push(command.input) } as unknown as DynamoDBDocumentClient;
    await new DynamoApiKeyStore(doc, { apiKeys: 'api-keys', clients: 'clients' }).touchLastUsed('k1', 1_000, 60);
    expect(sent).toHaveLength(1);
    // dynamodb:Attributes covers the key, the update and the condition expression alike.
    const named = new Set([...Object.keys(sent[0]!.Key), ...Object.values(sent[0]!.ExpressionAttributeNames as Record<string, string>)]);
    expect([...named].sort()).toEqual([...Functions.token.tables.apiKeys.updateOnly].sort());
    expect(sent[0]!.ReturnValues ?? 'NONE').toBe('NONE');
  });

  it('the rotation function reads API keys only through the two hygiene indexes', () => {
    expect(tableStatementsOf('rotation', 'apiKeys')).toEqual([{ actions: ['dynamodb:Query'], resources: ['index/activeByExpiry', 'index/activeByLastUsed'] }]);
  });

  it('the authorizer only queries, and only the ring and the feed', () => {
    const dynamo = roleStatements(built, 'authorizer').filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect([...new Set(dynamo.flatMap(actionsOf))]).toEqual(['dynamodb:Query']);
    const resources = JSON.stringify(dynamo.flatMap(resourcesOf));
    for (const key of tableKeys) {
      expect(resources.includes(tableLogicalId(built, key)), key).toBe(key === 'signingKeys' || key === 'revocations');
    }
  });

  it('names indexes one by one, and only the ones a function queries', () => {
    expect(tableStatementsOf('admin', 'apiKeys').flatMap((s) => s.resources.filter((r) => r.startsWith('index/')))).toEqual(['index/byClient']);
    for (const fn of Object.keys(Functions) as FunctionName[]) expect(JSON.stringify(roleStatements(built, fn)), fn).not.toContain('/index/*');
  });

  it('deletes items only where code deletes: rotation prunes ring records, the fan-out moves late feed entries', () => {
    const deleters = (Object.keys(Functions) as FunctionName[]).flatMap((fn) =>
      tableKeys.filter((key) => tableStatementsOf(fn, key).some((s) => s.actions.includes('dynamodb:DeleteItem'))).map((key) => `${fn}:${key}`),
    );
    expect(deleters.sort()).toEqual(['fanout:revocations', 'rotation:signingKeys']);
  });

  it('gives no function Scan, DescribeTable or the batch actions, which no code calls, and ConditionCheckItem only where a transaction checks', () => {
    for (const fn of Object.keys(Functions) as FunctionName[]) {
      const actions = roleStatements(built, fn).flatMap(actionsOf);
      for (const action of ['Scan', 'DescribeTable', 'BatchGetItem', 'BatchWriteItem']) expect(actions, fn).not.toContain(`dynamodb:${action}`);
    }
    const checkers = (Object.keys(Functions) as FunctionName[]).flatMap((fn) =>
      tableKeys.filter((key) => tableStatementsOf(fn, key).some((s) => s.actions.includes('dynamodb:ConditionCheckItem'))).map((key) => `${fn}:${key}`),
    );
    // The roll's transaction checks the key's client is still active.
    expect(checkers).toEqual(['admin:clients']);
  });

  it('refuses at synth an index the table does not have', () => {
    const spec = Functions.rotation.tables.apiKeys as { queryIndexes: readonly string[] };
    const saved = spec.queryIndexes;
    (spec as { queryIndexes: readonly string[] }).queryIndexes = [...saved, 'byNothing'];
    try {
      expect(() => buildApp()).toThrow(/Functions\.rotation\.tables\.apiKeys\.queryIndexes: byNothing/);
    } finally {
      (spec as { queryIndexes: readonly string[] }).queryIndexes = saved;
    }
  });

  it('refuses at synth a stream the table does not have', () => {
    const spec = Functions.fanout as { streams: readonly string[] };
    const saved = spec.streams;
    spec.streams = [...saved, 'revocations'];
    try {
      expect(() => buildApp()).toThrow(/Functions\.fanout\.streams: revocations has no stream/);
    } finally {
      spec.streams = saved;
    }
  });
});

describe('KMS: the table key', () => {
  const tableKeyStatements = (fn: FunctionName) => roleStatements(built, fn).filter((s) => JSON.stringify(s.Resource).includes('TableKey'));
  const viaDynamoDb = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

  it.each(Object.keys(Functions) as FunctionName[])(
    '%s may use it only through DynamoDB in this Region (stream reads included); DescribeKey (metadata) alone is unconditioned',
    (fn) => {
      const statements = tableKeyStatements(fn);
      const writes = Object.values(Functions[fn].tables as FunctionSpec['tables']).some((access) => access!.actions.some((a) => WRITE_ACTIONS.includes(a)));
      expect(statements.map((s) => ({ actions: actionsOf(s).sort(), condition: s.Condition }))).toEqual([
        { actions: writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] : ['kms:Decrypt'], condition: viaDynamoDb },
        { actions: ['kms:DescribeKey'], condition: undefined },
      ]);
    },
  );

  it('the authorizer only decrypts', () => {
    expect(tableKeyStatements('authorizer').flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
  });
});

describe('KMS: the key ring', () => {
  const kmsStatements = (fn: FunctionName) =>
    roleStatements(built, fn).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')) && !JSON.stringify(s.Resource).includes('TableKey'));

  it('only the token function signs, with ring-tagged keys and our algorithms', () => {
    const signers = (Object.keys(Functions) as FunctionName[]).filter((fn) => kmsStatements(fn).some((s) => actionsOf(s).includes('kms:Sign')));
    expect(signers).toEqual(['token']);
    const [sign] = kmsStatements('token');
    expect(kmsStatements('token')).toHaveLength(1);
    expect(actionsOf(sign!)).toEqual(['kms:Sign']);
    expect(JSON.stringify(sign!.Resource)).toContain(':key/*');
    expect(sign!.Condition!.StringEquals![`aws:ResourceTag/${KmsTag.application}`]).toBe(KMS_TAG_APPLICATION_VALUE);
    expect(JSON.stringify(sign!.Condition!.StringEquals![`aws:ResourceTag/${KmsTag.ring}`])).toContain(tableLogicalId(built, 'signingKeys'));
    expect(sign!.Condition!.StringEquals!['kms:SigningAlgorithm']).toEqual(['ECDSA_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256']);
  });

  it('the rotation function creates only tagged signing keys of the configured spec', () => {
    const create = kmsStatements('rotation').find((s) => actionsOf(s).includes('kms:CreateKey'))!;
    expect(actionsOf(create)).toEqual(['kms:CreateKey']);
    expect(create.Condition).toMatchObject({
      StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY', [`aws:RequestTag/${KmsTag.application}`]: KMS_TAG_APPLICATION_VALUE },
      StringEqualsIfExists: { 'kms:KeyOrigin': 'AWS_KMS' },
      BoolIfExists: { 'kms:MultiRegion': 'false' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': Object.values(KmsTag) },
    });
  });

  it('follows the configured key spec', () => {
    const rsa = buildApp({ settings: { keySpec: 'RSA_2048' } });
    const create = roleStatements(rsa, 'rotation').find((s) => actionsOf(s).includes('kms:CreateKey'))!;
    expect(create.Condition!.StringEquals!['kms:KeySpec']).toBe('RSA_2048');
  });

  it('acts on existing keys only when they carry the Tollgate application and ring tags', () => {
    const manage = kmsStatements('rotation').find((s) => s.Sid === 'ManageRingKeys')!;
    expect(actionsOf(manage).sort()).toEqual(['kms:ListResourceTags', 'kms:ScheduleKeyDeletion']);
    expect(manage.Condition!.StringEquals![`aws:ResourceTag/${KmsTag.application}`]).toBe(KMS_TAG_APPLICATION_VALUE);
    expect(JSON.stringify(manage.Condition!.StringEquals![`aws:ResourceTag/${KmsTag.ring}`])).toContain(tableLogicalId(built, 'signingKeys'));
  });

  it('reads public keys and key metadata without the tag condition, and nothing more', () => {
    const reads = kmsStatements('rotation').find((s) => s.Sid === 'ReadPublicKeys')!;
    expect(actionsOf(reads).sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey']);
    expect(JSON.stringify(reads.Resource)).toContain(':key/*');
    expect(reads.Condition).toBeUndefined();
    const untagged = kmsStatements('rotation').filter((s) => s.Effect === 'Allow' && !s.Condition);
    expect(untagged.flatMap(actionsOf).sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey', 'kms:ListKeys']);
  });

  it('tags at creation only with our tags, and never tags an existing key not already in this ring (it has a usage; only CreateKey carries the lockout-check key)', () => {
    const tagAtCreation = kmsStatements('rotation').find((s) => s.Sid === 'TagRingKeysAtCreation')!;
    expect(tagAtCreation.Condition).toMatchObject({
      StringEquals: { [`aws:RequestTag/${KmsTag.application}`]: KMS_TAG_APPLICATION_VALUE },
      'ForAllValues:StringEquals': { 'aws:TagKeys': Object.values(KmsTag) },
    });
    const deny = kmsStatements('rotation').find((s) => s.Effect === 'Deny')!;
    expect(actionsOf(deny)).toEqual(['kms:TagResource']);
    expect(deny.Condition!.Null).toEqual({ 'kms:KeyUsage': 'false', 'kms:BypassPolicyLockoutSafetyCheck': 'true' });
    expect(JSON.stringify(deny.Condition!.StringNotEquals![`aws:ResourceTag/${KmsTag.ring}`])).toContain(tableLogicalId(built, 'signingKeys'));
  });

  it('lets no function other than rotation and token touch KMS beyond the table key', () => {
    for (const fn of ['authorizer', 'admin', 'fanout'] as const) expect(kmsStatements(fn), fn).toEqual([]);
  });
});

describe("the admin function's usage-plan ABAC (two Tollgates in one account and Region share the application tag)", () => {
  const deployment = () => built.api.gateway.usagePlanName;
  const conditioned = () =>
    roleStatements(built, 'admin').filter((s) => s.Effect === 'Allow' && s.Condition && actionsOf(s).some((a) => a.startsWith('apigateway:')));

  it("requires this deployment's tag, with the default plan's name as its value, in every condition: on the resource, or on the request with the tag keys limited", () => {
    const statements = conditioned();
    expect(statements.map((s) => s.Sid).sort()).toEqual(
      ['BindKeysInTollgatePlans', 'CreateTaggedApiKeysAndPlans', 'DeleteClientApiKeys', 'ManageClientPlans', 'ReadClientApiKeys', 'TagAtCreation'].sort(),
    );
    for (const statement of statements) {
      const equals = statement.Condition!.StringEquals ?? {};
      const onRequest = `aws:RequestTag/${UsageNaming.deploymentTag}` in equals;
      const prefix = onRequest ? 'aws:RequestTag' : 'aws:ResourceTag';
      expect(equals, statement.Sid).toMatchObject({
        [`${prefix}/${UsageNaming.applicationTag}`]: KMS_TAG_APPLICATION_VALUE,
        [`${prefix}/${UsageNaming.deploymentTag}`]: deployment(),
      });
      if (onRequest) {
        expect(statement.Condition!['ForAllValues:StringEquals']!['aws:TagKeys'], statement.Sid).toEqual([
          UsageNaming.applicationTag,
          UsageNaming.deploymentTag,
          UsageNaming.clientTag,
        ]);
        // Tagging never moves a resource of another deployment into this one.
        if (statement.Sid === 'TagAtCreation')
          expect(statement.Condition!.StringEqualsIfExists).toEqual({ [`aws:ResourceTag/${UsageNaming.deploymentTag}`]: deployment() });
      }
    }
  });

  it("the default plan carries the same value, so the role binds keys in its own deployment's plan", () => {
    const plan = Object.values(template(built.api).findResources('AWS::ApiGateway::UsagePlan'))[0] as { Properties: { Tags: unknown[] } };
    expect(plan.Properties.Tags).toContainEqual({ Key: UsageNaming.deploymentTag, Value: deployment() });
  });
});

describe('the other grants', () => {
  it('the admin function may invoke the rotation function and nothing else outside its tables and usage plans', () => {
    // Its API Gateway statements (usage-key registration) are checked in usage-plans.test.ts.
    const extra = roleStatements(built, 'admin').filter(
      (s) => !actionsOf(s).some((a) => ['dynamodb:', 'kms:', 'logs:', 'apigateway:'].some((p) => a.startsWith(p))),
    );
    expect(extra).toHaveLength(1);
    expect(actionsOf(extra[0]!)).toEqual(['lambda:InvokeFunction']);
    const rotationId = built.api.getLogicalId(built.api.functions.rotation.fn.node.defaultChild as never);
    expect(extra[0]!.Resource).toEqual({ 'Fn::GetAtt': [rotationId, 'Arn'] });
  });

  it('the fan-out may flush the authorizer cache of its own stage only', () => {
    const flush = roleStatements(built, 'fanout').find((s) => actionsOf(s).includes('apigateway:DELETE'))!;
    const apiId = built.api.getLogicalId(built.api.gateway.api.node.defaultChild as never);
    expect(flush.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, '::/restapis/', { Ref: apiId }, '/stages/v1/cache/authorizers'],
      ],
    });
  });

  it('without an authorizer cache the fan-out has nothing to flush: no stage, no permission', () => {
    const uncached = buildApp({ settings: { authorizerCacheTtlSeconds: 0 } });
    expect(roleStatements(uncached, 'fanout').filter((s) => actionsOf(s).some((a) => a.startsWith('apigateway:')))).toEqual([]);
    const fanout = template(uncached.api).toJSON().Resources[uncached.api.getLogicalId(uncached.api.functions.fanout.fn.node.defaultChild as never)];
    expect(fanout.Properties.Environment.Variables).not.toHaveProperty(Env.flushStages);
    expect(fanout.Properties.Environment.Variables[Setting.revocationPollMs.env]).toBe(String(Setting.revocationPollMs.default));
  });

  it('the rotation function may put events on the default bus only, and only of the source its publisher sends', () => {
    const puts = roleStatements(built, 'rotation').filter((s) => actionsOf(s).some((a) => a.startsWith('events:')));
    expect(puts).toHaveLength(1);
    expect(actionsOf(puts[0]!)).toEqual(['events:PutEvents']);
    expect(JSON.stringify(puts[0]!.Resource)).toContain(':event-bus/default');
    // events:source is multivalued (one value per entry): every entry's, and present at all.
    expect(puts[0]!.Condition).toEqual({ 'ForAllValues:StringEquals': { 'events:source': [HygieneEvent.source] }, Null: { 'events:source': 'false' } });
  });

  it("the alarm topic key lets CloudWatch use it only for this account's alarms", () => {
    const keyId = built.api.getLogicalId(built.api.observability.alarmTopic.masterKey!.node.defaultChild as never);
    const policy = template(built.api).toJSON().Resources[keyId].Properties.KeyPolicy.Statement as Statement[];
    const cloudwatch = policy.filter((s) => JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'));
    expect(cloudwatch).toEqual([
      {
        Sid: 'CloudWatchAlarmsOfThisAccount',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
  });

  it('each function writes only to its own log group', () => {
    for (const fn of Object.keys(Functions) as FunctionName[]) {
      const logs = roleStatements(built, fn).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      const logGroupId = built.api.getLogicalId(built.api.functions[fn].logGroup.node.defaultChild as never);
      expect(logs, fn).toEqual([{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } }]);
    }
  });
});
