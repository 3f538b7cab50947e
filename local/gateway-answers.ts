/**
 * What the local gateway answers itself, as API Gateway's gateway responses render it: the
 * refusals (authorizer, usage plan, suspension), the generic failures, and the access-log
 * outcome each answer reports.
 */
import type { ServerResponse } from 'node:http';
import { INSUFFICIENT_SCOPE, INVALID_USAGE_KEY, NO_STORE_HEADERS, QUOTA_EXCEEDED, THROTTLED } from '../common/gateway-responses';
import { SUSPENDED_RESPONSES, SuspensionContextKey } from '../common/usage';
import type { AccessLogInput } from './access-log';
import type { UsageVerdict } from './usage-limiter';

/** A response API Gateway renders itself (`common/gateway-responses.ts`). */
export interface Refusal {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: object;
}

export interface Outcome extends Omit<AccessLogInput, 'call' | 'latencyMs'> {}

/**
 * The upstream's whole answer, headers and body, took longer than the integration timeout
 * (API Gateway's INTEGRATION_TIMEOUT, 504).
 */
export class IntegrationTimeout extends Error {
  constructor(upstreamUrl: string, timeoutMs: number) {
    super(`upstream ${upstreamUrl} did not complete its answer within ${timeoutMs} ms`);
    this.name = 'IntegrationTimeout';
  }
}

/** The upstream's answer is larger than API Gateway's payload limit: the stage does not deliver it (an INTEGRATION_FAILURE, 502). */
export class IntegrationResponseTooLarge extends Error {
  constructor(upstreamUrl: string, status: number, maxBytes: number) {
    super(`upstream ${upstreamUrl} answered ${status} with a body over ${maxBytes} bytes`);
    this.name = 'IntegrationResponseTooLarge';
  }
}

/** `$context.error.responseType` of a failed integration: its timeout, or any other failure (an answer too large included). */
export function integrationErrorType(error: unknown): 'INTEGRATION_TIMEOUT' | 'INTEGRATION_FAILURE' {
  return error instanceof IntegrationTimeout ? 'INTEGRATION_TIMEOUT' : 'INTEGRATION_FAILURE';
}

/** The headers of every answer the gateway makes itself: JSON, never stored by a cache. */
export function answerHeaders(headers: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { 'Content-Type': 'application/json', ...headers, ...NO_STORE_HEADERS };
}

/** Every refusal and failure the gateway answers itself goes through here (or `refuseUnparsed`). */
export function answer(
  res: ServerResponse,
  status: number,
  body: object,
  extra: Partial<Outcome> = {},
  headers: Readonly<Record<string, string>> = {},
): Outcome {
  res.writeHead(status, answerHeaders(headers));
  res.end(JSON.stringify(body));
  return { status, ...extra };
}

export function refuse(res: ServerResponse, refusal: Refusal, errorType: string, headers: Readonly<Record<string, string>> = {}): Outcome {
  return answer(res, refusal.statusCode, refusal.body, { errorType }, { ...refusal.headers, ...headers });
}

/**
 * API Gateway's usage-plan refusals under their gateway-response types; locally the
 * `Retry-After` is exact (a gateway response can only carry a static one).
 */
export function refuseUsage(res: ServerResponse, verdict: Exclude<UsageVerdict, { outcome: 'allow' }>): Outcome {
  if (verdict.outcome === 'invalid_key') return refuse(res, INVALID_USAGE_KEY, 'INVALID_API_KEY');
  const retryAfter = { 'Retry-After': String(verdict.retryAfterSeconds) };
  return verdict.outcome === 'throttled' ? refuse(res, THROTTLED, 'THROTTLED', retryAfter) : refuse(res, QUOTA_EXCEEDED, 'QUOTA_EXCEEDED', retryAfter);
}

/**
 * A suspended client's Deny (docs/usage.md): 403 with the refusal's code and the exact
 * `Retry-After`. Its other headers are the ACCESS_DENIED gateway response's static ones (the scope refusal's), as
 * on AWS, where that one response answers every Deny (so it carries the scope refusal's
 * `WWW-Authenticate` too: the body's `error` tells the two apart).
 */
export function suspendedRefusal(res: ServerResponse, context: Readonly<Record<string, string>>): Outcome | undefined {
  const error = context[SuspensionContextKey.refusal];
  const refusal = error === 'quota_exceeded' || error === 'suspended' ? SUSPENDED_RESPONSES[error] : undefined;
  if (refusal === undefined) return undefined;
  const retryAfter = context[SuspensionContextKey.retryAfter] ?? '1';
  return answer(
    res,
    refusal.statusCode,
    { ...refusal.body, retry_after: retryAfter },
    { errorType: 'ACCESS_DENIED' },
    { ...INSUFFICIENT_SCOPE.headers, 'Retry-After': retryAfter },
  );
}

/**
 * API Gateway REST renames some headers of an integration's answer, a Lambda proxy's as well
 * as an HTTP upstream's, before passing it on: `WWW-Authenticate` reaches the client as
 * `x-amzn-Remapped-WWW-Authenticate`. Local mode renames that one, the header a client acts
 * on (docs/api.md#what-the-upstream-receives-upstream-contract); the others on AWS's list (`Server`, `Date`, …)
 * pass unchanged. Challenges the gateway renders itself (its gateway responses) keep the name.
 */
export function integrationAnswerHeaders<V>(headers: Readonly<Record<string, V>>): Record<string, V> {
  const renamed: Record<string, V> = {};
  for (const [name, value] of Object.entries(headers)) renamed[REMAPPED.has(name.toLowerCase()) ? `x-amzn-Remapped-${name}` : name] = value;
  return renamed;
}

const REMAPPED = new Set(['www-authenticate']);
