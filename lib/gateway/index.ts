/**
 * The `Gateway` construct (`rest-api.ts`) and the pieces it is built from, by job: routes,
 * gateway responses, stage settings, resource policy, client certificates, client plan.
 */
export { Gateway, type GatewayProps } from './rest-api';
export { GATEWAY_REFUSALS, gatewayResponse, staticValue, type Refusal } from './responses';
export { JSON_BODY_ROUTES, upstreamRequestParameters } from './routes';
export { publicRouteThrottles } from './stage-settings';
export { operatorResourcePolicy } from './resource-policy';
