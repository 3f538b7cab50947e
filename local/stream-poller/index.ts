/**
 * Local mode's stand-in for Lambda's DynamoDB Streams event source mapping (`poller.ts`),
 * with its stream reader (`reader.ts`), checkpoints (`checkpoint.ts`) and Lambda-shaped
 * delivery (`dispatch.ts`).
 */
export { createStreamPoller, startStreamPoller, type StreamPoller, type StreamPollerOptions } from './poller';
export { firstFailedIndex, toLambdaRecord } from './dispatch';
export type { IteratorPosition, ShardDescription, StreamReader } from './reader';
