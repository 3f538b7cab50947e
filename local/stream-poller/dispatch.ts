/**
 * What the stream poller delivers and how it reads the answer, as Lambda's DynamoDB Streams
 * event source mapping does: GetRecords records in the shape of Lambda's event (restoring
 * what DynamoDB Local gets wrong about TTL deletions), and `ReportBatchItemFailures`.
 */
import type { _Record, AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

const TTL_PRINCIPAL = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

/**
 * Lambda's reading of a stream handler's response: none, or an empty or absent
 * `batchItemFailures`, is success; otherwise the lowest failed record is the resume
 * point, and an identifier that names no record of the batch fails the whole batch.
 */
export function firstFailedIndex(response: unknown, records: readonly DynamoDBRecord[]): number | undefined {
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return undefined;
  if (!Array.isArray(failures)) return 0;
  let first: number | undefined;
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? records.findIndex((record) => record.dynamodb?.SequenceNumber === id) : -1;
    if (index < 0) return 0;
    first = first === undefined ? index : Math.min(first, index);
  }
  return first;
}

/** A GetRecords record in the shape Lambda delivers it (binary as base64, times as epoch seconds). */
export function toLambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  const ttlDeletion = isLocalTtlDeletion(record);
  const identity = ttlDeletion ? TTL_PRINCIPAL : lambdaIdentity(record.userIdentity);
  const created = stream.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: ttlDeletion ? 'REMOVE' : (record.eventName as DynamoDBRecord['eventName']),
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    dynamodb: withoutUndefined({
      ApproximateCreationDateTime: created === undefined ? undefined : Math.floor(new Date(created).getTime() / 1000),
      Keys: imageOf(stream.Keys),
      NewImage: imageOf(stream.NewImage),
      OldImage: imageOf(stream.OldImage),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    }),
    eventSourceARN: streamArn,
    ...(identity ? { userIdentity: identity } : {}),
  };
}

/** DynamoDB Local streams a TTL deletion as an old-image-only record with an event name the SDK does not know. */
function isLocalTtlDeletion(record: _Record): boolean {
  const known = record.eventName === 'INSERT' || record.eventName === 'MODIFY' || record.eventName === 'REMOVE';
  return !known && record.dynamodb?.OldImage !== undefined && record.dynamodb.NewImage === undefined;
}

function lambdaIdentity(identity: unknown): { type?: string; principalId?: string } | undefined {
  if (!identity || typeof identity !== 'object') return undefined;
  const raw = identity as Record<string, string | undefined>;
  return withoutUndefined({ type: raw.Type ?? raw.type, principalId: raw.PrincipalId ?? raw.principalId });
}

function imageOf(image: Record<string, SdkAttributeValue> | undefined): Record<string, AttributeValue> | undefined {
  if (!image) return undefined;
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaAttribute(value)]));
}

/** Lambda's event is JSON: binary values travel as base64 strings. */
function lambdaAttribute(value: SdkAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(lambdaAttribute) };
  if (value.M !== undefined) return { M: imageOf(value.M)! };
  return value as AttributeValue;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
