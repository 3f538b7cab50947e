/**
 * What the authorizer reads its key ring and revocation feed through: one Query client over
 * the two tables. The handler's wiring (`app.ts`) and the benchmark's (the SDK-reader
 * variant, P5's DynamoDB Local warm-up) all take their readers from here, so each reads what
 * a cold start of the handler reads.
 */
import type { DynamoQueryClient } from '../adapters/dynamodb-query';
import { RevocationFeedReader } from '../adapters/revocation-feed-reader';
import { SigningKeyRingReader } from '../adapters/signing-key-reader';
import type { AuthorizerPorts } from '../core/authorizer/create-authorizer';
import type { AuthorizerConfig } from './config';

/** `onMalformed`: told how many feed items of a read were malformed (and skipped). */
export function authorizerSources(
  client: DynamoQueryClient,
  tables: AuthorizerConfig['tables'],
  onMalformed?: (count: number) => void,
): Pick<AuthorizerPorts, 'keySource' | 'feed'> {
  return {
    keySource: new SigningKeyRingReader(client, tables.signingKeys),
    feed: new RevocationFeedReader(client, tables.revocations, { onMalformed }),
  };
}
