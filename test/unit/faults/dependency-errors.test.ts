import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DependencyBudget } from '../../../common/defaults';
import { classifyDependencyError, dependencyFailure, retryAfterSeconds } from '../../../lambda/adapters/dependency-errors';
import { DeadlineExceeded } from '../../../lambda/adapters/clients/deadline';
import { DependencyUnavailable, TemporarilyUnavailable } from '../../../lambda/core/shared/issuance-errors';

function sdkError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: 400, attempts: 3 }, ...extra });
}

describe('classifyDependencyError', () => {
  it.each([
    ['ProvisionedThroughputExceededException', 'throttled'],
    ['ThrottlingException', 'throttled'],
    ['RequestLimitExceeded', 'throttled'],
    ['TooManyRequestsException', 'throttled'],
    ['TimeoutError', 'timeout'],
    ['AbortError', 'timeout'],
    ['DisabledException', 'key_unusable'],
    ['KMSInvalidStateException', 'key_unusable'],
    ['KeyUnavailableException', 'key_unusable'],
    ['DependencyTimeoutException', 'timeout'],
    ['InternalServerError', 'unavailable'],
    ['KMSInternalException', 'unavailable'],
  ])('%s is a dependency failure (%s)', (name, failure) => {
    const classified = classifyDependencyError(sdkError(name), 'dynamodb');
    expect(classified).toBeInstanceOf(DependencyUnavailable);
    expect(classified).toBeInstanceOf(TemporarilyUnavailable);
    expect(classified).toMatchObject({ dependency: 'dynamodb', failure, causeName: name, code: 'temporarily_unavailable' });
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'])(
    'a socket error %s is a network failure, also when wrapped',
    (code) => {
      expect(dependencyFailure(Object.assign(new Error('socket'), { code }))).toBe('network');
      expect(dependencyFailure(Object.assign(new Error('wrapped'), { name: 'Error', cause: { code } }))).toBe('network');
    },
  );

  it('reads throttling and 5xx from the SDK metadata when the name is unknown', () => {
    expect(dependencyFailure(sdkError('SomethingNew', { $metadata: { httpStatusCode: 429 } }))).toBe('throttled');
    expect(dependencyFailure(sdkError('SomethingNew', { $retryable: { throttling: true } }))).toBe('throttled');
    expect(dependencyFailure(sdkError('SomethingNew', { $metadata: { httpStatusCode: 503 } }))).toBe('unavailable');
  });

  it("classifies the request budget's own abort as a timeout", () => {
    expect(dependencyFailure(new DeadlineExceeded(2500))).toBe('timeout');
  });

  it.each([
    'ConditionalCheckFailedException',
    'TransactionCanceledException',
    'ValidationException',
    'AccessDeniedException',
    'ResourceNotFoundException',
    'NotFoundException',
    'InvalidKeyUsageException',
    'LimitExceededException',
  ])('%s is not: it is our bug, the caller’s, or an answer (left as it is)', (name) => {
    expect(classifyDependencyError(sdkError(name), 'dynamodb')).toBeUndefined();
  });

  it('leaves non-errors and plain errors alone, and keeps an already typed one', () => {
    expect(classifyDependencyError('boom', 'kms')).toBeUndefined();
    expect(classifyDependencyError(undefined, 'kms')).toBeUndefined();
    expect(classifyDependencyError(new TypeError('x'), 'kms')).toBeUndefined();
    const typed = new DependencyUnavailable('kms', 'throttled', 4, 'ThrottlingException');
    expect(classifyDependencyError(typed, 'dynamodb')).toBe(typed);
  });
});

describe('retryAfterSeconds', () => {
  it('is the SDK backoff after our attempts: 500 ms base when throttled, 100 ms otherwise, whole seconds', () => {
    expect(retryAfterSeconds('throttled', DependencyBudget.maxAttempts)).toBe(4);
    expect(retryAfterSeconds('timeout', DependencyBudget.maxAttempts)).toBe(1);
    expect(classifyDependencyError(sdkError('ThrottlingException'), 'kms')?.retryAfterSeconds).toBe(4);
  });

  it('is always a whole number of seconds from 1 to 20 (the SDK cap), growing with the attempts', () => {
    const failures = ['timeout', 'throttled', 'network', 'unavailable', 'key_unusable'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...failures), fc.integer({ min: 0, max: 40 }), (failure, attempts) => {
        const seconds = retryAfterSeconds(failure, attempts);
        expect(Number.isInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(1);
        expect(seconds).toBeLessThanOrEqual(20);
        expect(retryAfterSeconds(failure, attempts + 1)).toBeGreaterThanOrEqual(seconds);
      }),
    );
  });
});
