/**
 * The hygiene reads of the apiKeys table: Queries of the sparse indexes `activeByExpiry`
 * and `activeByLastUsed` (only active keys carry their partition key), bounded in pages,
 * never a scan. The indexes project `clientId` besides the keys, never the key hash.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ACTIVE_PARTITION, ApiKeyAttr, ApiKeyIndex } from '../../common/credential-items';
import type { ApiKeyHygieneSource, BoundedList, ExpiringApiKey, StaleApiKey } from '../core/rotation/rotation-ports';

export interface ApiKeyHygieneOptions {
  /** Index pages read per question per run. @default 10 */
  readonly maxPages?: number;
  /** Items per page. @default 100 */
  readonly pageSize?: number;
}

type Item = Record<string, unknown>;

export class DynamoApiKeyHygiene implements ApiKeyHygieneSource {
  private readonly maxPages: number;
  private readonly pageSize: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: ApiKeyHygieneOptions = {},
  ) {
    this.maxPages = options.maxPages ?? 10;
    this.pageSize = options.pageSize ?? 100;
  }

  async expiringBetween(fromSeconds: number, untilSeconds: number): Promise<BoundedList<ExpiringApiKey>> {
    const found = await this.query(ApiKeyIndex.activeByExpiry, ApiKeyAttr.expiresAt, 'BETWEEN :from AND :until', {
      ':from': fromSeconds,
      ':until': untilSeconds,
    });
    return { truncated: found.truncated, items: found.items.map((item) => ({ ...sighting(item), expiresAt: Number(item[ApiKeyAttr.expiresAt]) })) };
  }

  async unusedSince(beforeSeconds: number): Promise<BoundedList<StaleApiKey>> {
    const found = await this.query(ApiKeyIndex.activeByLastUsed, ApiKeyAttr.lastUsedAt, '< :before', { ':before': beforeSeconds });
    return { truncated: found.truncated, items: found.items.map((item) => ({ ...sighting(item), lastUsedAt: Number(item[ApiKeyAttr.lastUsedAt]) })) };
  }

  /** One sparse index, the active partition, a range on its sort key; at most `maxPages` pages. */
  private async query(indexName: string, sortKey: string, range: string, values: Record<string, number>): Promise<BoundedList<Item>> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    let pages = 0;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexName,
          KeyConditionExpression: `#partition = :active AND #sort ${range}`,
          ExpressionAttributeNames: { '#partition': ApiKeyAttr.activePartition, '#sort': sortKey },
          ExpressionAttributeValues: { ':active': ACTIVE_PARTITION, ...values },
          Limit: this.pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
      pages += 1;
    } while (startKey && pages < this.maxPages);
    return { items, truncated: startKey !== undefined };
  }
}

function sighting(item: Item): { keyId: string; clientId: string } {
  return { keyId: String(item[ApiKeyAttr.keyId]), clientId: String(item[ApiKeyAttr.clientId]) };
}
