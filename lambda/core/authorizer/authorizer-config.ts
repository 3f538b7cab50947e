/**
 * Moved to `lambda/authorizer/config.ts` (each function reads its own settings). Kept as a
 * re-export for `bench/variants/authorizer-sdk-reader.ts`, which this change may not edit;
 * nothing else imports it.
 */
export { authorizerConfigFrom, type AuthorizerConfig } from '../../authorizer/config';
