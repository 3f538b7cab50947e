/** The Query port over the AWS SDK's document client: for functions that load the SDK anyway, and for tests. */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoQueryClient } from './dynamodb-query';

export function sdkQueryClient(doc: DynamoDBDocumentClient): DynamoQueryClient {
  return {
    async query(input, options = {}) {
      const page = await doc.send(new QueryCommand(input), options.timeoutMs === undefined ? {} : { abortSignal: AbortSignal.timeout(options.timeoutMs) });
      const items = page.Items ?? [];
      return page.LastEvaluatedKey === undefined ? { Items: items } : { Items: items, LastEvaluatedKey: page.LastEvaluatedKey };
    },
  };
}
