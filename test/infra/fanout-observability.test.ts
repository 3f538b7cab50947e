import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Defaults } from '../../common/defaults';
import { Env, METRICS_NAMESPACE } from '../../common/names';
import { Functions } from '../../common/functions';
import { DecisionOutcome, Metric, MetricDimension } from '../../common/metrics';
import { CredentialStatus } from '../../common/credential-items';
import type { TableKey } from '../../common/tables';
import {
  FANOUT_ITERATOR_AGE_ALARM_MS,
  GATEWAY_AUTHORIZER_FAILURES,
  GATEWAY_METRIC_DIMENSION,
  GATEWAY_THROTTLED_REQUESTS,
  ROTATION_OVERDUE_GRACE,
  SUSTAINED_THROTTLING_MINUTES,
  TOKEN_ISSUANCE_ERRORS_ALARM,
} from '../../lib/observability';
import { buildApp, tableLogicalId, template, type BuiltApp } from './app';
import * as Setting from '../../common/settings';

let built: BuiltApp;
beforeAll(() => {
  built = buildApp();
});

const logicalId = (construct: { node: { defaultChild?: unknown } }) => built.api.getLogicalId(construct.node.defaultChild as never);

describe('revocation fan-out', () => {
  const mappings = () => Object.values(template(built.api).findResources('AWS::Lambda::EventSourceMapping')).map((m) => m.Properties);
  const mappingOf = (table: TableKey) => mappings().find((m) => JSON.stringify(m.EventSourceArn).includes(tableLogicalId(built, table)))!;

  it('reads the stream of each table the spec lists, and only those', () => {
    expect(mappings()).toHaveLength(Functions.fanout.streams.length);
    for (const table of Functions.fanout.streams) expect(mappingOf(table), table).toBeDefined();
  });

  it.each(Functions.fanout.streams)('%s: partial batch failures, bisect, retries for as long as the stream keeps a record, DLQ', (table) => {
    const mapping = mappingOf(table);
    // Absent, both are -1 (unlimited): a record the feed could not take is retried until the stream drops it (24 h).
    expect(mapping.MaximumRetryAttempts ?? -1).toBe(-1);
    expect(mapping.MaximumRecordAgeInSeconds ?? -1).toBe(-1);
    expect(mapping).toMatchObject({
      FunctionName: { Ref: logicalId(built.api.functions.fanout.fn) },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumBatchingWindowInSeconds: 0,
      ParallelizationFactor: 10,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(built.api.fanout.dlq), 'Arn'] } } },
    });
  });

  it.each(['apiKeys', 'clients', 'tokens'] as const)(
    '%s: only inserts and modifications whose new status is revoked invoke it (and, for clients and keys, those with a suspension)',
    (table) => {
      const filters = mappingOf(table).FilterCriteria.Filters as { Pattern: string }[];
      expect(filters.map((f) => JSON.parse(f.Pattern))).toEqual([
        { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { status: { S: [CredentialStatus.Revoked] } } } },
        // A client's or a key's suspension travels the revocation path (docs/usage.md).
        ...(table !== 'tokens' ? [{ eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { suspendedUntil: { N: [{ exists: true }] } } } }] : []),
      ]);
    },
  );

  it('signingKeys: only keys newly marked compromised invoke it', () => {
    const filters = mappingOf('signingKeys').FilterCriteria.Filters as { Pattern: string }[];
    expect(filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      { eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { compromisedAt: { N: [{ exists: true }] } } } },
    ]);
  });

  it('keeps failed-batch descriptions in an encrypted, SSL-only queue', () => {
    const queueId = logicalId(built.api.fanout.dlq);
    template(built.api).hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    template(built.api).hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
  });

  it("knows the stage whose authorizer cache to flush, and the authorizers' poll interval that times the flush", () => {
    const fanout = template(built.api).toJSON().Resources[logicalId(built.api.functions.fanout.fn)];
    expect(fanout.Properties.Environment.Variables[Env.flushStages]).toEqual({
      'Fn::Join': ['', [{ Ref: logicalId(built.api.gateway.api) }, '/v1']],
    });
    const authorizer = template(built.api).toJSON().Resources[logicalId(built.api.functions.authorizer.fn)];
    expect(fanout.Properties.Environment.Variables[Setting.revocationPollMs.env]).toBe(
      authorizer.Properties.Environment.Variables[Setting.revocationPollMs.env],
    );
    expect(fanout.Properties.Environment.Variables[Setting.revocationPollMs.env]).toBe(String(Setting.revocationPollMs.default));
  });
});

/** A metric filter on the stage's access log that counts one metric per matching line. */
function expectAccessLogCounter(metricName: string, filterPattern: string): void {
  template(built.api).hasResourceProperties('AWS::Logs::MetricFilter', {
    LogGroupName: { Ref: logicalId(built.api.gateway.accessLogs) },
    FilterPattern: filterPattern,
    MetricTransformations: [
      { MetricNamespace: METRICS_NAMESPACE, MetricName: metricName, MetricValue: '1', Dimensions: [{ Key: GATEWAY_METRIC_DIMENSION, Value: '$.apiId' }] },
    ],
  });
  // The alarm reads the series of this stack's REST API, the value its stage writes into `apiId`.
  template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: metricName,
    Dimensions: [{ Name: GATEWAY_METRIC_DIMENSION, Value: { Ref: logicalId(built.api.gateway.api) } }],
  });
}

describe('alarms', () => {
  const alarms = () => Object.values(template(built.api).findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
  const topicId = () => logicalId(built.api.observability.alarmTopic);

  it('notify the encrypted alarm topic, on alarm and on recovery', () => {
    // Fifteen for the stack, five for usage metering (test/infra/usage-metering.test.ts).
    expect(alarms()).toHaveLength(20);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId() }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId() }]);
    }
    template(built.api).hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('fire when the fan-out discards a stream record it cannot read', () => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: Metric.fanoutRecordsDiscarded,
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("fire when token exchanges fail on Tollgate's side (clients get 503 and no new tokens)", () => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: Metric.issuanceErrors,
      Statistic: 'Sum',
      Period: 300,
      Threshold: TOKEN_ISSUANCE_ERRORS_ALARM,
      AlarmDescription: Match.stringLikeRegexp('disabled or pending deletion in KMS'),
    });
  });

  it('fire when an authorizer decided on a revocation view older than half of revocationViewMaxStaleSeconds', () => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: Metric.revocationViewAgeMs,
      Namespace: METRICS_NAMESPACE,
      Statistic: 'Maximum',
      Period: 60,
      Threshold: (Setting.revocationViewMaxStaleSeconds.default * 1000) / 2,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('fire on authorizer failures counted from the access log', () => {
    expectAccessLogCounter(GATEWAY_AUTHORIZER_FAILURES, '{ ($.errorType = "AUTHORIZER_FAILURE") || ($.errorType = "AUTHORIZER_CONFIGURATION_ERROR") }');
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: GATEWAY_AUTHORIZER_FAILURES,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('fire on throttling that lasts, counted from the access log, and rank the throttled clients', () => {
    expectAccessLogCounter(GATEWAY_THROTTLED_REQUESTS, '{ ($.errorType = "THROTTLED") || ($.errorType = "QUOTA_EXCEEDED") }');
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: GATEWAY_THROTTLED_REQUESTS,
      Threshold: 1,
      Period: 60,
      EvaluationPeriods: SUSTAINED_THROTTLING_MINUTES,
      TreatMissingData: 'notBreaching',
    });
    // The usage metering's TopClients rule is the other one (test/infra/usage-metering.test.ts).
    const rule = Object.values(template(built.api).findResources('AWS::CloudWatch::InsightRule')).find((r) =>
      JSON.stringify(r.Properties.RuleName).includes('top-throttled-clients'),
    )!.Properties;
    expect(rule.RuleState).toBe('ENABLED');
    // The body is a Fn::Join around the log group's Ref; join it with a stand-in name to read it.
    const logGroupRef = { Ref: logicalId(built.api.gateway.accessLogs) };
    const parts = rule.RuleBody['Fn::Join'][1] as unknown[];
    const body = JSON.parse(parts.map((part) => (JSON.stringify(part) === JSON.stringify(logGroupRef) ? 'ACCESS_LOGS' : part)).join(''));
    expect(body).toEqual({
      Schema: { Name: 'CloudWatchLogRule', Version: 1 },
      LogGroupNames: ['ACCESS_LOGS'],
      LogFormat: 'JSON',
      Contribution: { Keys: ['$.clientId'], Filters: [{ Match: '$.errorType', In: ['THROTTLED', 'QUOTA_EXCEEDED'] }] },
      AggregateOn: 'Count',
    });
  });

  it('fire when the fan-out falls more than 60 s behind', () => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(built.api.functions.fanout.fn) } }],
      Statistic: 'Maximum',
      Threshold: FANOUT_ITERATOR_AGE_ALARM_MS,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(FANOUT_ITERATOR_AGE_ALARM_MS).toBe(60_000);
  });

  it('fire when the DLQ is not empty', () => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('fire when rotation fails, is overdue or stops reporting, and when API keys near expiry', () => {
    const service = { Name: MetricDimension.service, Value: built.api.functions.rotation.serviceName };
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: Metric.rotationFailed,
      Dimensions: [service],
      Threshold: 1,
    });
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: Metric.activeKeyAgeSeconds,
      Dimensions: [service],
      Threshold: 30 * 86_400 + ROTATION_OVERDUE_GRACE.toSeconds(),
      TreatMissingData: 'breaching',
    });
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: Metric.keysExpiring,
      Dimensions: [service],
      Threshold: 1,
    });
  });

  it('fire a month before the upstream client certificate expires', () => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: Metric.upstreamCertificateSecondsLeft,
      Dimensions: [{ Name: MetricDimension.service, Value: built.api.functions.rotation.serviceName }],
      Statistic: 'Minimum',
      Period: 3600,
      Threshold: Defaults.upstreamCertificateWarningDays * 86_400,
      ComparisonOperator: 'LessThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('Renewing the upstream client certificate'),
    });
    expect(Defaults.upstreamCertificateWarningDays).toBe(30);
  });

  it.each([
    ['cacheFlushFailures', 'fanout'],
    ['revocationFeedReadFailures', 'authorizer'],
  ] as const)('fire on the first %s in five minutes (the revocation path failing quietly)', (metric, emitter) => {
    template(built.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: Metric[metric],
      Dimensions: [{ Name: MetricDimension.service, Value: built.api.functions[emitter].serviceName }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId() }],
    });
  });

  it('move the overdue threshold with the rotation interval', () => {
    const weekly = buildApp({ settings: { rotationIntervalDays: 7 } });
    template(weekly.api).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: Metric.activeKeyAgeSeconds,
      Threshold: 7 * 86_400 + ROTATION_OVERDUE_GRACE.toSeconds(),
    });
  });
});

describe('dashboard', () => {
  it('charts decisions by outcome, latency percentiles, revocation freshness, fan-out, rotation and issuance', () => {
    const dashboard = Object.values(template(built.api).findResources('AWS::CloudWatch::Dashboard'))[0]!;
    const body = JSON.stringify(built.api.resolve(dashboard.Properties.DashboardBody));
    for (const outcome of Object.values(DecisionOutcome)) expect(body).toContain(`\\"${MetricDimension.outcome}\\",\\"${outcome}\\"`);
    for (const name of [
      Metric.decision,
      Metric.authorizerLatencyMs,
      Metric.revocationViewAgeMs,
      Metric.revocationFanoutLagMs,
      Metric.rotationSucceeded,
      Metric.rotationFailed,
      Metric.issuanceErrors,
      Metric.keysExpiring,
      Metric.upstreamCertificateSecondsLeft,
      'IteratorAge',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body, name).toContain(`\\"${name}\\"`);
    }
    expect(body).toContain('\\"stat\\":\\"p50\\"');
    expect(body).toContain('\\"stat\\":\\"p99\\"');
  });
});
