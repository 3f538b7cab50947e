/**
 * One stream batch through the fan-out: every record that is a revocation is appended to
 * the feed (idempotently), then — once per batch, not per record — each configured
 * stage's authorizer cache is flushed.
 *
 * The flush waits until the authorizers have had one poll interval to read the new
 * entries, counted from the moment the last write was durable (acknowledged by
 * DynamoDB), not from when it was sent. Flushed earlier, the next request could reach an
 * authorizer whose view was read before the entry existed, be allowed, and that Allow
 * would be cached again for the whole authorizer cache TTL — the flush would have bought
 * nothing. A write that took long (throttling retries, a slow connection) moves the
 * flush later by exactly that much.
 *
 * Failures are per record (Lambda's `ReportBatchItemFailures`: the lowest failed sequence
 * number becomes the checkpoint and the records from it on are delivered again). A record
 * no retry can read (malformed, or from a table the fan-out does not know) is acknowledged
 * and reported as discarded (a log line naming it, a metric, an alarm): retrying it would
 * only hold back the records behind it. Any other failure (the feed throttled or down, a
 * timeout) is reported and retried until it succeeds: the event source mapping retries
 * without a limit for as long as the stream keeps the record (24 hours), because a
 * revocation given up on is not fanned out by anything else.
 *
 * The flush comes after the feed writes and never fails a record: the feed is the source
 * of truth, and a cache entry that escapes a failed flush expires with the authorizer
 * cache TTL anyway.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { AUTHORIZER_ANSWER_MARGIN_MS, REVOCATION_SETTLE_MARGIN_MS } from '../../common/defaults';
import type { RevocationEntry } from '../../common/revocation-feed';
import { MalformedStreamRecord, revocationFromRecord, UnknownStreamSource, type StreamTableNames } from '../core/revocation/revocation-events';
import type { AppendResult, RevocationFeedWriter } from '../adapters/revocation-feed-writer';
import type { AuthorizerCacheFlusher, StageRef } from '../adapters/authorizer-cache-flusher';

/** Identifies a stream record in logs without its images. */
export interface RecordRef {
  readonly eventID?: string;
  readonly sequenceNumber?: string;
  readonly eventSourceARN?: string;
}

/** What the fan-out reports: Powertools logs and metrics in Lambda, a recorder in unit tests. */
export interface FanoutTelemetry {
  appended(entry: RevocationEntry, result: AppendResult): void;
  recordFailed(record: RecordRef, error: unknown): void;
  /** A record no retry can read, acknowledged so the records behind it move on. */
  recordDiscarded(record: RecordRef, error: MalformedStreamRecord | UnknownStreamSource): void;
  flushed(stage: StageRef, attempts: number): void;
  /** `final`: no attempt is left; the cache entries expire with the authorizer cache TTL. */
  flushFailed(stage: StageRef, error: unknown, attempt: number, final: boolean): void;
  /** End of a batch: emit what was collected. */
  batchDone(): void;
}

export interface FlushRetryPolicy {
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each one after. */
  readonly baseDelayMs: number;
}

/**
 * Three attempts, 200–400 ms then 400–800 ms apart (each attempt after the SDK's own
 * retries of throttling and 5xx): enough to ride out a burst of TooManyRequests from
 * concurrent fan-outs, short enough to keep the batch, and the shard behind it, moving.
 */
export const DEFAULT_FLUSH_RETRY: FlushRetryPolicy = { attempts: 3, baseDelayMs: 200 };

export interface FanoutDeps {
  readonly streamTables: StreamTableNames;
  readonly writer: RevocationFeedWriter;
  readonly flusher: AuthorizerCacheFlusher;
  readonly flushStages: readonly StageRef[];
  /** How long after a batch's last feed write was durable its flush waits: see {@link flushDelayMs}. */
  readonly flushDelayMs: number;
  readonly telemetry: FanoutTelemetry;
  readonly clockSkewSeconds: number;
  readonly now: () => number;
  readonly flushRetry?: FlushRetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): spreads the retries of concurrent fan-outs apart. */
  readonly jitter?: () => number;
}

export type FanoutHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/**
 * The flush delay for authorizers that poll the feed every `revocationPollMs`: no
 * authorizer allows a request on a view older than that plus the settle margin
 * (`RevocationView.isBehind`), and its answer then still has to reach API Gateway's
 * cache: a decision made a moment before the flush must not be cached after it.
 */
export function flushDelayMs(revocationPollMs: number): number {
  return revocationPollMs + REVOCATION_SETTLE_MARGIN_MS + AUTHORIZER_ANSWER_MARGIN_MS;
}

export function createFanout(deps: FanoutDeps): FanoutHandler {
  const sleep = deps.sleep ?? defaultSleep;
  return async (event) => {
    let revocations = 0;
    let lastDurableMs = 0;
    const handleRecord = async (record: DynamoDBRecord): Promise<void> => {
      try {
        const entry = readable(record, deps);
        if (!entry) return;
        const result = await deps.writer.append(entry);
        deps.telemetry.appended(entry, result);
        revocations += 1;
        lastDurableMs = Math.max(lastDurableMs, result.durableAtMs);
      } catch (error) {
        deps.telemetry.recordFailed(recordRef(record), error);
        throw error;
      }
    };
    try {
      // A fresh processor per batch: its state is per batch, and local mode may run batches of several shards at once.
      const response = await processPartialResponse(event, handleRecord, new BatchProcessor(EventType.DynamoDBStreams), {
        // An all-failed batch is reported item by item too: Lambda then retries from the first record, as for a throw.
        throwOnFullBatchFailure: false,
      });
      // A replayed batch whose entries were all duplicates still flushes: the earlier delivery may have died before its flush.
      if (revocations > 0 && deps.flushStages.length > 0) {
        await sleep(Math.max(0, lastDurableMs + deps.flushDelayMs - deps.now()));
        await Promise.all(deps.flushStages.map((stage) => flushWithRetry(stage, deps, sleep)));
      }
      return response;
    } finally {
      deps.telemetry.batchDone();
    }
  };
}

async function flushWithRetry(stage: StageRef, deps: FanoutDeps, sleep: (ms: number) => Promise<void>): Promise<void> {
  const policy = deps.flushRetry ?? DEFAULT_FLUSH_RETRY;
  const jitter = deps.jitter ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await deps.flusher.flush(stage);
      deps.telemetry.flushed(stage, attempt);
      return;
    } catch (error) {
      const final = attempt >= policy.attempts;
      deps.telemetry.flushFailed(stage, error, attempt, final);
      if (final) return;
      await sleep(policy.baseDelayMs * 2 ** (attempt - 1) * (1 + jitter()));
    }
  }
}

/** The record's revocation, or undefined when it is none or cannot be read (then reported as discarded). */
function readable(record: DynamoDBRecord, deps: FanoutDeps): RevocationEntry | undefined {
  try {
    return revocationFromRecord(record, deps.streamTables, { nowMs: deps.now(), clockSkewSeconds: deps.clockSkewSeconds });
  } catch (error) {
    if (!(error instanceof MalformedStreamRecord || error instanceof UnknownStreamSource)) throw error;
    deps.telemetry.recordDiscarded(recordRef(record), error);
    return undefined;
  }
}

function recordRef(record: DynamoDBRecord): RecordRef {
  return { eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber, eventSourceARN: record.eventSourceARN };
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
