/**
 * The leak function: `POST /secret-scanning/github` (GitHub's secret-scanning partner
 * program) and `POST /leaks/revoke` (anyone). Both are public at the gateway; GitHub's
 * reports are trusted only once their signature verifies, the public endpoint's because a
 * caller who holds a key may always revoke it. Configuration is read once (cold start).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { GITHUB_TOKEN_TYPE, GitHubHeader, LeakLimits, LeakPath, type LeakLabel } from '../../common/leaks';
import { Metric } from '../../common/metrics';
import { EventBridgePublisher } from '../adapters/event-publisher';
import { httpKeyList } from '../adapters/github-key-list';
import { DynamoLeakStore } from '../adapters/leak-store';
import { hashApiKey } from '../core/credentials/api-keys';
import { GitHubSignatureVerifier, KeyListUnavailable, type KeyListSource } from '../core/leaks/github-signature';
import { DEFAULT_RETRY_AFTER_SECONDS, InvalidRequest, InvalidSignature, TemporarilyUnavailable } from '../core/shared/issuance-errors';
import { labelOf, LeakResponder, type LeakOutcome, type LeakReport } from '../core/leaks/leak-response';
import { loggerAudit } from '../http/audit';
import { bodyBytes, header, jsonBody, type ProxyEvent } from '../http/request';
import { json } from '../http/response';
import { proxyHandler } from '../http/router';
import { keysUrlFrom, readLeaksConfig } from './config';
import { documentClient } from '../adapters/clients/dynamodb';
import { withDeadline } from '../adapters/clients/deadline';
import { type MetricsRecorder, powertoolsLogger, powertoolsMetrics } from '../adapters/clients/powertools';
import { eventBridgeClient } from '../adapters/clients/eventbridge';

type Environment = Readonly<Record<string, string | undefined>>;

export interface LeakAppDependencies {
  readonly env: Environment;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventBridgeClient;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** GitHub's key list; default: fetched from `secretScanningKeysUrl`. */
  readonly keyList?: KeyListSource;
  /** The request budget (`withDeadline`); default `LeakLimits.requestBudgetMs`. */
  readonly budgetMs?: number;
}

/** One entry of GitHub's token-analysis feedback: the token by its SHA-256, never echoed raw. */
export interface GitHubFeedback {
  readonly token_hash: string;
  readonly token_type: string;
  readonly label: LeakLabel;
}

export function createLeakHandler(deps: LeakAppDependencies): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  const now = deps.now ?? Date.now;
  const { tables, eventBusName } = readLeaksConfig(deps.env);
  const store = new DynamoLeakStore(deps.doc, { apiKeys: tables.apiKeys, clients: tables.clients });
  const audit = loggerAudit(deps.logger);
  const responder = new LeakResponder({
    apiKeys: store.apiKeys,
    clients: store.clients,
    events: new EventBridgePublisher(deps.events, eventBusName),
    audit,
    now,
    newReportId: randomUUID,
  });
  const verifier = new GitHubSignatureVerifier(deps.keyList ?? httpKeyList(keysUrlFrom(deps.env)), now);
  let pending = false;
  const count = (metric: string, value: number) => {
    if (value === 0) return;
    deps.metrics.addMetric(metric, MetricUnit.Count, value);
    pending = true;
  };
  // Powertools warns on every flush with nothing in it: most requests count nothing.
  const flush = () => {
    if (pending) deps.metrics.publishStoredMetrics();
    pending = false;
  };

  const github = async (event: ProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      // Raw bytes, bounded: the signature is over exactly what GitHub sent (UTF-8 JSON, which
      // API Gateway hands over as a string without changing a byte).
      const body = bodyBytes(event, LeakLimits.maxBodyBytes);
      const verdict = await verifier.verify(header(event, GitHubHeader.keyIdentifier), header(event, GitHubHeader.signature), body).catch((error: unknown) => {
        if (!(error instanceof KeyListUnavailable)) throw error;
        deps.logger.error('GitHub secret-scanning key list unavailable', { error: error.message });
        throw new TemporarilyUnavailable(
          'secret_scanning_keys_unavailable',
          DEFAULT_RETRY_AFTER_SECONDS,
          'The signature cannot be checked right now; retry later.',
        );
      });
      if (!verdict.ok) {
        count(Metric.leakSignatureFailures, 1);
        deps.logger.warn('secret-scanning report refused', { reason: verdict.reason, keyIdentifier: header(event, GitHubHeader.keyIdentifier) });
        throw new InvalidSignature('The request is not signed by a key GitHub lists for secret scanning.');
      }
      const { reports, malformed } = parseGitHubReports(event, body);
      if (malformed > 0)
        deps.logger.warn('secret-scanning report: matches without a string token labelled false_positive', { malformed, matches: reports.length });
      const outcomes = await responder.handle(reports, 'github');
      count(Metric.leakedKeys, announced(reports, outcomes));
      const feedback: GitHubFeedback[] = reports.map((report, index) => ({
        token_hash: hashApiKey(report.token),
        token_type: report.type ?? GITHUB_TOKEN_TYPE,
        label: labelOf(outcomes[index]!),
      }));
      return json(200, feedback);
    } finally {
      flush();
    }
  };

  const revoke = async (event: ProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const credentials = parseCredentials(event);
      const reports = credentials.map((token) => ({ token }));
      count(Metric.leakedKeys, announced(reports, await responder.handle(reports, 'public')));
      // The same answer whatever was sent: the endpoint is no oracle for which keys are live.
      return json(202, { status: 'accepted' });
    } finally {
      flush();
    }
  };

  // Every DynamoDB and EventBridge call of a request shares one budget: a slow table ends the
  // request with 503 and Retry-After (DependencyUnavailable), never API Gateway's 504.
  const budgetMs = deps.budgetMs ?? LeakLimits.requestBudgetMs;
  const handle = proxyHandler({ [LeakPath.github]: { POST: github }, [LeakPath.revoke]: { POST: revoke } }, deps.logger);
  return (event) => withDeadline(budgetMs, () => handle(event));
}

/**
 * Keys this request announced (`LeakedKeys`, which the LeakVolume alarm sums): a key listed
 * twice counts once, and GitHub's retries count only what the first request left unannounced.
 */
function announced(reports: readonly LeakReport[], outcomes: readonly LeakOutcome[]): number {
  return new Set(reports.filter((_, index) => outcomes[index] === 'revoked' || outcomes[index] === 'notified').map((report) => report.token)).size;
}

/**
 * GitHub's body: a JSON array of `{token, type, url, source}`. Once the signature holds, only a
 * body that is no non-empty array is refused: one odd match must not cost the others their
 * revocation. A `type`, `url` or `source` that is not a string is absent (GitHub documents
 * `url` as possibly empty); a match that is no object or has no string `token` is a report
 * of the empty string, which no key is: labelled `false_positive`, never revoked. Every match
 * is handled however many there are (GitHub expects large batches, and the body is bounded).
 */
export function parseGitHubReports(event: ProxyEvent, body: Buffer): { reports: LeakReport[]; malformed: number } {
  const value = jsonBody(event, body);
  if (!Array.isArray(value) || value.length === 0) throw new InvalidRequest('The request body must be a non-empty JSON array of {token, type, url, source}.');
  let malformed = 0;
  const reports = value.map((item): LeakReport => {
    const fields = typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>) : {};
    const { token, type, url, source } = fields;
    if (typeof token !== 'string') malformed += 1;
    return {
      token: typeof token === 'string' ? token : '',
      ...(typeof type === 'string' && { type }),
      ...(typeof url === 'string' && { url }),
      ...(typeof source === 'string' && { source }),
    };
  });
  return { reports, malformed };
}

/**
 * `{"credentials": [...]}`: the strings in it, at most `maxCredentials`. Also trufflehog's
 * custom-verifier webhook body, `{"<detector>": {"<regex name>": ["<match>", ...]}}`, so a
 * trufflehog detector can use this endpoint as its verifier (`tollgate scanner-rules`).
 * Anything else that fits the size bound (not JSON, another shape, non-strings) is accepted
 * and revokes nothing, so the answer never tells a valid submission from an invalid one.
 */
export function parseCredentials(event: ProxyEvent): string[] {
  const body = bodyBytes(event, LeakLimits.maxBodyBytes);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const { credentials } = value as { credentials?: unknown };
  const submitted = credentials !== undefined ? (Array.isArray(credentials) ? credentials : []) : trufflehogMatches(value);
  if (submitted.length > LeakLimits.maxCredentials) {
    throw new InvalidRequest(`Submit at most ${LeakLimits.maxCredentials} credentials per request.`);
  }
  return submitted.filter((credential): credential is string => typeof credential === 'string');
}

function trufflehogMatches(value: object): unknown[] {
  return Object.values(value).flatMap((detector) =>
    typeof detector === 'object' && detector !== null && !Array.isArray(detector)
      ? Object.values(detector).flatMap((matches) => (Array.isArray(matches) ? matches : []))
      : [],
  );
}

/** The function as Lambda runs it: this execution environment's variables and SDK clients, wired once at cold start. */
export function lambdaLeakApp(): (event: ProxyEvent) => Promise<APIGatewayProxyResult> {
  return createLeakHandler({
    env: process.env,
    doc: documentClient(),
    events: eventBridgeClient(),
    logger: powertoolsLogger('leaks'),
    metrics: powertoolsMetrics('leaks'),
  });
}
