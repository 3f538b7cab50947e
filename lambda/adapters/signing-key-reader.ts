/**
 * Reading the signing-key ring (one partition, one strongly consistent Query) through the
 * Query port, without the SDK: the authorizer's key source. `DynamoSigningKeyStore` runs
 * the same Query through the SDK for the functions that also write the ring.
 */
import { RING_HEAD_KID, RING_PARTITION, SigningKeyAttr, type SigningKeyRecord } from '../../common/signing-key-items';
import type { KeyRingSource } from '../core/authorizer/key-ring-cache';
import { queryAll, type DynamoQueryClient, type QueryInput } from './dynamodb-query';

/** Every item of the ring partition, the head included. */
export function ringQuery(tableName: string): QueryInput {
  return {
    TableName: tableName,
    KeyConditionExpression: '#ring = :ring',
    ExpressionAttributeNames: { '#ring': SigningKeyAttr.ring },
    ExpressionAttributeValues: { ':ring': RING_PARTITION },
    ConsistentRead: true,
  };
}

/** The key records of the ring partition's items: the head item left out, the partition attribute dropped. */
export function ringRecords(items: readonly Record<string, unknown>[]): SigningKeyRecord[] {
  return items.filter((item) => item[SigningKeyAttr.kid] !== RING_HEAD_KID).map(ringRecord);
}

export function ringRecord(item: Record<string, unknown>): SigningKeyRecord {
  const { [SigningKeyAttr.ring]: _ring, ...record } = item;
  return record as unknown as SigningKeyRecord;
}

export class SigningKeyRingReader implements KeyRingSource {
  constructor(
    private readonly client: DynamoQueryClient,
    private readonly tableName: string,
  ) {}

  async load(): Promise<SigningKeyRecord[]> {
    return ringRecords(await queryAll(this.client, ringQuery(this.tableName)));
  }
}
