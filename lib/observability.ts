/**
 * What an operator watches: one dashboard (decisions, authorizer latency, revocation
 * freshness, fan-out health, rotation, issuance) and the alarms that page, all sent to
 * one encrypted SNS topic. Custom metrics are those the functions emit under the names
 * of `common/metrics.ts`; the gateway's authorizer failures are counted from its access
 * log, because the authorizer's Lambda `Errors` metric also counts every 401 (a refusal
 * is a thrown "Unauthorized"). Both kinds carry the deployment's identity as a dimension
 * (`service`, `apiId`), so two Tollgates in one account and Region never share a series.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  type CfnInsightRule,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric as CloudWatchMetric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Defaults, SECONDS_PER_DAY } from '../common/defaults';
import { METRICS_NAMESPACE } from '../common/names';
import type { FunctionName } from '../common/functions';
import { DecisionOutcome, Metric, METRIC_EMITTER, MetricDimension, MetricDimensions } from '../common/metrics';
import type { TollgateFunction } from './function';
import type { Gateway } from './gateway';
import { accessLogInsightRule, fieldName } from './access-log-insights';
import { tollgateDashboardName } from './physical-names';

/** Counted by metric filters on the access log, not emitted by a function. */
export const GATEWAY_AUTHORIZER_FAILURES = 'GatewayAuthorizerFailures';
export const GATEWAY_THROTTLED_REQUESTS = 'GatewayThrottledRequests';
/** Their one dimension: the deployment's REST API id, the access log's `apiId` field. */
export const GATEWAY_METRIC_DIMENSION = 'apiId';
/** `$context.error.responseType` of a failed authorizer and of usage-plan refusals. */
const AUTHORIZER_ERROR_TYPES = ['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR'] as const;
const THROTTLING_ERROR_TYPES = ['THROTTLED', 'QUOTA_EXCEEDED'] as const;
/** Throttling is the usage plans doing their job; only throttling that never lets up pages. */
export const SUSTAINED_THROTTLING_MINUTES = 15;
/** Failed exchanges in 5 minutes that page: fewer are a hiccup the 503 and the client's retry absorb. */
export const TOKEN_ISSUANCE_ERRORS_ALARM = 5;
/** Fan-out falling this far behind its streams puts the 2 s revocation promise out of reach. */
export const FANOUT_ITERATOR_AGE_ALARM_MS = 60_000;
/** How long after the interval the active key may go unrotated before the alarm (a missed day of steps). */
export const ROTATION_OVERDUE_GRACE = Duration.days(1);
/**
 * GitHub's own reports always verify; failed signatures in this number within five minutes
 * mean someone is posting forged reports, or GitHub rotated its keys and the list cannot be read.
 */
export const LEAK_SIGNATURE_FAILURES_ALARM = 5;
/** Live keys reported leaked within an hour at which it is a mass leak (a repository of keys, a log dump), not one mistake. */
export const LEAK_VOLUME_ALARM_PER_HOUR = 10;

export interface ObservabilityProps {
  readonly gateway: Gateway;
  readonly functions: { readonly [K in FunctionName]: TollgateFunction };
  readonly fanoutDlq: IQueue;
  readonly rotationIntervalDays: number;
  /** Authorizers answer 503 once their revocation view is this old; the alarm fires at half of it. */
  readonly revocationViewMaxStaleSeconds: number;
}

/** The functions a metric may come from: each names the `service` its metrics carry. */
export type MetricEmitters = { readonly [K in FunctionName]?: Pick<TollgateFunction, 'serviceName'> };

/**
 * A Tollgate custom metric with exactly the dimensions its emitter uses: `service` is the
 * emitting function's own `serviceName` (its `POWERTOOLS_SERVICE_NAME`), so an alarm watches
 * its own deployment's function and no other Tollgate's in the account and Region.
 */
export function tollgateMetric(
  emitters: MetricEmitters,
  name: keyof typeof Metric,
  statistic: string,
  options: { readonly dimensions?: Readonly<Record<string, string>>; readonly period?: Duration; readonly label?: string } = {},
): CloudWatchMetric {
  const emitter = emitters[METRIC_EMITTER[name]];
  if (!emitter) throw new Error(`tollgateMetric: ${Metric[name]} is emitted by the ${METRIC_EMITTER[name]} function, which was not given`);
  // CloudWatch matches a series by all of its dimensions: one left out or added names a series nothing emits.
  const emitted = [...(MetricDimensions[name] ?? [])].sort().join(', ');
  const given = Object.keys(options.dimensions ?? {})
    .sort()
    .join(', ');
  if (given !== emitted)
    throw new Error(`tollgateMetric: ${Metric[name]} is emitted with ${emitted || 'no dimension'} besides service, not ${given || 'none'}`);
  return new CloudWatchMetric({
    namespace: METRICS_NAMESPACE,
    metricName: Metric[name],
    dimensionsMap: { [MetricDimension.service]: emitter.serviceName, ...options.dimensions },
    statistic,
    period: options.period ?? Duration.minutes(1),
    ...(options.label && { label: options.label }),
  });
}

/** One of Tollgate's alarms: at or above `threshold` for one period unless said otherwise; no data is not breaching. */
export interface AlarmSpec {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly description: string;
  readonly comparison?: ComparisonOperator;
  readonly evaluationPeriods?: number;
  readonly missing?: TreatMissingData;
}

/** An alarm that notifies `topic` when it fires and when it clears. */
export function topicAlarm(scope: Construct, id: string, topic: ITopic, spec: AlarmSpec): Alarm {
  const alarm = new Alarm(scope, id, {
    metric: spec.metric,
    threshold: spec.threshold,
    comparisonOperator: spec.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: spec.evaluationPeriods ?? 1,
    treatMissingData: spec.missing ?? TreatMissingData.NOT_BREACHING,
    alarmDescription: spec.description,
  });
  alarm.addAlarmAction(new SnsAction(topic));
  alarm.addOkAction(new SnsAction(topic));
  return alarm;
}

export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: { readonly [name: string]: Alarm };

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { functions } = props;
    this.alarmTopic = this.encryptedTopic();
    const { gateway } = props;
    const authorizerFailures = this.accessLogCount('AuthorizerFailureFilter', GATEWAY_AUTHORIZER_FAILURES, AUTHORIZER_ERROR_TYPES, gateway);
    const throttled = this.accessLogCount('ThrottledFilter', GATEWAY_THROTTLED_REQUESTS, THROTTLING_ERROR_TYPES, gateway);
    this.topThrottledClients(gateway.accessLogs);
    const iteratorAge = functions.fanout.fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) });
    const dlqDepth = props.fanoutDlq.metric('ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: Duration.minutes(1) });
    const hourly = { period: Duration.hours(1) };
    const fiveMinutes = { period: Duration.minutes(5) };

    this.alarms = {
      authorizerFailures: this.alarm('AuthorizerFailures', {
        metric: authorizerFailures,
        // One failed authorizer call is already a 500 to a client: page on the first, not on a rate.
        threshold: 1,
        description:
          'API Gateway answered 503 temporarily_unavailable because the authorizer could not decide: its revocation view is older than revocationViewMaxStaleSeconds or its key ring never loaded (DynamoDB unreachable), or it failed (threw, timed out, was throttled or misconfigured).',
      }),
      sustainedThrottling: this.alarm('SustainedThrottling', {
        metric: throttled,
        threshold: 1,
        evaluationPeriods: SUSTAINED_THROTTLING_MINUTES,
        description: `Clients were throttled or over quota in every minute for ${SUSTAINED_THROTTLING_MINUTES} minutes: see the TopThrottledClients Contributor Insights rule, then raise their limits or talk to them.`,
      }),
      fanoutIteratorAge: this.alarm('FanoutIteratorAge', {
        metric: iteratorAge,
        threshold: FANOUT_ITERATOR_AGE_ALARM_MS,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: 'Revocation fan-out is more than 60 s behind its DynamoDB streams: revocations are not reaching authorizers.',
      }),
      fanoutDlq: this.alarm('FanoutDlqNotEmpty', {
        metric: dlqDepth,
        threshold: 1,
        description:
          'Stream records left the stream (24 h) before the fan-out could write them to the feed: those revocations and suspensions never reached the authorizers. See docs/deploy.md, "When the fan-out gives up".',
      }),
      fanoutRecordsDiscarded: this.alarm('FanoutRecordsDiscarded', {
        metric: tollgateMetric(functions, 'fanoutRecordsDiscarded', 'Sum', fiveMinutes),
        threshold: 1,
        description:
          'The fan-out acknowledged a stream record it cannot read (malformed, or from a table it does not know): an item written by hand or by another tool. Its log line names the record; see docs/deploy.md, "When the fan-out gives up".',
      }),
      rotationFailed: this.alarm('RotationFailed', {
        metric: tollgateMetric(functions, 'rotationFailed', 'Sum', hourly),
        threshold: 1,
        description:
          'A signing-key rotation run failed. The next scheduled run retries what is left; a failed compromise says in the rotation function logs what took effect (the ring may have no active key: token requests answer 503 until one is made). See docs/rotation.md.',
      }),
      rotationOverdue: this.alarm('RotationOverdue', {
        metric: tollgateMetric(functions, 'activeKeyAgeSeconds', 'Maximum', hourly),
        threshold: props.rotationIntervalDays * SECONDS_PER_DAY + ROTATION_OVERDUE_GRACE.toSeconds(),
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        // Every scheduled step reports the active key's age; three silent hours mean the schedule or the function is broken.
        missing: TreatMissingData.BREACHING,
        description:
          'The active signing key is older than the rotation interval allows, or rotation has stopped reporting, or the ring has had no active key for three hours (a compromise whose replacement failed).',
      }),
      cacheFlushFailures: this.alarm('AuthorizerCacheFlushFailures', {
        metric: tollgateMetric(functions, 'cacheFlushFailures', 'Sum', fiveMinutes),
        threshold: 1,
        // A failed flush does not fail the record, so nothing else (DLQ, iterator age) shows it.
        description:
          "The fan-out could not flush the stage's authorizer cache: revoked tokens stay accepted until their cached decision expires (authorizerCacheTtlSeconds), not within 2 s. See the fan-out function logs (IAM, API Gateway throttling).",
      }),
      issuanceErrors: this.alarm('TokenIssuanceErrors', {
        metric: tollgateMetric(functions, 'issuanceErrors', 'Sum', fiveMinutes),
        threshold: TOKEN_ISSUANCE_ERRORS_ALARM,
        description: `${TOKEN_ISSUANCE_ERRORS_ALARM} or more token exchanges in 5 minutes failed on Tollgate's side (KMS Sign, DynamoDB): clients get 503 temporarily_unavailable and cannot get new tokens. A ring without an active key (a compromise whose replacement failed) or an active key disabled or pending deletion in KMS fails every exchange: see the token function logs and docs/rotation.md.`,
      }),
      feedReadFailures: this.alarm('RevocationFeedReadFailures', {
        metric: tollgateMetric(functions, 'revocationFeedReadFailures', 'Sum', fiveMinutes),
        threshold: 1,
        description:
          'Authorizers failed to read the revocation feed: they decide on a stale view, and answer 503 for every token once it is older than revocationViewMaxStaleSeconds. See the authorizer function logs.',
      }),
      revocationViewStale: this.alarm('RevocationViewStale', {
        metric: tollgateMetric(functions, 'revocationViewAgeMs', 'Maximum', { period: Duration.minutes(1) }),
        // Half the bound: time to act before authorizers start answering 503.
        threshold: (props.revocationViewMaxStaleSeconds * 1000) / 2,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `An authorizer decided on a revocation view older than half of revocationViewMaxStaleSeconds (${props.revocationViewMaxStaleSeconds} s): it cannot read the feed (DynamoDB). At the full bound it answers 503 for every token until the feed is readable again (docs/revocation.md, "Outages").`,
      }),
      keysExpiring: this.alarm('ApiKeysExpiring', {
        metric: tollgateMetric(functions, 'keysExpiring', 'Maximum', hourly),
        threshold: 1,
        description: 'Active API keys expire within expiryWarningDays: roll them (tollgate keys roll) before clients lose access.',
      }),
      leakSignatureFailures: this.alarm('LeakSignatureFailures', {
        metric: tollgateMetric(functions, 'leakSignatureFailures', 'Sum', fiveMinutes),
        threshold: LEAK_SIGNATURE_FAILURES_ALARM,
        description: `POST /secret-scanning/github refused ${LEAK_SIGNATURE_FAILURES_ALARM} or more reports for their signature in 5 minutes: forged reports, or GitHub's key list unreadable (see the leak function logs: reason per refusal).`,
      }),
      leakVolume: this.alarm('LeakVolume', {
        metric: tollgateMetric(functions, 'leakedKeys', 'Sum', hourly),
        threshold: LEAK_VOLUME_ALARM_PER_HOUR,
        description: `${LEAK_VOLUME_ALARM_PER_HOUR} or more live API keys were reported leaked within an hour (and revoked, unless their client chose notify): a mass leak. The KeyLeaked events and the leak function's audit lines name each key and where it was found.`,
      }),
      upstreamCertificateExpiring: this.alarm('UpstreamCertificateExpiring', {
        metric: tollgateMetric(functions, 'upstreamCertificateSecondsLeft', 'Minimum', hourly),
        threshold: Defaults.upstreamCertificateWarningDays * SECONDS_PER_DAY,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        // Silence is RotationOverdue's to report (every step emits both), and a failed read is a RotationFailed.
        description: `The client certificate the stage presents to the upstream expires within ${Defaults.upstreamCertificateWarningDays} days; after that the upstream refuses every request. Renew it: docs/deploy.md, "Renewing the upstream client certificate".`,
      }),
    };
    this.dashboard = this.buildDashboard(props, { authorizerFailures, throttled, iteratorAge, dlqDepth });
  }

  private encryptedTopic(): Topic {
    // CloudWatch must be able to use the key: an AWS-managed SNS key's policy does not let it.
    const key = new Key(this, 'AlarmTopicKey', { description: 'Tollgate: encrypts the alarm topic', enableKeyRotation: true });
    // Only on behalf of this account's alarms (confused deputy: another account's alarm could otherwise publish through our key).
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'Tollgate alarms', masterKey: key, enforceSSL: true });
    // A topic policy replaces SNS's default one, which let the account's alarms publish: with only
    // `enforceSSL`'s Deny in it, no alarm could notify. So this account's alarms, and only those.
    const stack = Stack.of(this);
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );
    return topic;
  }

  /**
   * Requests API Gateway answered itself with one of `errorTypes`, counted from the access
   * log under the dimension {@link GATEWAY_METRIC_DIMENSION}: a metric filter takes a
   * dimension's value from a field of the matched line, and the line's `apiId` is this
   * deployment's REST API, whose id the returned metric reads.
   */
  private accessLogCount(id: string, metricName: string, errorTypes: readonly string[], gateway: Gateway): CloudWatchMetric {
    const errorType = `$.${fieldName('errorType')}`;
    const filter = new MetricFilter(this, id, {
      logGroup: gateway.accessLogs,
      filterPattern: FilterPattern.any(...errorTypes.map((type) => FilterPattern.stringValue(errorType, '=', type))),
      metricNamespace: METRICS_NAMESPACE,
      metricName,
      metricValue: '1',
      dimensions: { [GATEWAY_METRIC_DIMENSION]: `$.${fieldName('apiId')}` },
    });
    return filter.metric({
      statistic: 'Sum',
      period: Duration.minutes(1),
      dimensionsMap: { [GATEWAY_METRIC_DIMENSION]: gateway.api.restApiId },
    });
  }

  /**
   * Which clients are throttled most: a Contributor Insights rule ranks the access log's
   * client ids among throttled requests. Top-N keeps the cardinality bounded, where a
   * metric dimension per client would make one CloudWatch metric per client.
   */
  private topThrottledClients(logGroup: ILogGroup): CfnInsightRule {
    return accessLogInsightRule(this, 'TopThrottledClients', 'top-throttled-clients', logGroup, {
      Keys: [`$.${fieldName('clientId')}`],
      Filters: [{ Match: `$.${fieldName('errorType')}`, In: [...THROTTLING_ERROR_TYPES] }],
    });
  }

  private alarm(id: string, spec: AlarmSpec): Alarm {
    return topicAlarm(this, id, this.alarmTopic, spec);
  }

  private buildDashboard(
    props: ObservabilityProps,
    shared: { readonly authorizerFailures: IMetric; readonly throttled: IMetric; readonly iteratorAge: IMetric; readonly dlqDepth: IMetric },
  ): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: tollgateDashboardName(this) });
    const { gateway, functions } = props;
    const decisions = Object.values(DecisionOutcome).map((outcome) =>
      tollgateMetric(functions, 'decision', 'Sum', { dimensions: { [MetricDimension.outcome]: outcome }, label: outcome }),
    );
    dashboard.addWidgets(
      new TextWidget({
        markdown: '# Tollgate\nAlarms notify the stack output **AlarmTopicArn**. Rotation: open the **RotationFunctionName** function.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Authorizer decisions by outcome', decisions),
      graph('Authorizer latency (ms)', [
        tollgateMetric(functions, 'authorizerLatencyMs', 'p50', { label: 'p50' }),
        tollgateMetric(functions, 'authorizerLatencyMs', 'p99', { label: 'p99' }),
        functions.authorizer.fn.metricDuration({ statistic: 'p99', label: 'Lambda duration p99' }),
      ]),
      graph('Revocation view age (ms) and feed read failures', [
        tollgateMetric(functions, 'revocationViewAgeMs', 'p99', { label: 'view age p99' }),
        tollgateMetric(functions, 'revocationViewAgeMs', 'Maximum', { label: 'view age max' }),
        tollgateMetric(functions, 'revocationFeedReadFailures', 'Sum', { label: 'feed read failures' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Fan-out iterator age (ms) and DLQ depth', [shared.iteratorAge, shared.dlqDepth]),
      graph('Fan-out: revocations, lag and cache flushes', [
        tollgateMetric(functions, 'revocationsFannedOut', 'Sum', { label: 'revocations fanned out' }),
        tollgateMetric(functions, 'revocationFanoutLagMs', 'p99', { label: 'write → feed lag p99 (ms)' }),
        tollgateMetric(functions, 'cacheFlushFailures', 'Sum', { label: 'cache flush failures' }),
        functions.fanout.fn.metricErrors({ label: 'fan-out errors' }),
      ]),
      graph('Gateway', [
        gateway.api.metricCount({ label: 'requests' }),
        gateway.api.metricClientError({ label: '4xx' }),
        gateway.api.metricServerError({ label: '5xx' }),
        shared.authorizerFailures,
        shared.throttled,
      ]),
    );
    dashboard.addWidgets(
      graph('Rotation outcome', [
        tollgateMetric(functions, 'rotationSucceeded', 'Sum', { period: Duration.hours(1), label: 'succeeded' }),
        tollgateMetric(functions, 'rotationFailed', 'Sum', { period: Duration.hours(1), label: 'failed' }),
      ]),
      new SingleValueWidget({
        title: 'Signing key, API key and certificate hygiene',
        width: 8,
        metrics: [
          tollgateMetric(functions, 'activeKeyAgeSeconds', 'Maximum', { period: Duration.hours(1), label: 'active key age (s)' }),
          tollgateMetric(functions, 'keysExpiring', 'Maximum', { period: Duration.hours(1), label: 'API keys expiring' }),
          tollgateMetric(functions, 'keysStale', 'Maximum', { period: Duration.hours(1), label: 'API keys stale' }),
          tollgateMetric(functions, 'upstreamCertificateSecondsLeft', 'Minimum', { period: Duration.hours(1), label: 'upstream certificate left (s)' }),
        ],
      }),
      graph('Token issuance', [
        tollgateMetric(functions, 'tokensIssued', 'Sum', { label: 'issued' }),
        tollgateMetric(functions, 'issuanceErrors', 'Sum', { label: 'issuance errors' }),
        functions.token.fn.metricErrors({ label: 'token function errors' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Leak response', [
        tollgateMetric(functions, 'leakedKeys', 'Sum', { label: 'live keys reported leaked' }),
        tollgateMetric(functions, 'leakSignatureFailures', 'Sum', { label: 'refused signatures' }),
        functions.leaks.fn.metricInvocations({ label: 'reports (invocations)' }),
        functions.leaks.fn.metricErrors({ label: 'leak function errors' }),
      ]),
    );
    return dashboard;
  }
}

function graph(title: string, metrics: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left: metrics, width: 8, height: 6 });
}
