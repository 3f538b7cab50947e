/**
 * Lambda entry point of the revocation fan-out: a DynamoDB stream batch in, the partial
 * batch failures out (`fan-out.ts`). `app.ts` wires it once at cold start; `config.ts` reads
 * the settings.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { fanout } from './app';

export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => fanout(event);
