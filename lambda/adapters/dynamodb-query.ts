/**
 * The one DynamoDB call the authorizer makes, as a port: a Query page in plain values.
 * Two implementations: `sdk-query-client.ts` (the AWS SDK document client, for code that
 * loads the SDK anyway) and `dynamodb-http/client.ts` (SigV4 over `node:http(s)`, for the
 * authorizer's cold start). Nothing here imports the SDK.
 */

/** An item in plain values (strings, numbers, booleans, lists, maps, sets). */
export type Item = Record<string, unknown>;

/** Query parameters in plain values, as `@aws-sdk/lib-dynamodb` takes them. */
export interface QueryInput {
  readonly TableName: string;
  readonly KeyConditionExpression: string;
  readonly ExpressionAttributeNames: Readonly<Record<string, string>>;
  readonly ExpressionAttributeValues: Readonly<Record<string, string | number>>;
  readonly ConsistentRead?: boolean;
  /** Items per page (DynamoDB stops a page at 1 MB anyway). */
  readonly Limit?: number;
  readonly ExclusiveStartKey?: Readonly<Record<string, string | number>>;
}

export interface QueryPage {
  readonly Items: Item[];
  readonly LastEvaluatedKey?: Record<string, string | number>;
}

export interface QueryOptions {
  /** Upper bound for the call, retries included. */
  readonly timeoutMs?: number;
}

export interface DynamoQueryClient {
  query(input: QueryInput, options?: QueryOptions): Promise<QueryPage>;
}

/** Every page of a Query, in order. */
export async function queryAll(client: DynamoQueryClient, input: QueryInput, options?: QueryOptions): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: QueryInput['ExclusiveStartKey'];
  do {
    const page = await client.query(startKey === undefined ? input : { ...input, ExclusiveStartKey: startKey }, options);
    items.push(...page.Items);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
