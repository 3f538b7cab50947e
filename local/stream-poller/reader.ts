/**
 * The DynamoDB Streams calls the stream poller makes, behind one interface: the SDK against
 * DynamoDB Local here, a fake in unit tests.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { EndpointEnv } from '../../common/names';
import { dynamoDbClient } from '../../lambda/adapters/clients/dynamodb';
import { dynamoDbStreamsClient } from '../../lambda/adapters/clients/dynamodb-streams';

export interface ShardDescription {
  readonly shardId: string;
  readonly parentShardId?: string;
}

export type IteratorPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

export interface StreamReader {
  streamArn(tableName: string): Promise<string>;
  shards(streamArn: string): Promise<ShardDescription[]>;
  /** `undefined`: the shard is closed and has nothing more at that position. */
  iterator(streamArn: string, shardId: string, position: IteratorPosition): Promise<string | undefined>;
  /** `nextIterator` absent: the shard is closed and fully read. */
  records(iterator: string, limit: number): Promise<{ records: _Record[]; nextIterator?: string }>;
  close(): void;
}

export function sdkStreamReader(endpoint: string): StreamReader {
  // Bounded like every function's clients: a hung DynamoDB Local fails a poll, which is retried.
  const env = { [EndpointEnv.dynamodb]: endpoint };
  const dynamodb = dynamoDbClient(env);
  const streams = dynamoDbStreamsClient(env);
  return {
    async streamArn(tableName) {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
      if (!Table?.StreamSpecification?.StreamEnabled || !Table.LatestStreamArn) throw new Error(`table ${tableName} has no stream to poll`);
      return Table.LatestStreamArn;
    },
    async shards(streamArn) {
      const shards: ShardDescription[] = [];
      let start: string | undefined;
      do {
        const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
        for (const shard of StreamDescription?.Shards ?? []) {
          if (shard.ShardId) shards.push({ shardId: shard.ShardId, ...(shard.ParentShardId === undefined ? {} : { parentShardId: shard.ParentShardId }) });
        }
        start = StreamDescription?.LastEvaluatedShardId;
      } while (start);
      return shards;
    },
    async iterator(streamArn, shardId, position) {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: position.type,
          SequenceNumber: position.type === 'TRIM_HORIZON' ? undefined : position.sequenceNumber,
        }),
      );
      return ShardIterator;
    },
    async records(iterator, limit) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
      return { records: page.Records ?? [], nextIterator: page.NextShardIterator };
    },
    close() {
      dynamodb.destroy();
      streams.destroy();
    },
  };
}
