/**
 * Local mode's CloudWatch Logs subscription: the local gateway's access-log lines, batched
 * and delivered to the metering function as AWS delivers them, a gzip-compressed
 * `DATA_MESSAGE` in `awslogs.data` (docs/usage.md). The function is the deployed one, its
 * TypeScript source or its bundle (local/handler-code.ts). A delivery that fails is delivered
 * again, the same event, at each flush: its id is derived from the events' ids, so a retry can
 * never count twice. As in AWS (Lambda's asynchronous retries, `MeteringDeliveryRetry`), one
 * failing delivery holds up no other, and once it has failed its retries over their window it
 * goes to the dead letters instead of being tried forever.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import { MeteringDeliveryRetry } from '../common/usage';
import { LOCAL_API } from './events';

export interface LocalUsageMeterOptions {
  /** The metering function's handler (or, in the benchmark, the core it wires). */
  readonly deliver: (event: CloudWatchLogsEvent) => Promise<unknown>;
  /** How often buffered lines are delivered. @default 1,000 ms (a CloudWatch Logs subscription delivers about as often) */
  readonly flushMs?: number;
  /** Failures are logged and the delivery is retried on the next flush. */
  readonly log: (line: string) => void;
  /** Told the lines of every delivery the function took (the benchmark measures metering lag with it). */
  readonly onDelivered?: (lines: readonly string[]) => void;
  /** A delivery that failed every retry, as it was delivered (local mode writes it to its data folder). */
  readonly deadLetter: (event: CloudWatchLogsEvent, firstEventId: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Where the stage's access log would be, as the subscription names it. */
export const LOCAL_ACCESS_LOG = {
  logGroup: `/aws/apigateway/${LOCAL_API.apiId}/${LOCAL_API.stage}/access`,
  logStream: 'local',
  subscriptionFilter: 'tollgate-metering',
} as const;

interface PendingDelivery {
  readonly event: CloudWatchLogsEvent;
  readonly lines: readonly string[];
  readonly firstEventId: string;
  attempts: number;
  firstFailedAt?: number;
}

export class LocalUsageMeter {
  private buffer: { readonly timestamp: number; readonly message: string }[] = [];
  private readonly pending: PendingDelivery[] = [];
  /** Event ids are unique per log group, as CloudWatch Logs' are: this run's prefix, then a sequence. */
  private readonly boot = BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString()
    .padStart(15, '0');
  private sequence = 0;
  private running: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LocalUsageMeterOptions) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), options.flushMs ?? 1000);
    this.timer.unref();
  }

  /** An access-log line as the gateway wrote it. */
  write(line: string, timestamp = Date.now()): void {
    this.buffer.push({ timestamp, message: line });
  }

  /** Delivers everything written so far; resolves when the function took it (rejects if a delivery failed). */
  flush(): Promise<void> {
    if (this.buffer.length > 0) {
      this.pending.push(this.delivery(this.buffer));
      this.buffer = [];
    }
    const run = this.running.catch(() => undefined).then(() => this.drain());
    this.running = run;
    return run;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
    const left = this.pending.reduce((sum, delivery) => sum + delivery.lines.length, 0);
    if (left > 0) this.options.log(JSON.stringify({ event: 'usage_metering_stopped_undelivered', deliveries: this.pending.length, lines: left }));
  }

  private delivery(entries: readonly { readonly timestamp: number; readonly message: string }[]): PendingDelivery {
    const data: CloudWatchLogsDecodedData = {
      messageType: 'DATA_MESSAGE',
      owner: LOCAL_API.accountId,
      logGroup: LOCAL_ACCESS_LOG.logGroup,
      logStream: LOCAL_ACCESS_LOG.logStream,
      subscriptionFilters: [LOCAL_ACCESS_LOG.subscriptionFilter],
      logEvents: entries.map((entry) => ({ id: `${this.boot}${String((this.sequence += 1)).padStart(12, '0')}`, ...entry })),
    };
    return {
      event: { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } },
      lines: entries.map((entry) => entry.message),
      firstEventId: data.logEvents[0]!.id,
      attempts: 0,
    };
  }

  /** Tries every pending delivery once, oldest first; rejects with the last failure, if any. */
  private async drain(): Promise<void> {
    let failure: Error | undefined;
    for (const delivery of [...this.pending]) {
      delivery.attempts += 1;
      try {
        await this.options.deliver(delivery.event);
      } catch (error) {
        failure = error as Error;
        if (this.failed(delivery, failure)) this.pending.splice(this.pending.indexOf(delivery), 1);
        continue;
      }
      this.pending.splice(this.pending.indexOf(delivery), 1);
      this.options.onDelivered?.(delivery.lines);
    }
    if (failure) throw failure;
  }

  /** Logs a failed attempt; true when the delivery has spent its retries and went to the dead letters. */
  private failed(delivery: PendingDelivery, error: Error): boolean {
    const now = (this.options.now ?? Date.now)();
    delivery.firstFailedAt ??= now;
    const spent = delivery.attempts > MeteringDeliveryRetry.retryAttempts && now - delivery.firstFailedAt >= MeteringDeliveryRetry.retryWindowMs;
    const { firstEventId, attempts } = delivery;
    const event = spent ? 'usage_metering_dead_lettered' : 'usage_metering_failed';
    this.options.log(JSON.stringify({ event, firstEventId, lines: delivery.lines.length, attempts, error: error.message }));
    if (spent) this.options.deadLetter(delivery.event, firstEventId);
    return spent;
  }
}
