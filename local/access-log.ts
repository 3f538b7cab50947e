/**
 * The local gateway's access-log line: exactly the fields of the deployed stage's JSON
 * access log (`common/access-log.ts`), with API Gateway's `-` for a value a request does
 * not have, so every local request is attributable exactly as a deployed one is.
 */
import { ACCESS_LOG_FIELDS, ACCESS_LOG_NO_VALUE, type AccessLogFieldName } from '../common/access-log';
import { AuthorizerContextKey } from '../common/gateway-contract';
import { LOCAL_API, type IncomingCall } from './events';

/**
 * All that is known of a request the server refused before it could parse it (headers over
 * its limit, a malformed request line): when and from where. Its line has `-` for the rest,
 * request id included, and never anything of what was sent.
 */
export interface UnparsedRequest {
  readonly receivedAtMs: number;
  readonly sourceIp: string;
}

export interface AccessLogInput {
  readonly call: IncomingCall | UnparsedRequest;
  readonly status: number;
  readonly latencyMs: number;
  readonly resourcePath?: string;
  /** Set when the gateway answered itself (UNAUTHORIZED, ACCESS_DENIED, THROTTLED…). */
  readonly errorType?: string;
  readonly principalId?: string;
  readonly context?: Readonly<Record<string, string>>;
  readonly authorizerError?: string;
  /** The suspension refusal the authorizer's Deny named in its context. */
  readonly refusal?: string;
  readonly authorizerLatencyMs?: number;
  readonly integrationStatus?: number;
  /** The signed caller of an admin route: its account and principal id (`common/access-log.ts`). */
  readonly caller?: { readonly account: string; readonly principalId: string };
}

const FIELD_ORDER = Object.keys(ACCESS_LOG_FIELDS);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime`'s CLF shape: `dd/MMM/yyyy:HH:mm:ss +0000`. */
export function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

export function accessLogLine(input: AccessLogInput): string {
  const { call, context = {} } = input;
  const parsed = 'requestId' in call ? call : undefined;
  const text = (value: string | number | undefined) => (value === undefined || value === '' ? ACCESS_LOG_NO_VALUE : String(value));
  const record: Record<AccessLogFieldName, string | number> = {
    requestId: text(parsed?.requestId),
    apiId: LOCAL_API.apiId,
    requestTime: clfTime(call.receivedAtMs),
    requestTimeEpoch: call.receivedAtMs,
    httpMethod: text(parsed?.method),
    path: text(parsed?.path),
    resourcePath: text(input.resourcePath),
    status: input.status,
    responseLatency: Math.round(input.latencyMs),
    errorType: text(input.errorType),
    principalId: text(input.principalId),
    clientId: text(context[AuthorizerContextKey.clientId]),
    jti: text(context[AuthorizerContextKey.jti]),
    scopes: text(context[AuthorizerContextKey.scopes]),
    keyId: text(context[AuthorizerContextKey.keyId]),
    kid: text(context[AuthorizerContextKey.kid]),
    authorizerError: text(input.authorizerError),
    refusal: text(input.refusal),
    authorizerLatency: text(input.authorizerLatencyMs),
    integrationStatus: text(input.integrationStatus),
    sourceIp: call.sourceIp,
    callerAccount: text(input.caller?.account),
    caller: text(input.caller?.principalId),
  };
  // In the deployed line's order: the client-chosen path last (`ACCESS_LOG_CLIENT_TEXT`).
  return JSON.stringify(record, FIELD_ORDER);
}
