/**
 * Lambda entry point of the REQUEST authorizer: API Gateway's event in, the decision's answer
 * out (`authorize.ts` maps it). `app.ts` wires the configuration, adapters and core once at
 * cold start; `config.ts` reads the settings.
 */
export { authorize as handler, authorizer } from './app';
