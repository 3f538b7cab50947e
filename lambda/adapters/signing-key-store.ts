/**
 * The signing-key ring in DynamoDB: every key in one partition, read with one strongly
 * consistent Query. Authorizers, the issuer and the JWKS endpoint read it; only the
 * rotation function changes it (with conditional writes on `version`).
 */
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RING_HEAD_KID, RING_PARTITION, SigningKeyAttr, type SigningKeyRecord } from '../../common/tables';

export interface SigningKeyReader {
  /** Every key of the ring (any state), the head item excluded. */
  load(): Promise<SigningKeyRecord[]>;
}

export class DynamoSigningKeyStore implements SigningKeyReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(): Promise<SigningKeyRecord[]> {
    const records: SigningKeyRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#ring = :ring',
          ExpressionAttributeNames: { '#ring': SigningKeyAttr.ring },
          ExpressionAttributeValues: { ':ring': RING_PARTITION },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item[SigningKeyAttr.kid] !== RING_HEAD_KID) records.push(fromItem(item));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }

  /** Writes one key unconditionally: for tests and local seeding only; rotation uses its own conditional writes. */
  async put(record: SigningKeyRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { [SigningKeyAttr.ring]: RING_PARTITION, ...record } }));
  }
}

function fromItem(item: Record<string, unknown>): SigningKeyRecord {
  const { [SigningKeyAttr.ring]: _ring, ...record } = item;
  return record as unknown as SigningKeyRecord;
}
