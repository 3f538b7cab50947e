/**
 * Usage metering (docs/usage.md): the stage's access log → a CloudWatch Logs subscription
 * filter → the metering function, which counts every request into the usage table, enforces
 * metered quotas and flags anomalies. A subscription invokes the function asynchronously:
 * Lambda retries a failed delivery twice, then hands it to an encrypted dead-letter queue
 * (the batch is idempotent, so a replay from there counts nothing twice).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { type Alarm, type CfnInsightRule, ComparisonOperator, GraphWidget, type IMetric, MathExpression, type Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { FilterPattern, SubscriptionFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { putOwnEventsStatement } from './events';
import { Env } from '../common/names';
import { DENIAL_REASONS, MeteringDeliveryRetry } from '../common/usage';
import { MetricDimension } from '../common/metrics';
import type { TollgateTables } from './data';
import { TollgateFunction } from './function';
import { accessLogInsightRule, fieldName } from './access-log-insights';
import { tollgateMetric, topicAlarm } from './observability';

/** Metering this far behind the gateway makes quotas overshoot by minutes, not seconds. */
export const METERING_LAG_ALARM_MS = 120_000;
/** Flags per hour across all clients that page an operator (one is an event, many is an attack or a bad threshold). */
export const ANOMALY_RATE_ALARM_PER_HOUR = 20;

export interface UsageMeteringProps {
  readonly tables: TollgateTables;
  /** The stage's access log (`Gateway.accessLogs`). */
  readonly accessLogs: ILogGroup;
  /** Settings from the stack's configuration (`functionSettings(config).metering`). */
  readonly environment: Readonly<Record<string, string>>;
  /** Where `UsageLimitApproaching`, `UsageQuotaExceeded` and `UsageAnomaly` go. @default the account's default bus */
  readonly eventBus?: IEventBus;
}

export class UsageMetering extends Construct {
  readonly function: TollgateFunction;
  /** Deliveries that failed every retry. */
  readonly dlq: Queue;
  /** Contributor Insights: the clients with the most requests, from the access log. */
  readonly topClients: CfnInsightRule;

  constructor(scope: Construct, id: string, props: UsageMeteringProps) {
    super(scope, id);
    const eventBus = props.eventBus ?? EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.dlq = new Queue(this, 'Dlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(this.dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself the dead-letter destination of the metering function's failed deliveries.",
    });
    this.function = new TollgateFunction(this, 'Metering', {
      name: 'metering',
      tables: props.tables,
      // A delivery holds up to thousands of lines; its transactions run eight at a time.
      timeout: Duration.seconds(60),
      memorySize: 256,
      environment: { ...props.environment, [Env.eventBusName]: eventBus.eventBusName },
    });
    this.function.fn.configureAsyncInvoke({
      retryAttempts: MeteringDeliveryRetry.retryAttempts,
      maxEventAge: Duration.hours(MeteringDeliveryRetry.maxEventAgeHours),
      onFailure: new SqsDestination(this.dlq),
    });
    // Only events of our own source, as the rotation function's.
    this.function.role.addToPolicy(putOwnEventsStatement(eventBus.eventBusArn));
    // Every line: a request the filter dropped would be a request not counted.
    new SubscriptionFilter(this, 'AccessLogSubscription', {
      logGroup: props.accessLogs,
      destination: new LambdaDestination(this.function.fn),
      filterPattern: FilterPattern.allEvents(),
    });
    // Requests with a verified client (the field is "-" otherwise).
    const clientId = `$.${fieldName('clientId')}`;
    this.topClients = accessLogInsightRule(this, 'TopClients', 'top-clients', props.accessLogs, {
      Keys: [clientId],
      Filters: [{ Match: clientId, NotIn: ['-'] }],
    });
  }

  /** The pipeline's alarms, sent to the stack's alarm topic, and its dashboard row. */
  observe(dashboard: Dashboard, topic: ITopic): Alarm[] {
    const emitters = { metering: this.function };
    const errors = this.function.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' });
    const dlqDepth = this.dlq.metric('ApproximateNumberOfMessagesVisible', { statistic: 'Maximum', period: Duration.minutes(1) });
    const lag = tollgateMetric(emitters, 'meteringLagMs', 'p99', { period: Duration.minutes(5) });
    const ignored = tollgateMetric(emitters, 'meteringIgnoredLines', 'Sum', { period: Duration.minutes(5) });
    const anomalies = tollgateMetric(emitters, 'usageAnomalies', 'Sum', { period: Duration.hours(1) });
    const alarm = (id: string, metric: IMetric, threshold: number, description: string, comparison?: ComparisonOperator) =>
      topicAlarm(this, id, topic, { metric, threshold, description, ...(comparison && { comparison }) });
    const alarms = [
      alarm(
        'MeteringErrors',
        errors,
        1,
        'The metering function failed a delivery (retried twice, then to its DLQ): usage counts, quotas and anomaly detection lag. See its logs.',
      ),
      alarm(
        'MeteringDlqNotEmpty',
        dlqDepth,
        1,
        'Access-log deliveries failed every retry: requests are missing from the meters. Replay them from the DLQ (batches are idempotent).',
      ),
      alarm(
        'MeteringLag',
        lag,
        METERING_LAG_ALARM_MS,
        'Metering runs more than 2 minutes behind the gateway: quotas overshoot and anomalies are flagged late.',
        ComparisonOperator.GREATER_THAN_THRESHOLD,
      ),
      alarm(
        'MeteringIgnoredLines',
        ignored,
        1,
        'The metering function was delivered access-log lines it could not read, so their requests are not counted (quotas, anomalies). Expected for a few seconds after an upgrade that changed the line format (docs/deploy.md). The metering logs give only the count per delivery (the lines hold client paths): find the lines in the stage access-log group at the alarm time, e.g. with Logs Insights, as those whose last field is not path.',
      ),
      alarm(
        'UsageAnomalyRate',
        anomalies,
        ANOMALY_RATE_ALARM_PER_HOUR,
        `${ANOMALY_RATE_ALARM_PER_HOUR} or more usage anomalies in an hour: an attack on several keys, or thresholds too tight. tollgate anomalies lists them.`,
      ),
    ];
    dashboard.addWidgets(
      new GraphWidget({ title: 'Metering: lines and lag (p99)', left: [tollgateMetric(emitters, 'meteredLines', 'Sum')], right: [lag], width: 8 }),
      new GraphWidget({
        title: 'Metering: quota suspensions and anomalies',
        left: [tollgateMetric(emitters, 'quotaSuspensions', 'Sum'), tollgateMetric(emitters, 'usageAnomalies', 'Sum')],
        width: 8,
      }),
      new GraphWidget({ title: 'Metering: errors and DLQ', left: [errors, dlqDepth], width: 8 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Denied requests by reason (metered)',
        left: DENIAL_REASONS.map((reason) =>
          tollgateMetric(emitters, 'deniedRequests', 'Sum', { dimensions: { [MetricDimension.reason]: reason }, label: reason }),
        ),
        stacked: true,
        width: 12,
      }),
      // The rule's own top-N view is in the Contributor Insights console; here, its busiest client and the number of active ones.
      new GraphWidget({
        title: 'Clients (Contributor Insights rule TopClients)',
        left: [
          new MathExpression({
            expression: `INSIGHT_RULE_METRIC("${this.topClients.attrRuleName}", "MaxContributorValue")`,
            label: 'busiest client: requests/min',
            period: Duration.minutes(1),
          }),
        ],
        right: [
          new MathExpression({
            expression: `INSIGHT_RULE_METRIC("${this.topClients.attrRuleName}", "UniqueContributors")`,
            label: 'active clients',
            period: Duration.minutes(1),
          }),
        ],
        width: 12,
      }),
    );
    return alarms;
  }
}
