/**
 * The REQUEST authorizer's edge: event → core decision → API Gateway's answer.
 * - allow, or a valid token refused for this route (403): the decision's response, whose
 *   policy names only the request's own method ARN (see `core/authorizer/route-policy.ts`);
 * - no valid token: `throw new Error('Unauthorized')`, the one error message API Gateway
 *   turns into a 401 (and its UNAUTHORIZED gateway response, docs/api.md#errors-common-to-all-routes);
 * - no decision possible because a dependency is down (the revocation view is older than
 *   `revocationViewMaxStaleSeconds`, or the key ring never loaded): any other error, which
 *   API Gateway answers with its AUTHORIZER_FAILURE gateway response, rendered as 503
 *   `temporarily_unavailable` with `Retry-After` (`common/gateway-responses.ts`). A Lambda
 *   authorizer can only make API Gateway answer 401 (`Unauthorized`), 403 (a Deny policy) or
 *   AUTHORIZER_FAILURE, so this is how a client tells "we are down" from "your token is bad".
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { AuthorizationRequest, Decision } from '../core/authorizer/authorizer';
import { UNAVAILABLE_REASONS } from '../core/authorizer/authorizer-errors';
import type { AuthorizerTelemetry } from './telemetry';

export interface DecisionMaker {
  decide(request: AuthorizationRequest): Decision | Promise<Decision>;
}

export const UNAUTHORIZED = 'Unauthorized';
/** Thrown when the authorizer cannot decide; API Gateway answers AUTHORIZER_FAILURE (503 through its gateway response). */
export const UNAVAILABLE = 'TemporarilyUnavailable';

export function createHandler(authorizer: DecisionMaker, telemetry: AuthorizerTelemetry) {
  const answer = (decision: Decision, event: APIGatewayRequestAuthorizerEvent, startedMs: number): APIGatewayAuthorizerResult => {
    report(telemetry, decision, event, startedMs);
    if (decision.outcome === 'reject') throw new Error(UNAVAILABLE_REASONS.has(decision.reason) ? UNAVAILABLE : UNAUTHORIZED);
    return decision.response;
  };
  // Not an `async` function: a cached decision is ready synchronously, and settling the
  // returned promise directly spares the extra microtask turn an `await` would cost.
  return function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
    const startedMs = telemetry.monotonicNow();
    // `decide` never throws and never rejects; every failure is already a decision.
    const decision = authorizer.decide(event);
    if (decision instanceof Promise) return decision.then((d) => answer(d, event, startedMs));
    try {
      return Promise.resolve(answer(decision, event, startedMs));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };
}
/** Logging must never change a decision, so a failure here is written to stderr and dropped. */
function report(telemetry: AuthorizerTelemetry, decision: Decision, event: APIGatewayRequestAuthorizerEvent | undefined, startedMs: number): void {
  try {
    const nowMs = telemetry.monotonicNow();
    telemetry.decision(decision, event ?? {}, Math.round((nowMs - startedMs) * 1000));
    telemetry.flushIfDue(nowMs);
  } catch (error) {
    process.stderr.write(`authorizer telemetry failed: ${(error as Error)?.message}\n`);
  }
}
