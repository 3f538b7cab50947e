import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { HttpResponse } from '@smithy/protocol-http';
import { bounded } from '../../../lambda/adapters/clients/options';
import { errorResponse } from '../../../lambda/http/errors';
import { DependencyBudget } from '../../../common/defaults';
import { awsErrorName, classifyDependencyError, dependencyFailure, retryAfterSeconds } from '../../../lambda/adapters/dependency-errors';
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

/** As the SDK deserializes DynamoDB's answer: reasons in item order, `None` for an item that was fine. */
function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: { httpStatusCode: 400, attempts: 1 },
    CancellationReasons: codes.map((Code) => (Code === 'None' ? { Code } : { Code, Message: `${Code} happened` })),
  });
}

describe('a cancelled transaction', () => {
  it.each([
    [['TransactionConflict', 'None'], 'contention'],
    [['None', 'TransactionConflict'], 'contention'],
    [['ThrottlingError', 'None'], 'throttled'],
    [['ProvisionedThroughputExceeded'], 'throttled'],
    [['TransactionConflict', 'ThrottlingError'], 'throttled'],
  ])('whose reasons are %j only is a dependency failure (%s), answered 503 with Retry-After', (codes, failure) => {
    const error = cancelled(...codes);
    expect(classifyDependencyError(error, 'dynamodb')).toMatchObject({ dependency: 'dynamodb', failure, causeName: 'TransactionCanceledException' });
    const response = errorResponse(error, { error: () => undefined });
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(Number(response.headers?.['Retry-After'])).toBeGreaterThanOrEqual(1);
  });

  it.each([
    [['ConditionalCheckFailed', 'None']],
    [['ConditionalCheckFailed', 'TransactionConflict']],
    [['None', 'ValidationError']],
    [['ItemCollectionSizeLimitExceeded']],
    [['None', 'None']],
    [[]],
  ])('whose reasons %j include an answer (or no transient one) is left as it is', (codes) => {
    expect(classifyDependencyError(cancelled(...codes), 'dynamodb')).toBeUndefined();
  });

  it('reaches the store that sent it as it is through the bounded client, to read its reasons', async () => {
    const body = JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
      Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
      CancellationReasons: [{ Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }, { Code: 'None' }],
    });
    const requestHandler = {
      handle: async () => ({
        response: new HttpResponse({ statusCode: 400, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Readable.from([Buffer.from(body)]) }),
      }),
    };
    const client = bounded(
      new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, requestHandler, maxAttempts: 1 }),
      'dynamodb',
    );
    const error = await DynamoDBDocumentClient.from(client)
      .send(new TransactWriteCommand({ TransactItems: [{ ConditionCheck: { TableName: 't', Key: { k: '1' }, ConditionExpression: 'attribute_exists(k)' } }] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code)).toEqual(['TransactionConflict', 'None']);
  });
});

describe('retryAfterSeconds', () => {
  it('is the SDK backoff after our attempts: 500 ms base when throttled, 100 ms otherwise, whole seconds', () => {
    expect(retryAfterSeconds('throttled', DependencyBudget.maxAttempts)).toBe(4);
    expect(retryAfterSeconds('timeout', DependencyBudget.maxAttempts)).toBe(1);
    expect(classifyDependencyError(sdkError('ThrottlingException'), 'kms')?.retryAfterSeconds).toBe(4);
  });

  it('is always a whole number of seconds from 1 to 20 (the SDK cap), growing with the attempts', () => {
    const failures = ['timeout', 'throttled', 'network', 'unavailable', 'key_unusable', 'contention'] as const;
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

describe('awsErrorName', () => {
  it("is the AWS error's name, whether or not the clients' wrapper classified it as a dependency failure", () => {
    const invalidState = sdkError('KMSInvalidStateException');
    expect(awsErrorName(invalidState)).toBe('KMSInvalidStateException');
    const wrapped = classifyDependencyError(invalidState, 'kms');
    expect(wrapped).toBeInstanceOf(DependencyUnavailable);
    expect(awsErrorName(wrapped)).toBe('KMSInvalidStateException');
    // Left alone by the wrapper: the name as it is.
    expect(classifyDependencyError(sdkError('NotFoundException'), 'kms')).toBeUndefined();
    expect(awsErrorName(sdkError('NotFoundException'))).toBe('NotFoundException');
    for (const nameless of [undefined, null, 'a string', { name: 42 }]) expect(awsErrorName(nameless)).toBeUndefined();
  });
});
