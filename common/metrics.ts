/**
 * The CloudWatch metrics the functions emit (EMF, namespace `METRICS_NAMESPACE`) and the
 * stack's dashboard and alarms read. Emitters and readers both take the names from here:
 * a metric emitted under another name, or with other dimensions, is a metric no alarm
 * watches, because CloudWatch identifies a metric by namespace + name + the exact set of
 * dimensions.
 *
 * Dimensions: Powertools Metrics adds `service` to every metric: the function's
 * `POWERTOOLS_SERVICE_NAME` ({@link serviceNameFrom}), which the stack sets to
 * `<deployment>-<function>` (`TollgateFunction.serviceName`, e.g. `Tollgate-authorizer`, or
 * `Orders_Auth-authorizer` for a `Tollgate` construct `Auth` in stack `Orders`). The
 * deployment is part of the value because every Tollgate in an account and Region writes to
 * one namespace: with the function alone, staging's failures would fire prod's alarms and
 * each dashboard would sum both. The alarms and dashboard read the value from the same
 * `TollgateFunction`, so they always watch what their own functions emit. Emit each metric
 * with exactly the dimensions listed in {@link MetricDimensions}; a metric that needs an
 * extra dimension (`outcome`) is emitted as a single metric (`metrics.singleMetric()`), so
 * the extra dimension does not leak onto the other metrics of the same flush.
 */
import type { FunctionName } from './functions';

export const Metric = {
  /** Authorizer: one per decision, dimension `outcome` ({@link DecisionOutcome}). Count. */
  decision: 'AuthorizerDecision',
  /** Authorizer: time from event to decision inside the handler. Milliseconds. */
  authorizerLatencyMs: 'AuthorizerLatencyMs',
  /** Authorizer: age of the revocation view a decision used (now − last successful feed read). Milliseconds. */
  revocationViewAgeMs: 'RevocationViewAgeMs',
  /** Authorizer: a revocation-feed read failed (the instance kept its last view). Count. */
  revocationFeedReadFailures: 'RevocationFeedReadFailures',
  /** Token function: access tokens issued. Count. */
  tokensIssued: 'TokensIssued',
  /** Token function: an exchange failed on our side (KMS, DynamoDB), i.e. a 5xx, not a refused client. Count. */
  issuanceErrors: 'TokenIssuanceErrors',
  /** Fan-out: revocations appended to the feed. Count. */
  revocationsFannedOut: 'RevocationsFannedOut',
  /** Fan-out: a FlushStageAuthorizersCache call failed. Count. */
  cacheFlushFailures: 'AuthorizerCacheFlushFailures',
  /** Fan-out: a revocation whose idempotency marker already existed (a replayed stream record); nothing written. Count. */
  revocationDuplicatesSkipped: 'RevocationDuplicatesSkipped',
  /** Fan-out: a stream record no retry can read (malformed, or from an unknown table), acknowledged and logged. Count. */
  fanoutRecordsDiscarded: 'FanoutRecordsDiscarded',
  /** Fan-out: from the revocation write (`revokedAt`, 1 s resolution) to its feed entry. Milliseconds. */
  revocationFanoutLagMs: 'RevocationFanoutLagMs',
  /** Rotation: a run (any action) completed with the ring valid and every due step done. Count. */
  rotationSucceeded: 'RotationSucceeded',
  /** Rotation: a run failed or left a due step undone (the next run retries). Count. */
  rotationFailed: 'RotationFailed',
  /** Rotation: age of the active signing key, emitted by every run that finishes while the ring has one. Seconds. */
  activeKeyAgeSeconds: 'ActiveSigningKeyAgeSeconds',
  /** Rotation (hygiene): active API keys expiring within `expiryWarningDays`. Count. */
  keysExpiring: 'ApiKeysExpiring',
  /** Rotation (hygiene): active API keys unused for `staleKeyDays`. Count. */
  keysStale: 'ApiKeysStale',
  /** Rotation: time until the client certificate the stage presents to the upstream expires, emitted by every step and status run. Seconds. */
  upstreamCertificateSecondsLeft: 'UpstreamCertificateSecondsLeft',
  /** Leaks: a `POST /secret-scanning/github` refused for its signature (missing, malformed, unknown key, wrong). Count. */
  leakSignatureFailures: 'LeakSignatureFailures',
  /** Leaks: live keys reported leaked (revoked, or reported to a `notify` client). Count. */
  leakedKeys: 'LeakedKeys',
  /** Metering: access-log lines read per delivery. Count. */
  meteredLines: 'MeteredLines',
  /**
   * Metering: lines of a delivery that are not access-log lines of the current format (a
   * format upgrade's last old lines, or a line that does not parse), so no request of theirs
   * is counted. Count.
   */
  meteringIgnoredLines: 'MeteringIgnoredLines',
  /** Metering: now minus the oldest line's time when a delivery is applied. Milliseconds. */
  meteringLagMs: 'MeteringLagMs',
  /** Metering: client-minutes of a redelivered batch that were already applied (left as they were). Count. */
  meteringDuplicates: 'MeteringDuplicateMinutes',
  /** Metering: clients suspended for a used-up metered quota. Count. */
  quotaSuspensions: 'QuotaSuspensions',
  /** Metering: usage anomalies flagged. Count. */
  usageAnomalies: 'UsageAnomalies',
  /** Metering: requests the gateway refused, dimension `reason` (`DENIAL_REASONS`). Count. */
  deniedRequests: 'DeniedRequests',
} as const;
export type MetricName = (typeof Metric)[keyof typeof Metric];

export const MetricDimension = {
  /** Added by Powertools to every metric. */
  service: 'service',
  outcome: 'outcome',
  reason: 'reason',
} as const;

/** Values of the `outcome` dimension of {@link Metric.decision}. */
export const DecisionOutcome = {
  /** Allow policy returned. */
  allow: 'allow',
  /** Deny policy returned (403: insufficient scope or unmatched route). */
  forbidden: 'forbidden',
  /** `Unauthorized` thrown (401: missing, invalid, expired or revoked token). */
  unauthorized: 'unauthorized',
  /** No decision possible (revocation view too old, key ring never loaded): 503 through AUTHORIZER_FAILURE. */
  unavailable: 'unavailable',
} as const;
export type DecisionOutcome = (typeof DecisionOutcome)[keyof typeof DecisionOutcome];

/** The function that emits each metric, hence the value of its `service` dimension. */
export const METRIC_EMITTER: { readonly [K in keyof typeof Metric]: FunctionName } = {
  decision: 'authorizer',
  authorizerLatencyMs: 'authorizer',
  revocationViewAgeMs: 'authorizer',
  revocationFeedReadFailures: 'authorizer',
  tokensIssued: 'token',
  issuanceErrors: 'token',
  revocationsFannedOut: 'fanout',
  cacheFlushFailures: 'fanout',
  revocationDuplicatesSkipped: 'fanout',
  fanoutRecordsDiscarded: 'fanout',
  revocationFanoutLagMs: 'fanout',
  rotationSucceeded: 'rotation',
  rotationFailed: 'rotation',
  activeKeyAgeSeconds: 'rotation',
  keysExpiring: 'rotation',
  keysStale: 'rotation',
  upstreamCertificateSecondsLeft: 'rotation',
  leakSignatureFailures: 'leaks',
  leakedKeys: 'leaks',
  meteredLines: 'metering',
  meteringIgnoredLines: 'metering',
  meteringLagMs: 'metering',
  meteringDuplicates: 'metering',
  quotaSuspensions: 'metering',
  usageAnomalies: 'metering',
  deniedRequests: 'metering',
};

/** Dimensions each metric is emitted with, besides `service`. */
export const MetricDimensions: { readonly [K in keyof typeof Metric]?: readonly (typeof MetricDimension)[keyof typeof MetricDimension][] } = {
  decision: [MetricDimension.outcome],
  deniedRequests: [MetricDimension.reason],
};

/** Powertools' variable for the `service` of logs and metrics; the stack sets it per function. */
export const SERVICE_NAME_ENV = 'POWERTOOLS_SERVICE_NAME';

/**
 * The `service` of a function no deployment named (tests, benchmarks, local mode), and so of
 * its metrics. A deployed function's is `<deployment>-<function>` ({@link serviceNameFrom}).
 */
export function serviceName(fn: FunctionName): string {
  return `tollgate-${fn}`;
}

/**
 * The `service` a function logs and emits its metrics with, read once at cold start:
 * `POWERTOOLS_SERVICE_NAME` as the stack set it, else {@link serviceName}. Handlers pass it to
 * `Logger` and `Metrics` explicitly, because Powertools prefers an explicit `serviceName` to
 * the variable: a constant there would put every deployment's metrics in one series again.
 */
export function serviceNameFrom(env: Readonly<Record<string, string | undefined>>, fn: FunctionName): string {
  return env[SERVICE_NAME_ENV]?.trim() || serviceName(fn);
}
