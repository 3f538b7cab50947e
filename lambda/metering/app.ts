/**
 * The metering function (docs/usage.md), wired once per execution environment: the stage's
 * access log, through a CloudWatch Logs subscription, into the usage table. A failure
 * throws, so Lambda retries the delivery and then sends it to the DLQ.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { Metric, MetricDimension } from '../../common/metrics';
import { documentClient } from '../adapters/clients/dynamodb';
import { powertoolsLogger, powertoolsMetrics } from '../adapters/clients/powertools';
import { DynamoUsageStore } from '../adapters/usage-store';
import { DynamoUsageQuotaStore } from '../adapters/usage-quota-store';
import { EventBridgePublisher } from '../adapters/event-publisher';
import { eventBridgeClient } from '../adapters/clients/eventbridge';
import { QuotaEnforcer, quotaPorts } from '../core/usage/usage-quota';
import { AnomalyMonitor } from '../core/usage/usage-anomaly';
import { DynamoUsageAnomalyStore } from '../adapters/usage-anomaly-store';
import { anomalyPorts } from '../core/usage/usage-anomaly-ports';
import { loggerAudit } from '../http/audit';
import { RouteLabeler } from '../core/usage/usage-meter';
import { createMetering } from './metering';
import { readMeteringConfig } from './config';

const config = readMeteringConfig(process.env);
const logger = powertoolsLogger('metering');
const metrics = powertoolsMetrics('metering');
const doc = documentClient();
const events = new EventBridgePublisher(eventBridgeClient(), config.eventBusName);
const quotaStore = new DynamoUsageQuotaStore(doc, { clients: config.clientsTable, usage: config.usageTable, apiKeys: config.apiKeysTable });
const meter = createMetering({
  sink: new DynamoUsageStore(doc, config.usageTable, config.retention, config.clientsTable),
  quotas: new QuotaEnforcer(
    quotaPorts(quotaStore, (event) => events.publish([event])),
    Date.now,
  ),
  anomalies: new AnomalyMonitor(
    anomalyPorts(
      new DynamoUsageAnomalyStore(doc, { clients: config.clientsTable, usage: config.usageTable, apiKeys: config.apiKeysTable }),
      quotaStore,
      loggerAudit(logger),
      (event) => events.publish([event]),
    ),
    Date.now,
    config.anomaly,
  ),
  routes: new RouteLabeler(config.routes),
  now: Date.now,
});

/** Meters one delivery, then logs and publishes its summary. */
export const meterDelivery = async (event: CloudWatchLogsEvent): Promise<void> => {
  const summary = await meter(event);
  if (summary === undefined) return;
  logger.info('metered', { ...summary });
  metrics.addMetric(Metric.meteredLines, MetricUnit.Count, summary.lines);
  metrics.addMetric(Metric.meteringIgnoredLines, MetricUnit.Count, summary.ignored);
  metrics.addMetric(Metric.meteringDuplicates, MetricUnit.Count, summary.duplicates);
  metrics.addMetric(Metric.meteringLagMs, MetricUnit.Milliseconds, summary.lagMs);
  metrics.addMetric(Metric.quotaSuspensions, MetricUnit.Count, summary.quotas.filter((q) => q.outcome === 'suspended').length);
  metrics.addMetric(Metric.usageAnomalies, MetricUnit.Count, summary.anomalies.length);
  // One metric per reason (a bounded set), each with its own dimension.
  for (const [reason, count] of Object.entries(summary.deniedBy)) {
    const single = metrics.singleMetric();
    single.addDimension(MetricDimension.reason, reason);
    single.addMetric(Metric.deniedRequests, MetricUnit.Count, count);
  }
  metrics.publishStoredMetrics();
};
