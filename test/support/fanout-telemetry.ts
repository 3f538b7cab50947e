/**
 * A fan-out telemetry port that records what the fan-out reported, for tests that assert
 * on appends, duplicates, failed records and flushes without parsing log lines.
 */
import type { RevocationEntry } from '../../common/revocation-feed';
import type { AppendResult } from '../../lambda/adapters/revocation-feed-writer';
import type { StageRef } from '../../lambda/adapters/authorizer-cache-flusher';
import type { FanoutTelemetry, RecordRef } from '../../lambda/fanout/fan-out';

export type FanoutEvent =
  | { readonly type: 'appended'; readonly entry: RevocationEntry; readonly outcome: AppendResult['outcome'] }
  | { readonly type: 'recordFailed'; readonly record: RecordRef; readonly error: string }
  | { readonly type: 'recordDiscarded'; readonly record: RecordRef; readonly error: string }
  | { readonly type: 'flushed'; readonly stage: StageRef; readonly attempts: number }
  | { readonly type: 'flushFailed'; readonly stage: StageRef; readonly attempt: number; readonly final: boolean }
  | { readonly type: 'batchDone' };

export class RecordingFanoutTelemetry implements FanoutTelemetry {
  readonly events: FanoutEvent[] = [];

  appended(entry: RevocationEntry, result: AppendResult): void {
    this.events.push({ type: 'appended', entry, outcome: result.outcome });
  }

  recordFailed(record: RecordRef, error: unknown): void {
    this.events.push({ type: 'recordFailed', record, error: (error as Error).name });
  }

  recordDiscarded(record: RecordRef, error: Error): void {
    this.events.push({ type: 'recordDiscarded', record, error: error.name });
  }

  flushed(stage: StageRef, attempts: number): void {
    this.events.push({ type: 'flushed', stage, attempts });
  }

  flushFailed(stage: StageRef, _error: unknown, attempt: number, final: boolean): void {
    this.events.push({ type: 'flushFailed', stage, attempt, final });
  }

  batchDone(): void {
    this.events.push({ type: 'batchDone' });
  }

  of<T extends FanoutEvent['type']>(type: T): Extract<FanoutEvent, { type: T }>[] {
    return this.events.filter((event): event is Extract<FanoutEvent, { type: T }> => event.type === type);
  }
}
