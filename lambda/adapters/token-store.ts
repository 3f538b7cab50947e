/**
 * Issued-token records in DynamoDB (`Tables.tokens`), keyed by `jti`, purged by TTL on
 * `purgeAt` (= `exp` + grace). The fan-out reads `exp` from the revoked item to bound how
 * long the revocation must be remembered, so records always carry it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TokenAttr } from '../../common/credential-items';
import type { RevokeOutcome, TokenRecord, TokenStore } from '../core/credentials/credentials';
import { conditionalRevoke } from './conditional-revoke';

export class DynamoTokenStore implements TokenStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(record: TokenRecord): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record },
          ConditionExpression: 'attribute_not_exists(#jti)',
          ExpressionAttributeNames: { '#jti': TokenAttr.jti },
        }),
      );
    } catch (error) {
      // `jti` is 128 random bits, so a record with it is this token's own: written by an
      // attempt whose answer was lost (timed out) and that the SDK then retried.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  /**
   * RFC 7009 §2.1: only the client the token was issued to may revoke it; anything else is a
   * silent no-op. True also when the write is found to be this call's own (`conditionalRevoke`).
   */
  async revokeOwned(jti: string, clientId: string, nowSeconds: number): Promise<boolean> {
    const target = { tableName: this.tableName, key: { [TokenAttr.jti]: jti }, requires: { [TokenAttr.clientId]: clientId } };
    return (await conditionalRevoke(this.doc, target, nowSeconds)) === 'revoked';
  }

  revoke(jti: string, nowSeconds: number): Promise<RevokeOutcome> {
    return conditionalRevoke(this.doc, { tableName: this.tableName, key: { [TokenAttr.jti]: jti } }, nowSeconds);
  }
}
