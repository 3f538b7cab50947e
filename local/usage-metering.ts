/**
 * Local mode's CloudWatch Logs subscription: the local gateway's access-log lines, batched
 * and delivered to the metering function as AWS delivers them, a gzip-compressed
 * `DATA_MESSAGE` in `awslogs.data` (docs/usage.md). The function is the deployed one, its
 * TypeScript source or its bundle (local/handler-code.ts). A delivery that fails is delivered
 * again, the same event, as Lambda retries an asynchronous invocation: its id is derived from
 * the events' ids, so a retry can never count twice.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
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
    };
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const delivery = this.pending[0]!;
      try {
        await this.options.deliver(delivery.event);
      } catch (error) {
        this.options.log(JSON.stringify({ event: 'usage_metering_failed', lines: delivery.lines.length, error: (error as Error).message }));
        throw error;
      }
      this.pending.shift();
      this.options.onDelivered?.(delivery.lines);
    }
  }
}
