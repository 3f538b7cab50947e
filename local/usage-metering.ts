/**
 * Local mode's metering pipeline: the local gateway's access-log lines, batched in process
 * and applied by the same aggregator and usage store as the deployed metering function
 * (docs/usage.md). A batch keeps its id until it is applied, so a failed write is retried
 * with the same id and can never count twice.
 */
import { randomBytes } from 'node:crypto';
import { meterLines, type ApplyResult, type RouteLabeler, type UsageSink } from '../lambda/core/usage/usage-meter';
import { meteredKeys, type QuotaEnforcer, type QuotaOutcome } from '../lambda/core/usage/usage-quota';
import type { AnomalyMonitor } from '../lambda/core/usage/usage-anomaly';

export interface LocalUsageMeterOptions {
  readonly sink: UsageSink;
  readonly routes: RouteLabeler;
  /** How often buffered lines are applied. @default 1,000 ms (a CloudWatch Logs subscription delivers about as often) */
  readonly flushMs?: number;
  /** Failures are logged and the batch is retried on the next flush. */
  readonly log: (line: string) => void;
  /** Metered quotas, checked for the clients of each batch once it is applied. */
  readonly quotas?: QuotaEnforcer;
  /** Anomaly detection over the clients' closed minutes, after each batch. */
  readonly anomalies?: AnomalyMonitor;
  /** Told after every applied batch (the benchmark measures metering lag with it). */
  readonly onApplied?: (lines: readonly string[], result: ApplyResult, quotas: readonly QuotaOutcome[]) => void;
}

interface PendingBatch {
  readonly id: string;
  readonly lines: string[];
}

export class LocalUsageMeter {
  private buffer: string[] = [];
  private readonly pending: PendingBatch[] = [];
  private readonly boot = randomBytes(6).toString('hex');
  private sequence = 0;
  private running: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LocalUsageMeterOptions) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), options.flushMs ?? 1000);
    this.timer.unref();
  }

  /** An access-log line as the gateway wrote it. */
  write(line: string): void {
    this.buffer.push(line);
  }

  /** Applies everything written so far; resolves when it is in the table (rejects if a batch failed). */
  flush(): Promise<void> {
    if (this.buffer.length > 0) {
      this.pending.push({ id: `local:${this.boot}:${(this.sequence += 1)}`, lines: this.buffer });
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

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending[0]!;
      try {
        const metered = meterLines(batch.lines, this.options.routes);
        const clientIds = metered.minutes.map((m) => m.clientId);
        const creditClients = this.options.quotas ? await this.options.quotas.creditClients(clientIds) : new Set<string>();
        const result = await this.options.sink.apply(batch.id, metered, creditClients);
        // Retried with the batch when it fails: the counts are already in and will not be added twice.
        const quotas = this.options.quotas ? await this.options.quotas.check(clientIds, meteredKeys(metered.minutes)) : [];
        if (this.options.anomalies) await this.options.anomalies.check(clientIds);
        this.pending.shift();
        for (const q of quotas) if (q.outcome === 'suspended' || q.outcome === 'approaching') this.options.log(JSON.stringify({ event: 'usage_quota', ...q }));
        this.options.onApplied?.(batch.lines, result, quotas);
      } catch (error) {
        this.options.log(JSON.stringify({ event: 'usage_metering_failed', batchId: batch.id, lines: batch.lines.length, error: (error as Error).message }));
        throw error;
      }
    }
  }
}
