/**
 * The one classification of what an AWS SDK call can fail with: a failure of the dependency
 * (it timed out, throttled us, could not be reached, is unavailable, or the KMS key cannot
 * be used right now) becomes a {@link DependencyUnavailable}, answered 503 with
 * `Retry-After`; anything else (a conditional check, validation, access denied: our bug or
 * the caller's) is left as it is. A transaction cancelled only by contention or throttling
 * (`TransactionCanceledException` whose reasons are all transient) is one too.
 *
 * `Retry-After` is derived from the SDK's standard retry backoff (`@smithy/util-retry`:
 * exponential, base 100 ms, 500 ms after a throttling error, capped at 20 s) for the attempt
 * the caller's retry would be: after our own `maxAttempts` tries, the next wait is
 * base × 2^attempts. Rounded up to whole seconds (RFC 9110 §10.2.3: delay-seconds).
 */
import { DependencyBudget } from '../../common/defaults';
import { DependencyUnavailable, type DependencyFailure } from '../core/shared/issuance-errors';

/** `@smithy/util-retry` `DEFAULT_RETRY_DELAY_BASE`, `THROTTLING_RETRY_DELAY_BASE`, `MAXIMUM_RETRY_DELAY`. */
const RETRY_DELAY_BASE_MS = 100;
const THROTTLING_RETRY_DELAY_BASE_MS = 500;
const MAXIMUM_RETRY_DELAY_MS = 20_000;

/**
 * Error names by failure. DynamoDB: `ProvisionedThroughputExceededException`,
 * `ThrottlingException`, `RequestLimitExceeded` (account-level on-demand limit). KMS:
 * `ThrottlingException` (the shared request quota), `DisabledException`,
 * `KMSInvalidStateException` (pending deletion or import), `KeyUnavailableException`,
 * `DependencyTimeoutException`, `KMSInternalException`. API Gateway:
 * `TooManyRequestsException`. The SDK: `TimeoutError` (our request timeout), `AbortError`
 * (our request budget).
 */
const BY_NAME: Readonly<Record<string, DependencyFailure>> = {
  ProvisionedThroughputExceededException: 'throttled',
  ThrottlingException: 'throttled',
  Throttling: 'throttled',
  ThrottledException: 'throttled',
  RequestLimitExceeded: 'throttled',
  TooManyRequestsException: 'throttled',
  RequestThrottledException: 'throttled',
  SlowDown: 'throttled',
  TimeoutError: 'timeout',
  AbortError: 'timeout',
  RequestTimeout: 'timeout',
  RequestTimeoutException: 'timeout',
  DependencyTimeoutException: 'timeout',
  DisabledException: 'key_unusable',
  KMSInvalidStateException: 'key_unusable',
  KeyUnavailableException: 'key_unusable',
  InternalServerError: 'unavailable',
  InternalFailure: 'unavailable',
  InternalServerException: 'unavailable',
  KMSInternalException: 'unavailable',
  ServiceUnavailable: 'unavailable',
  ServiceUnavailableException: 'unavailable',
};

/**
 * A `TransactionCanceledException`'s `CancellationReasons[].Code` that say nothing about the
 * request: another write held one of its items (`TransactionConflict`), or the table's
 * throughput ran out (`ProvisionedThroughputExceeded`, `ThrottlingError`). `None` is an item
 * that was fine and cancelled with the others. Any other code (`ConditionalCheckFailed`,
 * `ValidationError`, `ItemCollectionSizeLimitExceeded`) is an answer, or our bug.
 */
const BY_CANCELLATION_REASON: Readonly<Record<string, DependencyFailure | 'none'>> = {
  None: 'none',
  TransactionConflict: 'contention',
  ProvisionedThroughputExceeded: 'throttled',
  ThrottlingError: 'throttled',
};

/** Node.js socket errors (`error.code`) that mean the service could not be reached. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  readonly name?: unknown;
  readonly CancellationReasons?: readonly { readonly Code?: string }[];
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

/** What kind of dependency failure `error` is, if it is one. */
export function dependencyFailure(error: unknown): DependencyFailure | undefined {
  if (error instanceof DependencyUnavailable) return error.failure;
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code, $metadata, $retryable, CancellationReasons } = error as SdkErrorShape;
  if (name === 'TransactionCanceledException') return cancellationFailure(CancellationReasons ?? []);
  const byName = typeof name === 'string' && Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
  if (byName) return byName;
  if ($retryable?.throttling || $metadata?.httpStatusCode === 429) return 'throttled';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  // The SDK wraps socket errors it could not parse a response from; their `code` is kept on the cause.
  const cause = (error as { cause?: unknown }).cause;
  if (cause && typeof cause === 'object' && NETWORK_CODES.has(String((cause as SdkErrorShape).code))) return 'network';
  const status = $metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return 'unavailable';
  return undefined;
}

/**
 * A cancelled transaction is a dependency failure when every reason is transient: throttled
 * if any item was, contention if another write held one. Stores read the reasons first (a
 * failed condition is their answer; some retry a conflict), so the SDK clients' wrapper
 * leaves a cancellation as it is and the HTTP layer classifies what no store answered.
 */
function cancellationFailure(reasons: readonly { readonly Code?: string }[]): DependencyFailure | undefined {
  const failures = reasons.map(({ Code = 'None' }) => (Object.hasOwn(BY_CANCELLATION_REASON, Code) ? BY_CANCELLATION_REASON[Code] : undefined));
  if (failures.length === 0 || failures.some((failure) => failure === undefined)) return undefined;
  if (failures.includes('throttled')) return 'throttled';
  return failures.includes('contention') ? 'contention' : undefined;
}

/** Whether `error` is a cancelled transaction: its reasons are for the store that sent it to read. */
export function isTransactionCancellation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as SdkErrorShape).name === 'TransactionCanceledException';
}

/** Whole seconds before a retry is worth it: the SDK's next backoff after `attempts` tries. */
export function retryAfterSeconds(failure: DependencyFailure, attempts: number): number {
  const base = failure === 'throttled' ? THROTTLING_RETRY_DELAY_BASE_MS : RETRY_DELAY_BASE_MS;
  const delay = Math.min(MAXIMUM_RETRY_DELAY_MS, base * 2 ** Math.max(1, attempts));
  return Math.max(1, Math.ceil(delay / 1000));
}

/**
 * The AWS error's own name (`KMSInvalidStateException`…), also when the clients' wrapper
 * reported it as a {@link DependencyUnavailable}: what is a failure of the dependency to
 * most calls is an answer to some (scheduling the deletion of a key already pending deletion).
 */
export function awsErrorName(error: unknown): string | undefined {
  if (error instanceof DependencyUnavailable) return error.causeName;
  const name = typeof error === 'object' && error !== null ? (error as SdkErrorShape).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/**
 * `error` as a {@link DependencyUnavailable} when it is a dependency failure; otherwise
 * `undefined` (the caller rethrows the original).
 */
export function classifyDependencyError(error: unknown, dependency: string): DependencyUnavailable | undefined {
  if (error instanceof DependencyUnavailable) return error;
  const failure = dependencyFailure(error);
  if (failure === undefined) return undefined;
  const attempts = (error as SdkErrorShape).$metadata?.attempts ?? DependencyBudget.maxAttempts;
  const name = (error as SdkErrorShape).name;
  return new DependencyUnavailable(dependency, failure, retryAfterSeconds(failure, attempts), typeof name === 'string' ? name : 'Error');
}
