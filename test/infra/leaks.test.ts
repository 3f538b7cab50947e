/**
 * Leak response in the synthesized stack: the leak function with its own least-privilege
 * role (read a key by id, write only the revocation attributes, read clients, put Tollgate's
 * events), its routes public and method-throttled, the alarms on refused signatures and leak
 * volume, the dashboard row, the settings, and the optional per-IP WAF rule.
 */
import { Match } from 'aws-cdk-lib/assertions';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Env, HygieneEvent } from '../../common/names';
import { Functions } from '../../common/functions';
import { LeakPath, LeakThrottle } from '../../common/leaks';
import { Metric } from '../../common/metrics';
import { ApiKeyAttr } from '../../common/credential-items';
import { DynamoLeakStore } from '../../lambda/adapters/leak-store';
import { readConfig } from '../../lib/config';
import type { SettingName } from '../../lib/settings';
import { LEAK_SIGNATURE_FAILURES_ALARM, LEAK_VOLUME_ALARM_PER_HOUR } from '../../lib/observability';
import { LEAK_REVOKE_PATH_PATTERN } from '../../lib/leak-response';
import { buildApp, template, UPSTREAM } from './app';
import * as Setting from '../../common/settings';

const built = buildApp();
const api = template(built.api);
const read = (settings: Partial<Record<SettingName, unknown>>) => readConfig((name) => ({ upstreamUrl: UPSTREAM, ...settings })[name]);

function roleStatements(): Array<{ Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> }> {
  const roleId = built.api.getLogicalId(built.api.functions.leaks.role.node.defaultChild as never);
  const policies = Object.values(api.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId),
  );
  return policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

describe('the leak function', () => {
  it('may read API keys and clients, write only the revocation attributes of a key, put only Tollgate events, and nothing else', () => {
    const actions = roleStatements().flatMap((statement) => [statement.Action].flat());
    expect([...new Set(actions)].sort()).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:Encrypt',
        'kms:GenerateDataKey*',
        'kms:ReEncrypt*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort(),
    );
    const update = roleStatements().find((statement) => [statement.Action].flat().includes('dynamodb:UpdateItem'))!;
    expect(update.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': [
          ApiKeyAttr.keyId,
          ApiKeyAttr.status,
          ApiKeyAttr.revokedAt,
          ApiKeyAttr.activePartition,
          ApiKeyAttr.leakReportedAt,
          ApiKeyAttr.leakReportId,
          ApiKeyAttr.leakUnannounced,
        ],
      },
      // A request without the attribute list must not pass ForAllValues (IAM: true over an absent key).
      Null: { 'dynamodb:Attributes': 'false' },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    });
    expect(JSON.stringify(update.Resource)).toContain('ApiKeys');
    const events = roleStatements().find((statement) => [statement.Action].flat().includes('events:PutEvents'))!;
    // events:source is multivalued: every entry ours, and the key present (lib/events.ts).
    expect(events.Condition).toEqual({ 'ForAllValues:StringEquals': { 'events:source': [HygieneEvent.source] }, Null: { 'events:source': 'false' } });
    expect(Functions.leaks.tables).not.toHaveProperty('tokens');
  });

  it("names in every write of its store only the attributes its role's condition allows, and asks for no return values", async () => {
    const sent: Record<string, any>[] = [];
    const doc = { send: async (command: { input: Record<string, any> }) => void sent.push(command.input) } as unknown as DynamoDBDocumentClient;
    const store = new DynamoLeakStore(doc, { apiKeys: 'api-keys', clients: 'clients' });
    await store.apiKeys.revoke('k1', 1_000, 'r1');
    await store.apiKeys.markLeakReported('k1', 1_000, 60, 'r1');
    await store.apiKeys.markAnnounced('k1', 'r1');
    expect(sent).toHaveLength(3);
    for (const input of sent) {
      // dynamodb:Attributes covers the key, the update and the condition expression alike.
      const named = [...Object.keys(input.Key), ...Object.values(input.ExpressionAttributeNames as Record<string, string>)];
      expect(Functions.leaks.tables.apiKeys.updateOnly).toEqual(expect.arrayContaining(named));
      expect(input.ReturnValues ?? 'NONE').toBe('NONE');
    }
  });

  it('learns the key-list URL, the event bus and its tables from its environment', () => {
    const id = built.api.getLogicalId(built.api.functions.leaks.fn.node.defaultChild as never);
    const variables = api.toJSON().Resources[id].Properties.Environment.Variables as Record<string, unknown>;
    expect(variables[Setting.secretScanningKeysUrl.env]).toBe('https://api.github.com/meta/public_keys/secret_scanning');
    expect(variables).toHaveProperty(Env.eventBusName);
    expect(variables).toHaveProperty('TOLLGATE_API_KEYS_TABLE');
  });

  // That both routes are unauthorized Lambda proxies to this function: test/infra/gateway.test.ts, for every route of API_ROUTES.
  it('throttles each route with its own method throttle', () => {
    const stage = Object.values(api.findResources('AWS::ApiGateway::Stage'))[0]!.Properties as { MethodSettings: Array<Record<string, unknown>> };
    const setting = (path: string) => stage.MethodSettings.find((m) => m.ResourcePath === `/${path.replace(/\//g, '~1')}`);
    expect(setting(LeakPath.github)).toMatchObject({
      HttpMethod: 'POST',
      ThrottlingRateLimit: LeakThrottle.github.rateLimit,
      ThrottlingBurstLimit: LeakThrottle.github.burstLimit,
    });
    expect(setting(LeakPath.revoke)).toMatchObject({
      HttpMethod: 'POST',
      ThrottlingRateLimit: LeakThrottle.revoke.rateLimit,
      ThrottlingBurstLimit: LeakThrottle.revoke.burstLimit,
    });
  });

  it('alarms on refused signatures and on leak volume, and has a dashboard row', () => {
    api.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: Metric.leakSignatureFailures,
      Threshold: LEAK_SIGNATURE_FAILURES_ALARM,
      Period: 300,
      Statistic: 'Sum',
    });
    api.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: Metric.leakedKeys,
      Threshold: LEAK_VOLUME_ALARM_PER_HOUR,
      Period: 3600,
      Statistic: 'Sum',
    });
    const dashboard = JSON.stringify(Object.values(api.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
    expect(dashboard).toContain('Leak response');
    expect(dashboard).toContain(Metric.leakedKeys);
  });

  it('makes no web ACL unless leakRevokeRateLimitPerIp is set', () => {
    api.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});

describe('leakRevokeRateLimitPerIp: a per-source-IP AWS WAF rule on POST /leaks/revoke', () => {
  it('creates a regional web ACL with a rate-based rule scoped to the path, associated with the stage', () => {
    const withWaf = template(buildApp({ settings: { leakRevokeRateLimitPerIp: 100 } }).api);
    withWaf.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Action: { Block: {} },
          Statement: {
            RateBasedStatement: Match.objectLike({
              Limit: 100,
              AggregateKeyType: 'IP',
              ScopeDownStatement: {
                RegexMatchStatement: {
                  FieldToMatch: { UriPath: {} },
                  RegexString: LEAK_REVOKE_PATH_PATTERN,
                  TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }],
                },
              },
            }),
          },
        }),
      ],
    });
    withWaf.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });

  it('counts every path API Gateway routes to POST /leaks/revoke (the stage prefix, a trailing slash, after URL decoding), and no other', () => {
    const counted = (path: string) => new RegExp(LEAK_REVOKE_PATH_PATTERN).test(decodeURIComponent(path));
    for (const path of ['/v1/leaks/revoke', '/v1/leaks/revoke/', '/v1/leaks/revoke//', '/leaks/revoke', '/v1/leaks/revok%65'])
      expect(counted(path), path).toBe(true);
    for (const path of ['/v1/leaks/revoked', '/v1/leaks/revoke/x', '/v1/orders/42', '/v1/leaks']) expect(counted(path), path).toBe(false);
  });

  it("is refused below WAF's minimum, and beside wafWebAclArn (a stage has one web ACL)", () => {
    expect(() => read({ leakRevokeRateLimitPerIp: 5 })).toThrow(/^Invalid Tollgate configuration: leakRevokeRateLimitPerIp must be a whole number from 10/);
    expect(() => read({ leakRevokeRateLimitPerIp: 100, wafWebAclArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mine/abc' })).toThrow(
      /leakRevokeRateLimitPerIp cannot be combined with wafWebAclArn/,
    );
    expect(read({ leakRevokeRateLimitPerIp: '300' }).leakRevokeRateLimitPerIp).toBe(300);
  });
});

describe('secretScanningKeysUrl', () => {
  it("defaults to GitHub's list and must be https at synth", () => {
    expect(read({}).secretScanningKeysUrl).toBe('https://api.github.com/meta/public_keys/secret_scanning');
    expect(read({ secretScanningKeysUrl: 'https://keys.example.com/list' }).secretScanningKeysUrl).toBe('https://keys.example.com/list');
    expect(() => read({ secretScanningKeysUrl: 'http://keys.example.com/list' })).toThrow(
      /^Invalid Tollgate configuration: secretScanningKeysUrl must use https/,
    );
    expect(() => read({ secretScanningKeysUrl: 'keys' })).toThrow(/secretScanningKeysUrl must be an absolute URL/);
  });
});
