/**
 * The gateway's access-log line: one JSON object per request, field name → API Gateway
 * `$context` variable. The deployed stage renders {@link accessLogFormat}; the local
 * gateway writes a line with the same field names, so a request is attributable the same
 * way in both (who: principal, client, token, API key, IAM caller; what: method, path,
 * status; why refused: the authorizer's error).
 *
 * API Gateway substitutes `-` for a variable that has no value in a request (e.g. the
 * authorizer fields of an admin call), so every field that can be absent is rendered as
 * a JSON string; only variables present in every request are rendered as numbers.
 */
import { AuthorizerContextKey } from './gateway-contract';

export interface AccessLogField {
  /** The `$context` variable API Gateway substitutes. */
  readonly expression: string;
  readonly type: 'string' | 'number';
}

const str = (expression: string): AccessLogField => ({ expression, type: 'string' });
const num = (expression: string): AccessLogField => ({ expression, type: 'number' });
const authorizerContext = (key: string): AccessLogField => str(`$context.authorizer.${key}`);

export const ACCESS_LOG_FIELDS = {
  requestId: str('$context.requestId'),
  /**
   * The REST API that answered: one value per deployment, so the access-log metric filters
   * publish it as their dimension and two Tollgates in one account and Region never share a
   * series (a metric filter's dimension value can only come from a field of the log event).
   */
  apiId: str('$context.apiId'),
  /** CLF timestamp (`dd/MMM/yyyy:HH:mm:ss +0000`). */
  requestTime: str('$context.requestTime'),
  /** Epoch milliseconds, for sorting and arithmetic. */
  requestTimeEpoch: num('$context.requestTimeEpoch'),
  httpMethod: str('$context.httpMethod'),
  path: str('$context.path'),
  /** The matched API resource, e.g. `/{proxy+}` or `/admin/keys/{keyId}`. */
  resourcePath: str('$context.resourcePath'),
  status: num('$context.status'),
  responseLatency: num('$context.responseLatency'),
  /** The gateway response type when API Gateway answered itself (UNAUTHORIZED, ACCESS_DENIED, THROTTLED…). */
  errorType: str('$context.error.responseType'),
  principalId: str('$context.authorizer.principalId'),
  clientId: authorizerContext(AuthorizerContextKey.clientId),
  jti: authorizerContext(AuthorizerContextKey.jti),
  scopes: authorizerContext(AuthorizerContextKey.scopes),
  keyId: authorizerContext(AuthorizerContextKey.keyId),
  kid: authorizerContext(AuthorizerContextKey.kid),
  /** The authorizer's error message (`Unauthorized` for a 401), never the token. */
  authorizerError: str('$context.authorizer.error'),
  authorizerLatency: str('$context.authorizer.latency'),
  integrationStatus: str('$context.integration.status'),
  sourceIp: str('$context.identity.sourceIp'),
  userAgent: str('$context.identity.userAgent'),
  /** The SigV4 caller of an admin route (IAM authorization). */
  userArn: str('$context.identity.userArn'),
} as const satisfies Record<string, AccessLogField>;

export type AccessLogFieldName = keyof typeof ACCESS_LOG_FIELDS;

/** What API Gateway writes for a variable without a value. */
export const ACCESS_LOG_NO_VALUE = '-';

/** The stage's access-log format: a single-line JSON object of {@link ACCESS_LOG_FIELDS}. */
export function accessLogFormat(): string {
  const members = Object.entries(ACCESS_LOG_FIELDS).map(([name, field]) =>
    field.type === 'number' ? `"${name}":${field.expression}` : `"${name}":"${field.expression}"`,
  );
  return `{${members.join(',')}}`;
}
