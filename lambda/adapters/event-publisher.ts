/**
 * Tollgate's events (credential hygiene, `KeyLeaked`) to EventBridge, source `tollgate`. PutEvents takes at most 10 entries per call and reports
 * per-entry failures in a successful response (`FailedEntryCount` + `ErrorCode` per
 * entry), so each batch is checked and its failed entries are sent once more.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { HygieneEvent } from '../../common/names';
import { EventPublishFailed } from '../core/rotation/rotation-errors';
import type { EventPublisher, HygieneEventEntry } from '../core/rotation/rotation-ports';

/** PutEvents' limit on entries per request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

export class EventBridgePublisher implements EventPublisher {
  /** @param eventBusName absent: the account's default bus. */
  constructor(
    private readonly events: EventBridgeClient,
    private readonly eventBusName?: string,
  ) {}

  async publish(entries: readonly HygieneEventEntry[]): Promise<void> {
    const failures: FailedEntry[] = [];
    for (let start = 0; start < entries.length; start += PUT_EVENTS_MAX_ENTRIES) {
      const batch = entries.slice(start, start + PUT_EVENTS_MAX_ENTRIES).map((entry) => this.toRequestEntry(entry));
      const refused = await this.put(batch);
      // Refusals are mostly throttling or internal failures, which a second attempt clears.
      failures.push(...(await this.put(refused.map((failed) => failed.entry))));
    }
    if (failures.length > 0)
      throw new EventPublishFailed(
        failures.length,
        failures.map((failed) => failed.code),
      );
  }

  /** Sends entries and returns the ones EventBridge refused, with their error codes. */
  private async put(entries: readonly PutEventsRequestEntry[]): Promise<FailedEntry[]> {
    if (entries.length === 0) return [];
    const result = await this.events.send(new PutEventsCommand({ Entries: [...entries] }));
    if (!result.FailedEntryCount) return [];
    // Response entries line up with request entries; refused ones carry an ErrorCode.
    return (result.Entries ?? []).flatMap((answer, index) => (answer.ErrorCode ? [{ entry: entries[index]!, code: answer.ErrorCode }] : []));
  }

  private toRequestEntry(entry: HygieneEventEntry): PutEventsRequestEntry {
    return {
      Source: HygieneEvent.source,
      DetailType: entry.detailType,
      Detail: JSON.stringify(entry.detail),
      Time: new Date(entry.time * 1000),
      ...(this.eventBusName && { EventBusName: this.eventBusName }),
    };
  }
}

interface FailedEntry {
  readonly entry: PutEventsRequestEntry;
  readonly code: string;
}
