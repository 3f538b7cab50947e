/**
 * Revocation fan-out (docs/revocation.md): the DynamoDB streams of the credential tables invoke
 * the fan-out function, which appends to the revocation feed and flushes the stage's
 * authorizer cache. Only records that can be revocations invoke it (Lambda event
 * filtering); a record that keeps failing is split off (bisect), retried a bounded number
 * of times, and then described in an encrypted dead-letter queue instead of blocking its
 * shard, because a stuck shard would delay every later revocation.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, type DynamoEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Env } from '../common/names';
import type { Functions } from '../common/functions';
import { ApiKeyAttr, ClientAttr, CredentialStatus, SuspensionAttr, TokenAttr } from '../common/credential-items';
import { SigningKeyAttr } from '../common/signing-key-items';
import type { TollgateTables } from './data';
import { TollgateFunction } from './function';
import { apigatewayArn } from './usage-plans';

type StreamTable = (typeof Functions.fanout.streams)[number];

const revokedStatus = (attribute: string) => ({ [attribute]: { S: FilterRule.isEqual(CredentialStatus.Revoked) } });

/** The new-image pattern of a stream record that is a revocation, per streamed table. */
const REVOCATION_IMAGE: { readonly [K in StreamTable]: Record<string, unknown> } = {
  apiKeys: revokedStatus(ApiKeyAttr.status),
  clients: revokedStatus(ClientAttr.status),
  tokens: revokedStatus(TokenAttr.status),
  // A signing key is revoked by marking it compromised (docs/rotation.md), whatever its state.
  signingKeys: { [SigningKeyAttr.compromisedAt]: { N: FilterRule.exists() } },
};

/**
 * Stream record patterns (Lambda event filtering) that can carry a revocation: inserted
 * or modified items whose new image has the table's revocation mark. REMOVE records
 * (TTL deletions) never do: an expired credential needs no revocation.
 */
export function revocationFilters(table: StreamTable): Array<Record<string, unknown>> {
  const filters = [FilterCriteria.filter({ eventName: FilterRule.or('INSERT', 'MODIFY'), dynamodb: { NewImage: REVOCATION_IMAGE[table] } })];
  // A client or an API key suspended (or resumed) travels the same path as a revocation (docs/usage.md).
  if (table === 'clients' || table === 'apiKeys') {
    const suspended = { [SuspensionAttr.suspendedUntil]: { N: FilterRule.exists() } };
    filters.push(FilterCriteria.filter({ eventName: FilterRule.or('INSERT', 'MODIFY'), dynamodb: { NewImage: suspended } }));
  }
  return filters;
}

export interface RevocationFanoutProps {
  readonly tables: TollgateTables;
  /** API Gateway stage whose authorizer cache each revocation flushes. */
  readonly restApiId: string;
  readonly stageName: string;
  /**
   * Whether API Gateway caches authorizer results (`authorizerCacheTtlSeconds` > 0). Without
   * a cache there is nothing to flush: the function gets no stage to flush and no permission.
   * @default true
   */
  readonly flushAuthorizerCache?: boolean;
  /** Settings from the stack's configuration (`functionSettings(config).fanout`). */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Attempts after the first failure before a record goes to the DLQ. The fan-out reports
   * only failures a retry can clear (the feed throttled or down), and nothing else fans a
   * revocation out, so by default it is retried for as long as the stream keeps it.
   * @default unlimited
   */
  readonly retryAttempts?: number;
  /**
   * A record older than this goes to the DLQ without further retries.
   * @default the stream's retention, 24 hours (the FanoutIteratorAge alarm fires long before)
   */
  readonly maxRecordAge?: Duration;
}

export class RevocationFanout extends Construct {
  readonly function: TollgateFunction;
  /** Descriptions (not copies) of stream batches that failed every retry. */
  readonly dlq: Queue;

  constructor(scope: Construct, id: string, props: RevocationFanoutProps) {
    super(scope, id);
    this.dlq = new Queue(this, 'Dlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS keeps a message: time for an operator to replay the failed range.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself the dead-letter destination of the fan-out's stream event sources.",
    });
    this.function = new TollgateFunction(this, 'Fanout', {
      name: 'fanout',
      tables: props.tables,
      timeout: Duration.seconds(30),
      environment: {
        ...props.environment,
        ...(this.flushes(props) && { [Env.flushStages]: `${props.restApiId}/${props.stageName}` }),
      },
    });
    this.function.consumeStreams(props.tables, (table) => this.streamOptions(table as StreamTable, props));
    if (!this.flushes(props)) return;
    // FlushStageAuthorizersCache is `DELETE /restapis/{id}/stages/{stage}/cache/authorizers`.
    this.function.role.addToPolicy(
      new PolicyStatement({
        actions: ['apigateway:DELETE'],
        resources: [apigatewayArn(Stack.of(this), `/restapis/${props.restApiId}/stages/${props.stageName}/cache/authorizers`)],
      }),
    );
  }

  private flushes(props: RevocationFanoutProps): boolean {
    return props.flushAuthorizerCache ?? true;
  }

  private streamOptions(table: StreamTable, props: RevocationFanoutProps): DynamoEventSourceProps {
    return {
      // Re-reading the stream's retained 24 h after a mapping is recreated is safe: the
      // feed write is idempotent per revoked thing; starting at LATEST could skip one.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      // Revocations must reach the feed within the contract's 2 s: never wait to fill a batch.
      maxBatchingWindow: Duration.seconds(0),
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      // Left out, each is unlimited (-1): a revocation the feed could not take during an
      // outage reaches it once DynamoDB is back (docs/revocation.md, "Outages").
      ...(props.retryAttempts !== undefined && { retryAttempts: props.retryAttempts }),
      ...(props.maxRecordAge !== undefined && { maxRecordAge: props.maxRecordAge }),
      // A batch with revocations waits one authorizer poll before its cache flush, and a shard
      // starts its next batch only when the last one returns; ten batches per shard in flight
      // keep a revocation from queueing behind another's wait. Lambda keeps records of one
      // item (partition key) in order, and feed writes are idempotent.
      parallelizationFactor: 10,
      onFailure: new SqsDlq(this.dlq),
      filters: revocationFilters(table),
    };
  }
}
