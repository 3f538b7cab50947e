import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { bounded, clientOptions, type Environment } from './options';

/** DynamoDB Streams: in AWS Lambda's event source mapping reads the streams; local mode's stream poller does it with this. */
export function dynamoDbStreamsClient(env: Environment = process.env): DynamoDBStreamsClient {
  return bounded(new DynamoDBStreamsClient(clientOptions('dynamodb', env)), 'dynamodb_streams');
}
