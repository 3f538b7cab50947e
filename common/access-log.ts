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
 *
 * API Gateway pastes each value into the format as it is, without JSON escaping, so a field
 * whose text the client chooses could close its string and write keys of its own into the
 * line (a second `clientId`, which `JSON.parse` would keep) or break the line. The line
 * therefore carries one such field only, the request path, and carries it last
 * ({@link ACCESS_LOG_CLIENT_TEXT}): the meter reads every other field from the text before
 * it (`lambda/core/usage/usage-meter.ts`). Every field before it is API Gateway's, the
 * authorizer's (from a verified token) or IAM's; none takes a client's header. The
 * `User-Agent` and `$context.requestId` (the client may set `x-amzn-RequestId`), any text a
 * client likes, are not logged at all.
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
  /**
   * API Gateway's own id of the request (the `x-amz-apigw-id` response header). Not
   * `$context.requestId`: that is the `x-amzn-RequestId` header, which a client may set to any
   * text, and this field comes before the client text the meter does not trust.
   */
  requestId: str('$context.extendedRequestId'),
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
  /** A suspended client's or key's refusal (`quota_exceeded`, `suspended`): the Deny's context (`SuspensionContextKey`). */
  refusal: str('$context.authorizer.refusal'),
  authorizerLatency: str('$context.authorizer.latency'),
  integrationStatus: str('$context.integration.status'),
  sourceIp: str('$context.identity.sourceIp'),
  /**
   * The SigV4 caller of an admin route (IAM authorization): its account, and its principal id
   * (`AIDA…` for an IAM user, `AROA…:<session>` for a role; IAM and CloudTrail map an id to its
   * ARN). Not `$context.identity.userArn`: an IAM user's ARN holds the user's path, in which
   * IAM allows `"` and `\`.
   */
  callerAccount: str('$context.identity.accountId'),
  caller: str('$context.identity.caller'),
  /** The request path as sent: client-chosen text, so the line's last field ({@link ACCESS_LOG_CLIENT_TEXT}). */
  path: str('$context.path'),
} as const satisfies Record<string, AccessLogField>;

export type AccessLogFieldName = keyof typeof ACCESS_LOG_FIELDS;

/** The one field of client-chosen text: the last of the line, after every field the meter trusts. */
export const ACCESS_LOG_CLIENT_TEXT = 'path' satisfies AccessLogFieldName;

/** What API Gateway writes for a variable without a value. */
export const ACCESS_LOG_NO_VALUE = '-';

/** The stage's access-log format: a single-line JSON object of {@link ACCESS_LOG_FIELDS}. */
export function accessLogFormat(): string {
  const members = Object.entries(ACCESS_LOG_FIELDS).map(([name, field]) =>
    field.type === 'number' ? `"${name}":${field.expression}` : `"${name}":"${field.expression}"`,
  );
  return `{${members.join(',')}}`;
}
