/**
 * DynamoDB stream records in the shape Lambda delivers them, for tests of stream
 * consumers: images from plain objects (strings → S, numbers → N), stream ARNs of the
 * right form, TTL deletions from the DynamoDB service principal.
 */
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

export type PlainImage = Readonly<Record<string, string | number | null>>;

export function image(item: PlainImage): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(item).map(([name, value]): [string, AttributeValue] => {
      if (value === null) return [name, { NULL: true }];
      return [name, typeof value === 'number' ? { N: String(value) } : { S: value }];
    }),
  );
}

export function streamArn(tableName: string, region = 'us-east-1'): string {
  return `arn:aws:dynamodb:${region}:123456789012:table/${tableName}/stream/2026-01-01T00:00:00.000`;
}

export interface RecordSpec {
  readonly tableName: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: PlainImage;
  readonly newImage?: PlainImage;
  readonly oldImage?: PlainImage;
  readonly sequenceNumber?: string;
  readonly ttlDeletion?: boolean;
  readonly approximateCreationSeconds?: number;
}

let sequence = 1000;

export function streamRecord(spec: RecordSpec): DynamoDBRecord {
  const sequenceNumber = spec.sequenceNumber ?? String((sequence += 1)).padStart(21, '0');
  return {
    eventID: `event-${sequenceNumber}`,
    eventName: spec.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: spec.approximateCreationSeconds ?? 1_800_000_000,
      Keys: image(spec.keys),
      ...(spec.newImage ? { NewImage: image(spec.newImage) } : {}),
      ...(spec.oldImage ? { OldImage: image(spec.oldImage) } : {}),
      SequenceNumber: sequenceNumber,
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: streamArn(spec.tableName),
    ...(spec.ttlDeletion ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  };
}
