/**
 * A function's Powertools logger and metrics, both under its service name
 * (`serviceNameFrom`: `<deployment>-<function>` when deployed) and the metrics under
 * `METRICS_NAMESPACE`, so every function's log lines and metrics are found the same way.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { type MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { FunctionName } from '../../../common/functions';
import { serviceNameFrom } from '../../../common/metrics';
import { METRICS_NAMESPACE } from '../../../common/names';
import type { Environment } from './options';

/** What an HTTP function's handler records metrics with: Powertools' `Metrics`, or a test's counter. */
export interface MetricsRecorder {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
}

export function powertoolsLogger(fn: FunctionName, env: Environment = process.env): Logger {
  return new Logger({ serviceName: serviceNameFrom(env, fn) });
}

export function powertoolsMetrics(fn: FunctionName, env: Environment = process.env): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceNameFrom(env, fn) });
}
