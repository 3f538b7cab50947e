/**
 * The metering function (docs/usage.md): the stage's access log, through a CloudWatch Logs
 * subscription, into the usage table. Configuration and clients are built once per
 * execution environment; a failure throws, so Lambda retries the delivery and then sends it
 * to the DLQ.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../../common/config';
import { documentClient } from '../adapters/clients/dynamodb';
import { DynamoUsageStore } from '../adapters/usage-store';
import { RouteLabeler } from '../core/usage-meter';
import { createMetering } from './app';
import { readMeteringConfig } from './config';

const config = readMeteringConfig(process.env);
const logger = new Logger();
const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
const meter = createMetering({
  sink: new DynamoUsageStore(documentClient(), config.usageTable, config.retention),
  routes: new RouteLabeler(config.routes),
  now: Date.now,
});

export const handler = async (event: CloudWatchLogsEvent): Promise<void> => {
  const summary = await meter(event);
  if (summary === undefined) return;
  logger.info('metered', { ...summary });
  metrics.addMetric('MeteredLines', MetricUnit.Count, summary.lines);
  metrics.addMetric('MeteringDuplicateMinutes', MetricUnit.Count, summary.duplicates);
  metrics.addMetric('MeteringLagMs', MetricUnit.Milliseconds, summary.lagMs);
  metrics.publishStoredMetrics();
};
