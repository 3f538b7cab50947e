/**
 * The `Gateway` construct (`rest-api.ts`), built from pieces by job: routes, gateway
 * responses, stage settings, resource policy, client certificates, client plan. Besides the
 * construct, only what the infra tests check directly is exported here.
 */
export { Gateway, type GatewayProps } from './rest-api';
export { GATEWAY_REFUSALS, gatewayResponse, staticValue, type Refusal } from './responses';
export { JSON_BODY_ROUTES } from './routes';
