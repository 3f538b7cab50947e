import { describe, expect, it, vi } from 'vitest';
import { Limits } from '../../../common/defaults';
import {
  Conflict,
  type CredentialsInUrl,
  DEFAULT_RETRY_AFTER_SECONDS,
  DependencyUnavailable,
  ErrorCode,
  InvalidClient,
  InvalidRequest,
  InvalidTarget,
  MethodNotAllowed,
  NotFound,
  RotationFailed,
  TemporarilyUnavailable,
} from '../../../lambda/core/shared/issuance-errors';
import { errorResponse, SERVER_ERROR_DESCRIPTION } from '../../../lambda/http/errors';
import { bodyBytes, formBody, header, jsonBody, queryParameters, refuseCredentialsInQuery, type ProxyEvent } from '../../../lambda/http/request';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { proxyHandler } from '../../../lambda/http/router';

function event(overrides: Partial<ProxyEvent> = {}): ProxyEvent {
  return {
    resource: '/x',
    httpMethod: 'POST',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    body: null,
    isBase64Encoded: false,
    ...overrides,
  };
}
const formEvent = (body: string, extra: Partial<ProxyEvent> = {}) =>
  event({ body, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, ...extra });

describe('request parsing', () => {
  it('reads headers case-insensitively and refuses a repeated one', () => {
    expect(header(event({ headers: { AUTHORIZATION: 'x' } }), 'Authorization')).toBe('x');
    expect(() => header(event({ headers: { Authorization: 'a', authorization: 'b' } }), 'Authorization')).toThrow(InvalidRequest);
    expect(() => header(event({ headers: { authorization: 'b' }, multiValueHeaders: { authorization: ['a', 'b'] } }), 'Authorization')).toThrow(InvalidRequest);
  });

  it('parses form bodies, plain or base64-encoded, and refuses repeated parameters', () => {
    expect(Object.fromEntries(formBody(formEvent('grant_type=client_credentials&scope=a+b%3Ac')))).toEqual({
      grant_type: 'client_credentials',
      scope: 'a b:c',
    });
    const encoded = Buffer.from('grant_type=client_credentials').toString('base64');
    expect(formBody(formEvent(encoded, { isBase64Encoded: true })).get('grant_type')).toBe('client_credentials');
    expect(() => formBody(formEvent('scope=a&scope=b'))).toThrow(/at most once/);
    expect(() => formBody(formEvent('scope=%zz'))).toThrow(/percent-encoding/);
    expect(() => formBody(event({ body: 'a=b', headers: { 'Content-Type': 'application/json' } }))).toThrow(/x-www-form-urlencoded/);
  });

  it('treats a parameter sent without a value as omitted (RFC 6749 §3.1), yet still refuses it repeated', () => {
    const fields = formBody(formEvent('grant_type=client_credentials&scope=&client_id=&client_secret=&resource=&audience&token='));
    expect(Object.fromEntries(fields)).toEqual({ grant_type: 'client_credentials' });
    expect(formBody(formEvent('grant_type=')).has('grant_type')).toBe(false);
    for (const body of ['scope=&scope=a', 'scope=a&scope=', 'client_id=&client_id=', 'grant_type=&grant_type=client_credentials']) {
      expect(() => formBody(formEvent(body)), body).toThrow(/at most once/);
    }
    expect(() => formBody(formEvent('resource=&resource=urn:x'))).toThrow(InvalidTarget);
  });

  it('refuses bodies over the size limit, plain or base64', () => {
    const big = 'a'.repeat(Limits.maxRequestBodyBytes + 1);
    expect(() => bodyBytes(event({ body: big }))).toThrow(/exceeds/);
    expect(() => bodyBytes(event({ body: Buffer.from(big).toString('base64'), isBase64Encoded: true }))).toThrow(/exceeds/);
    expect(bodyBytes(event({ body: 'a'.repeat(Limits.maxRequestBodyBytes) }))).toHaveLength(Limits.maxRequestBodyBytes);
  });

  it('parses JSON bodies and refuses malformed JSON or another media type', () => {
    const json = (body: string | null, type = 'application/json') => event({ body, headers: { 'Content-Type': type } });
    expect(jsonBody(json('{"a":1}'))).toEqual({ a: 1 });
    expect(jsonBody(json(null))).toBeUndefined();
    expect(() => jsonBody(json('{"a":'))).toThrow(/not valid JSON/);
    expect(() => jsonBody(json('{}', 'text/plain'))).toThrow(/application\/json/);
  });

  it('refuses a query string holding client_secret or an API key (in a name or any value), without repeating it', () => {
    const { apiKey } = generateApiKey();
    const refused = [
      { queryStringParameters: { client_secret: 'x' } },
      { queryStringParameters: { client_id: 'acme', key: `prefix ${apiKey}` } },
      { queryStringParameters: { [apiKey]: '' } },
      { multiValueQueryStringParameters: { key: [apiKey, 'other'] } },
      // Spelled as the scanner finds keys in text: glued after `_` or a capital.
      { queryStringParameters: { q: `API_KEY_${apiKey}` } },
      { queryStringParameters: { q: `X${apiKey}` } },
    ];
    for (const overrides of refused) {
      let caught: unknown;
      try {
        refuseCredentialsInQuery(event(overrides));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidRequest);
      expect((caught as InvalidRequest).description).not.toContain(apiKey);
    }
    expect(() => refuseCredentialsInQuery(event({ queryStringParameters: { client_id: 'acme', scope: 'a' } }))).not.toThrow();
    expect(() => refuseCredentialsInQuery(event())).not.toThrow();
  });

  it('names the exposed key by its id, the whole value a key or a key glued into it', () => {
    const generated = generateApiKey();
    for (const value of [generated.apiKey, `API_KEY_${generated.apiKey}`, `x=1&k=${generated.apiKey}`]) {
      let caught: unknown;
      try {
        refuseCredentialsInQuery(event({ queryStringParameters: { q: value } }));
      } catch (error) {
        caught = error;
      }
      expect((caught as CredentialsInUrl).context, value).toEqual({ keyId: generated.keyId });
    }
  });

  it('refuses repeated query parameters', () => {
    expect(queryParameters(event({ queryStringParameters: { limit: '2' }, multiValueQueryStringParameters: { limit: ['2'] } }))).toEqual({ limit: '2' });
    expect(() => queryParameters(event({ multiValueQueryStringParameters: { limit: ['1', '2'] } }))).toThrow(InvalidRequest);
  });
});

describe('the error mapper', () => {
  const log = { error: vi.fn() };

  it.each([
    [new InvalidRequest('x'), 400, 'invalid_request'],
    [new InvalidClient('unknown_key', undefined), 401, 'invalid_client'],
    [new TemporarilyUnavailable('no_active_signing_key'), 503, 'temporarily_unavailable'],
    [new NotFound(ErrorCode.keyNotFound, 'x'), 404, 'key_not_found'],
    [new Conflict(ErrorCode.clientRevoked, 'x'), 409, 'client_revoked'],
    [new RotationFailed('x'), 502, 'rotation_failed'],
    [new MethodNotAllowed(['GET']), 405, 'method_not_allowed'],
  ])('maps %o to its status and code', (error, status, code) => {
    const response = errorResponse(error, log);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body)).toEqual({ error: code, error_description: error.description });
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  });

  it('adds the Basic or Bearer challenge, Retry-After and Allow headers where they belong', () => {
    expect(errorResponse(new InvalidClient('unknown_key', 'Basic'), log).headers).toMatchObject({ 'WWW-Authenticate': 'Basic realm="tollgate"' });
    // RFC 6750 §3.1 defines invalid_token, not invalid_client; Basic is offered too.
    expect(errorResponse(new InvalidClient('unknown_key', 'Bearer'), log).headers).toMatchObject({
      'WWW-Authenticate': 'Bearer realm="tollgate", error="invalid_token", Basic realm="tollgate"',
    });
    // RFC 9110 §15.5.2: a 401 always challenges; without a header scheme, in Basic.
    expect(errorResponse(new InvalidClient('unknown_key', undefined), log).headers).toMatchObject({ 'WWW-Authenticate': 'Basic realm="tollgate"' });
    expect(errorResponse(new TemporarilyUnavailable('x'), log).headers).toMatchObject({ 'Retry-After': String(DEFAULT_RETRY_AFTER_SECONDS) });
    expect(errorResponse(new MethodNotAllowed(['GET', 'POST']), log).headers).toMatchObject({ Allow: 'GET, POST' });
  });

  it('answers a dependency failure 503 temporarily_unavailable with its Retry-After, typed or straight from the SDK', () => {
    const typed = errorResponse(new DependencyUnavailable('dynamodb', 'throttled', 4, 'ThrottlingException'), log);
    expect(typed.statusCode).toBe(503);
    expect(typed.headers).toMatchObject({ 'Retry-After': '4', 'Cache-Control': 'no-store' });
    expect(JSON.parse(typed.body)).toMatchObject({ error: 'temporarily_unavailable' });
    const raw = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400, attempts: 3 } });
    const untyped = errorResponse(raw, log);
    expect(untyped.statusCode).toBe(503);
    expect(untyped.headers).toMatchObject({ 'Retry-After': '4' });
    expect(untyped.body).not.toContain('Rate exceeded');
  });

  it('turns anything unexpected into a generic 500 and logs it', () => {
    const response = errorResponse(new TypeError('secret detail'), log);
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: 'server_error', error_description: SERVER_ERROR_DESCRIPTION });
    expect(log.error).toHaveBeenCalledWith('unexpected error', expect.objectContaining({ error: expect.objectContaining({ name: 'TypeError' }) }));
  });

  it('routes on resource and method: 404 for an unknown resource, 405 with Allow for another method', async () => {
    const handle = proxyHandler({ '/x': { GET: async () => ({ statusCode: 200, body: 'ok' }) } }, log);
    expect((await handle(event({ httpMethod: 'GET' }))).statusCode).toBe(200);
    expect((await handle(event({ resource: '/y', httpMethod: 'GET' }))).statusCode).toBe(404);
    const wrong = await handle(event({ httpMethod: 'DELETE' }));
    expect([wrong.statusCode, wrong.headers?.Allow]).toEqual([405, 'GET']);
    expect((await handle(event({ resource: 'constructor', httpMethod: 'GET' }))).statusCode).toBe(404);
  });
});
