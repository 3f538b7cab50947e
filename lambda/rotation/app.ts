/**
 * Wiring of the rotation function: configuration read once, SDK clients and adapters
 * built once per execution environment, and the edge where an invocation's event becomes
 * a request and the outcome becomes a report, a log line and metrics. The handler module
 * builds this from `process.env`; tests build it with an injected clock.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { apiGatewayClient } from '../adapters/clients/api-gateway';
import { documentClient } from '../adapters/clients/dynamodb';
import { eventBridgeClient } from '../adapters/clients/eventbridge';
import { kmsClient } from '../adapters/clients/kms';
import { powertoolsLogger, powertoolsMetrics } from '../adapters/clients/powertools';
import { DynamoApiKeyHygiene } from '../adapters/api-key-hygiene';
import { ApiGatewayClientCertificates } from '../adapters/client-certificates';
import { EventBridgePublisher } from '../adapters/event-publisher';
import { KmsKeyManager } from '../adapters/kms-key-manager';
import { DynamoSigningKeyStore } from '../adapters/signing-key-store';
import { rotationConfig } from './config';
import {
  CompromiseNotApplied,
  CompromiseNotReplaced,
  CompromiseUnreported,
  describeError,
  InvalidRotationRequest,
  RingConflict,
  RingInvariantViolation,
  RotationStepFailed,
  UnknownSigningKey,
} from '../core/rotation/rotation-errors';
import type { KeyManager, MetricsSink } from '../core/rotation/rotation-ports';
import { runSummary, type RotationReport } from '../core/rotation/rotation-report';
import { parseRotationRequest } from '../core/rotation/rotation-request';
import { createRotationService, RotationMetric } from '../core/rotation/rotation-service';

type Environment = Readonly<Record<string, string | undefined>>;

export interface RotationAppOptions {
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Wraps the KMS key manager (tests inject failures through it). */
  readonly keyManager?: (real: KeyManager) => KeyManager;
}

export interface RotationApp {
  handle(event: unknown): Promise<RotationReport>;
}

/** Errors whose message already tells the console user what happened and what to do. */
const TYPED_ERRORS = [
  InvalidRotationRequest,
  UnknownSigningKey,
  RingConflict,
  RingInvariantViolation,
  RotationStepFailed,
  CompromiseNotApplied,
  CompromiseNotReplaced,
  CompromiseUnreported,
];

export function createRotationApp(env: Environment, options: RotationAppOptions = {}): RotationApp {
  const config = rotationConfig(env);
  const doc = documentClient(env);
  const logger = powertoolsLogger('rotation', env);
  const metrics = powertoolsMetrics('rotation', env);
  const kms = new KmsKeyManager(kmsClient(env), config.tables.signingKeys, config.timing.deletionWindowDays);
  const service = createRotationService({
    store: new DynamoSigningKeyStore(doc, config.tables.signingKeys),
    keys: options.keyManager ? options.keyManager(kms) : kms,
    hygiene: new DynamoApiKeyHygiene(doc, config.tables.apiKeys),
    events: new EventBridgePublisher(eventBridgeClient(env), config.eventBusName),
    metrics: powertoolsSink(metrics),
    warnings: { warn: (message, details) => logger.warn(message, { ...details }) },
    settings: config,
    ...(config.upstreamCertificates && {
      upstreamCertificates: { source: new ApiGatewayClientCertificates(apiGatewayClient(env)), certificates: config.upstreamCertificates },
    }),
    now: options.now ?? Date.now,
  });

  return {
    async handle(event) {
      try {
        const report = await service.run(parseRotationRequest(event));
        // A run that left a due step undone (reported as a problem) counts as failed: the next run retries it.
        metrics.addMetric(report.problems.length ? RotationMetric.failed : RotationMetric.succeeded, MetricUnit.Count, 1);
        logger.info('rotation run', runSummary(report));
        return report;
      } catch (error) {
        metrics.addMetric(RotationMetric.failed, MetricUnit.Count, 1);
        logger.error('rotation run failed', { error: describeError(error) });
        throw TYPED_ERRORS.some((type) => error instanceof type) ? error : new RotationStepFailed('the rotation run', error);
      } finally {
        metrics.publishStoredMetrics();
      }
    },
  };
}

function powertoolsSink(metrics: Metrics): MetricsSink {
  return {
    record: (name, value, unit) => metrics.addMetric(name, unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count, value),
  };
}
