/**
 * The local KMS endpoint (`server.ts`), with its key store (`key-store.ts`), cryptography
 * (`crypto.ts`), wire protocol (`protocol.ts`), operations (`operations.ts`) and command
 * line (`cli.ts`). What local mode and the tests use:
 */
export { startLocalKms, type LocalKms, type LocalKmsOptions } from './server';
export { LOCAL_KMS_ACCOUNT_ID, LocalKeyStore, type NewKey, type Tag } from './key-store';
export { KmsError } from './errors';
export type { LocalKeySpec, MessageType } from './crypto';
