/**
 * The stage's method settings: metrics on, execution logs and data tracing off, and the
 * unauthenticated Tollgate routes throttled per method.
 */
import type { MethodDeploymentOptions, ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { Token } from 'aws-cdk-lib';
import { MethodLoggingLevel } from 'aws-cdk-lib/aws-apigateway';
import { API_ROUTES, publicRouteThrottle, type RouteThrottle } from '../../common/api-routes';
import { Defaults } from '../../common/defaults';
import { ConfigurationError } from '../../common/errors';
import type { KeySpec } from '../../common/tokens';

/**
 * The stage's settings for every method. Execution logs need the account-wide API Gateway
 * CloudWatch role; the access log attributes every request, and data tracing would log
 * bearer tokens.
 */
export const STAGE_METHOD_SETTINGS = { metricsEnabled: true, loggingLevel: MethodLoggingLevel.OFF, dataTraceEnabled: false } as const;

/**
 * The throttle of `POST /oauth/token`: each field given replaces that field of
 * `Defaults.tokenRouteThrottle[keySpec]`, so a partial setting keeps the route under the KMS
 * `Sign` quota instead of falling back to the account's limits. A negative rate, or a burst
 * that is negative or not a whole number, is refused here with a `ConfigurationError` naming
 * `tokenRouteThrottle`: API Gateway would refuse it only at deploy. A token (`Lazy`) is
 * checked once synth resolves it ({@link tokenRouteThrottleProblems}).
 */
export function tokenRouteThrottle(given: ThrottleSettings | undefined, keySpec: KeySpec): Required<ThrottleSettings> {
  const defaults = Defaults.tokenRouteThrottle[keySpec];
  const throttle = { rateLimit: given?.rateLimit ?? defaults.rateLimit, burstLimit: given?.burstLimit ?? defaults.burstLimit };
  const [problem] = tokenRouteThrottleProblems(throttle);
  if (problem !== undefined) throw new ConfigurationError(problem, 'tokenRouteThrottle');
  return throttle;
}

/**
 * What is wrong with a token route throttle, each as a whole message naming
 * `tokenRouteThrottle`. A field still a token is skipped: pass the stack's `resolve` to check
 * it at synth, when a `Lazy` value is known; one that resolves to a CloudFormation expression
 * (a parameter, an import) can only be checked by API Gateway at deploy.
 */
export function tokenRouteThrottleProblems(throttle: Required<ThrottleSettings>, resolve: (value: unknown) => unknown = (value) => value): string[] {
  const rate = settled(throttle.rateLimit, resolve);
  const burst = settled(throttle.burstLimit, resolve);
  const problems: string[] = [];
  if (rate !== DEFERRED && !(typeof rate === 'number' && Number.isFinite(rate) && rate >= 0)) {
    problems.push(`rateLimit must be a number of requests per second, 0 or more, got ${String(rate)}`);
  }
  if (burst !== DEFERRED && !(typeof burst === 'number' && Number.isSafeInteger(burst) && burst >= 0)) {
    problems.push(`burstLimit must be a whole number of requests, 0 or more, got ${String(burst)}`);
  }
  return problems.map((problem) => `Invalid Tollgate configuration: tokenRouteThrottle ${problem}`);
}

const DEFERRED = Symbol('deferred');

/**
 * A field's value, resolved if it is a token; {@link DEFERRED} while it is unknown: a token
 * `resolve` leaves a token, or a CloudFormation expression (`{ Ref }`, `{ Fn::… }`).
 */
function settled(value: number, resolve: (value: unknown) => unknown): unknown {
  if (!Token.isUnresolved(value)) return value;
  const resolved = resolve(value);
  const unknown = (typeof resolved === 'object' && resolved !== null) || (typeof resolved === 'number' && Token.isUnresolved(resolved));
  return unknown ? DEFERRED : resolved;
}

/**
 * Per-method stage settings of the unauthenticated Tollgate routes: nothing else limits them
 * (the usage plans apply only to upstream methods, after the authorizer), so each gets its
 * own rate and burst, shared by all its callers. A method's entry replaces the stage-wide
 * settings for that method, so it repeats {@link STAGE_METHOD_SETTINGS}.
 */
export function publicRouteThrottles(tokenRoute: RouteThrottle): Record<string, MethodDeploymentOptions> {
  const entries = API_ROUTES.filter((route) => route.auth === 'public').map((route) => {
    const throttle = publicRouteThrottle(route, tokenRoute);
    const options: MethodDeploymentOptions = {
      throttlingRateLimit: throttle.rateLimit,
      throttlingBurstLimit: throttle.burstLimit,
      ...STAGE_METHOD_SETTINGS,
    };
    // CDK's methodOptions key: the resource path, then the method.
    return [`${route.resource}/${route.method}`, options] as const;
  });
  return Object.fromEntries(entries);
}
