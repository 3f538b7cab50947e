/** Client records in DynamoDB (`Tables.clients`). Created with a client's first key (see the API key store). */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClientAttr } from '../../common/tables';
import type { ClientStore, RevokeOutcome, StoredClient } from '../core/credentials';
import { conditionalRevoke } from './conditional-revoke';

export class DynamoClientStore implements ClientStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(clientId: string): Promise<StoredClient | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [ClientAttr.clientId]: clientId }, ConsistentRead: true }));
    if (!Item) return undefined;
    const { clientId: id, status, createdAt, revokedAt } = Item as StoredClient;
    return revokedAt === undefined ? { clientId: id, status, createdAt } : { clientId: id, status, createdAt, revokedAt };
  }

  /** The ONE write that revokes a whole client: the fan-out carries its status change. */
  revoke(clientId: string, nowSeconds: number): Promise<RevokeOutcome> {
    return conditionalRevoke(this.doc, { tableName: this.tableName, key: { [ClientAttr.clientId]: clientId } }, nowSeconds);
  }
}
