import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Env, HygieneEvent } from '../../common/names';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiKeyAttr, ClientAttr, REVOCATION_ID_ATTR } from '../../common/credential-items';
import { Functions } from '../../common/functions';
import { DynamoUsageAnomalyStore } from '../../lambda/adapters/usage-anomaly-store';
import { SUSPENDED_RESPONSES } from '../../common/usage';
import { revocationFilters } from '../../lib/fanout';
import { METERING_LAG_ALARM_MS } from '../../lib/usage-metering';
import { buildApp, tableLogicalId, template, type BuiltApp } from './app';
import * as Setting from '../../common/settings';

let built: BuiltApp;
beforeAll(() => {
  built = buildApp({ settings: { usageMinuteRetentionDays: 3, usageHourRetentionDays: 30, usageDayRetentionDays: 800 } });
});

const logicalId = (construct: { node: { defaultChild?: unknown } }) => built.api.getLogicalId(construct.node.defaultChild as never);

describe('usage metering', () => {
  it('keeps the usage table like every table: customer-managed key, PITR, TTL on expiresAt, on demand, retained', () => {
    template(built.data).hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'series', KeyType: 'HASH' },
          { AttributeName: 'period', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
        BillingMode: 'PAY_PER_REQUEST',
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('subscribes the metering function to every line of the stage access log', () => {
    template(built.api).hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      FilterPattern: '',
      DestinationArn: { 'Fn::GetAtt': [logicalId(built.api.metering.function.fn), 'Arn'] },
      LogGroupName: { Ref: built.api.getLogicalId(built.api.gateway.accessLogs.node.defaultChild as never) },
    });
  });

  it('retries a failed delivery twice, then sends it to an encrypted DLQ', () => {
    template(built.api).hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(built.api.metering.function.fn) },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(built.api.metering.dlq), 'Arn'] } } },
    });
    template(built.api).hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('hands the function its routes and retention settings, and the tables it may use', () => {
    const variables = template(built.api).findResources('AWS::Lambda::Function')[logicalId(built.api.metering.function.fn)]!.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      [Setting.usageMinuteRetentionDays.env]: '3',
      [Setting.usageHourRetentionDays.env]: '30',
      [Setting.usageDayRetentionDays.env]: '800',
      [Setting.routes.env]: expect.any(String),
    });
    expect(Object.keys(variables)).toEqual(expect.arrayContaining(['TOLLGATE_USAGE_TABLE', 'TOLLGATE_CLIENTS_TABLE', Env.eventBusName]));
  });

  it('may change only the suspension of a client record or an API key (and revoke a key), and send only Tollgate events', () => {
    const policies = Object.values(template(built.api).findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(built.api.getLogicalId(built.api.metering.function.role.node.defaultChild as never)),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    const clientUpdate = statements.find((s) => s.Action === 'dynamodb:UpdateItem' && JSON.stringify(s.Resource).includes(tableLogicalId(built, 'clients')))!;
    expect(clientUpdate.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': [
          ClientAttr.clientId,
          ClientAttr.suspendedUntil,
          ClientAttr.suspendedReason,
          ClientAttr.suspendedAtMs,
          ClientAttr.status,
          ClientAttr.creditsUsed,
        ],
      },
      Null: { 'dynamodb:Attributes': 'false' },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    });
    const keyUpdate = statements.find((s) => s.Action === 'dynamodb:UpdateItem' && JSON.stringify(s.Resource).includes(tableLogicalId(built, 'apiKeys')))!;
    expect(keyUpdate.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': ['keyId', 'status', 'revokedAt', 'activePartition', REVOCATION_ID_ATTR, 'suspendedUntil', 'suspendedReason', 'suspendedAtMs'],
      },
      Null: { 'dynamodb:Attributes': 'false' },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    });
    // A key's quota is read, never written, by the metering function.
    const keyReads = statements.filter((s) => JSON.stringify(s.Resource).includes(tableLogicalId(built, 'apiKeys'))).flatMap((s) => [s.Action].flat());
    expect(keyReads.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(statements.find((s) => s.Action === 'events:PutEvents')?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'events:source': [HygieneEvent.source] },
      Null: { 'events:source': 'false' },
    });
    expect(statements.some((s) => JSON.stringify(s.Action).includes('dynamodb:Scan') || JSON.stringify(s.Action).includes('DeleteItem'))).toBe(false);
  });

  it("names in the anomaly response's key revocation only the attributes its role's condition allows", async () => {
    const sent: Record<string, any>[] = [];
    const doc = { send: async (command: { input: Record<string, any> }) => void sent.push(command.input) } as unknown as DynamoDBDocumentClient;
    const store = new DynamoUsageAnomalyStore(doc, { clients: 'clients', usage: 'usage', apiKeys: 'api-keys' });
    expect(await store.revokeKeys(['key_1', 'key_2'], 1_000)).toEqual(['key_1', 'key_2']);
    expect(sent).toHaveLength(2);
    for (const input of sent) {
      // dynamodb:Attributes covers the key, the update and the condition expression alike.
      const named = [...Object.keys(input.Key), ...Object.values(input.ExpressionAttributeNames as Record<string, string>)];
      expect(Functions.metering.tables.apiKeys.updateOnly).toEqual(expect.arrayContaining(named));
      expect(input.ReturnValues ?? 'NONE').toBe('NONE');
    }
  });

  it('alarms on errors, a non-empty DLQ, lag, lines it could not read and the anomaly rate, to the alarm topic', () => {
    const alarms = Object.values(template(built.api).findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const lag = alarms.find((a) => a.MetricName === 'MeteringLagMs');
    expect(lag).toMatchObject({ Threshold: METERING_LAG_ALARM_MS, ExtendedStatistic: 'p99' });
    expect(alarms.some((a) => a.MetricName === 'UsageAnomalies')).toBe(true);
    // A line the meter cannot read is a request nobody counts.
    expect(alarms.find((a) => a.MetricName === 'MeteringIgnoredLines')).toMatchObject({ Threshold: 1, Statistic: 'Sum', Period: 300 });
    expect(
      alarms.filter((a) => String(a.AlarmDescription).includes('metering') || String(a.AlarmDescription).includes('Access-log deliveries')).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("wakes the fan-out for a client's or an API key's suspension as for its revocation", () => {
    expect(JSON.stringify(revocationFilters('clients'))).toContain(ClientAttr.suspendedUntil);
    expect(JSON.stringify(revocationFilters('apiKeys'))).toContain(ApiKeyAttr.suspendedUntil);
    expect(JSON.stringify(revocationFilters('tokens'))).not.toContain(ClientAttr.suspendedUntil);
  });

  it("renders a suspended client's Deny with its own body through the ACCESS_DENIED gateway response, any other Deny as before", () => {
    const response = Object.values(template(built.api).findResources('AWS::ApiGateway::GatewayResponse')).find(
      (r) => r.Properties.ResponseType === 'ACCESS_DENIED',
    )!;
    const body = response.Properties.ResponseTemplates['application/json'] as string;
    expect(response.Properties.StatusCode).toBe('403');
    expect(body).toContain('#if("$context.authorizer.refusal" == "quota_exceeded")');
    expect(body).toContain(SUSPENDED_RESPONSES.quota_exceeded.body.error_description);
    expect(body).toContain('"retry_after":"$context.authorizer.retryAfter"');
    expect(body).toMatch(/#else\{"error":"insufficient_scope".*\}#end$/);
  });
});

describe('usage dashboard rows', () => {
  it('ranks clients by requests from the access log (Contributor Insights), and graphs metered denials by reason', () => {
    const rule = Object.values(template(built.api).findResources('AWS::CloudWatch::InsightRule')).find((r) =>
      JSON.stringify(r.Properties.RuleName).includes('-top-clients'),
    )!.Properties;
    expect(rule.RuleState).toBe('ENABLED');
    // The body is a Fn::Join around the access log group's Ref.
    const body = JSON.parse((rule.RuleBody['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'ACCESS_LOGS')).join(''));
    expect(body).toMatchObject({
      LogGroupNames: ['ACCESS_LOGS'],
      Contribution: { Keys: ['$.clientId'], Filters: [{ Match: '$.clientId', NotIn: ['-'] }] },
      AggregateOn: 'Count',
    });
    const dashboard = JSON.stringify(Object.values(template(built.api).findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
    expect(dashboard).toContain('Denied requests by reason (metered)');
    for (const reason of ['access_denied', 'quota_exceeded', 'unauthorized'])
      expect(dashboard).toMatch(new RegExp(`DeniedRequests[^a-z]+reason[^a-z]+${reason}`));
    expect(dashboard).toContain('INSIGHT_RULE_METRIC');
  });
});
