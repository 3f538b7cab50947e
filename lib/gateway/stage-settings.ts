/**
 * The stage's method settings: metrics on, execution logs and data tracing off, and the
 * unauthenticated Tollgate routes throttled per method.
 */
import type { MethodDeploymentOptions, ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { MethodLoggingLevel } from 'aws-cdk-lib/aws-apigateway';
import { API_ROUTES } from '../../common/api-routes';
import { ApiPath } from '../../common/gateway-contract';
import { Defaults } from '../../common/defaults';
import { LeakPath, LeakThrottle } from '../../common/leaks';

/**
 * The stage's settings for every method. Execution logs need the account-wide API Gateway
 * CloudWatch role; the access log attributes every request, and data tracing would log
 * bearer tokens.
 */
export const STAGE_METHOD_SETTINGS = { metricsEnabled: true, loggingLevel: MethodLoggingLevel.OFF, dataTraceEnabled: false } as const;

/** The leak endpoints' own method throttles (`common/leaks.ts`): GitHub reports in bursts, the public endpoint is a write path. */
const LEAK_ROUTE_THROTTLES: Readonly<Record<string, ThrottleSettings>> = {
  [LeakPath.github]: LeakThrottle.github,
  [LeakPath.revoke]: LeakThrottle.revoke,
};

/**
 * Per-method stage settings of the unauthenticated Tollgate routes: nothing else limits them
 * (the usage plans apply only to upstream methods, after the authorizer), so each gets its
 * own rate and burst, shared by all its callers. A method's entry replaces the stage-wide
 * settings for that method, so it repeats {@link STAGE_METHOD_SETTINGS}.
 */
export function publicRouteThrottles(tokenRoute: ThrottleSettings): Record<string, MethodDeploymentOptions> {
  const entries = API_ROUTES.filter((route) => route.auth === 'public').map((route) => {
    const throttle = route.resource === ApiPath.token ? tokenRoute : (LEAK_ROUTE_THROTTLES[route.resource] ?? Defaults.publicRouteThrottle);
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
