/**
 * Idempotency-Key claims and stored answers in DynamoDB (`Tables.idempotency`), keyed by the
 * key's SHA-256 and expired by TTL. Every write is conditional, so two concurrent requests
 * with one key never both run: the loser of the claim reads the winner's record.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IdempotencyAttr } from '../../common/credential-items';
import type { IdempotencyRecord, IdempotencyStore } from '../core/admin/idempotency';

const A = IdempotencyAttr;

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(record: IdempotencyRecord, nowSeconds: number): ReturnType<IdempotencyStore['claim']> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record },
          // TTL deletes within days, not at once: an expired record is as good as none.
          ConditionExpression: 'attribute_not_exists(#keyHash) OR #expiresAt < :now',
          ExpressionAttributeNames: { '#keyHash': A.keyHash, '#expiresAt': A.expiresAt },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return { claimed: true } as const;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [A.keyHash]: record.keyHash }, ConsistentRead: true }));
    // Deleted between the two calls (TTL): claim again, once.
    if (!Item) return this.claim(record, nowSeconds);
    return { claimed: false, existing: Item as IdempotencyRecord } as const;
  }

  async takeOver(keyHash: string, previousLockMs: number, lockedUntilMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.keyHash]: keyHash },
          UpdateExpression: 'SET #lockedUntilMs = :lock',
          ConditionExpression: '#state = :inProgress AND #lockedUntilMs = :previous',
          ExpressionAttributeNames: { '#lockedUntilMs': A.lockedUntilMs, '#state': A.state },
          ExpressionAttributeValues: { ':lock': lockedUntilMs, ':previous': previousLockMs, ':inProgress': 'in_progress' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async complete(keyHash: string, statusCode: number, response: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [A.keyHash]: keyHash },
        UpdateExpression: 'SET #state = :done, #statusCode = :status, #response = :response REMOVE #lockedUntilMs',
        ConditionExpression: '#state = :inProgress',
        ExpressionAttributeNames: { '#state': A.state, '#statusCode': A.statusCode, '#response': A.response, '#lockedUntilMs': A.lockedUntilMs },
        ExpressionAttributeValues: { ':done': 'done', ':status': statusCode, ':response': response, ':inProgress': 'in_progress' },
      }),
    );
  }

  async release(keyHash: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.keyHash]: keyHash },
          UpdateExpression: 'SET #lockedUntilMs = :released',
          ConditionExpression: '#state = :inProgress',
          ExpressionAttributeNames: { '#lockedUntilMs': A.lockedUntilMs, '#state': A.state },
          ExpressionAttributeValues: { ':released': 0, ':inProgress': 'in_progress' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
