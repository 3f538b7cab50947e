/**
 * Credential hygiene on the rotation schedule: active API keys that expire soon or have
 * not been used for long, read from the sparse indexes of the apiKeys table (never a
 * scan), counted as metrics on every run and published as EventBridge events once per
 * UTC day. Events carry identifiers and times only: the index projections hold no secret.
 */
import { HygieneEvent } from '../../../common/names';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { Metric } from '../../../common/metrics';
import { iso } from './key-ring';
import { describeError } from './rotation-errors';
import type { HygieneReport, HygieneKeyView } from './rotation-report';
import type { RunLog } from './run-log';
import type { ApiKeyHygieneSource, EventPublisher, ExpiringApiKey, HygieneEventEntry, MetricsSink, RingStore, StaleApiKey } from './rotation-ports';

export const HygieneMetric = {
  expiring: Metric.keysExpiring,
  stale: Metric.keysStale,
  /** Not charted by the stack; for investigations. */
  eventsPublished: 'HygieneEventsPublished',
} as const;

export interface HygieneSettings {
  readonly expiryWarningDays: number;
  readonly staleKeyDays: number;
}

export interface HygieneDependencies {
  readonly source: ApiKeyHygieneSource;
  readonly events: EventPublisher;
  readonly store: RingStore;
  readonly metrics: MetricsSink;
  readonly settings: HygieneSettings;
}

/**
 * Finds expiring and stale keys; with `publish`, sends them as events unless a run
 * already did today (the claim on the ring head makes overlapping runs send them once).
 */
export async function checkHygiene(deps: HygieneDependencies, nowSeconds: number, publish: boolean, log: RunLog): Promise<HygieneReport> {
  const { expiryWarningDays, staleKeyDays } = deps.settings;
  const [expiring, stale] = await Promise.all([
    deps.source.expiringBetween(nowSeconds, nowSeconds + expiryWarningDays * SECONDS_PER_DAY),
    deps.source.unusedSince(nowSeconds - staleKeyDays * SECONDS_PER_DAY),
  ]);
  deps.metrics.record(HygieneMetric.expiring, expiring.items.length, 'Count');
  deps.metrics.record(HygieneMetric.stale, stale.items.length, 'Count');
  const entries = [...expiring.items.map((key) => expiringEvent(key, nowSeconds)), ...stale.items.map((key) => staleEvent(key, nowSeconds))];
  return {
    expiringWithinDays: expiryWarningDays,
    unusedForDays: staleKeyDays,
    expiring: expiring.items.map(expiringView),
    stale: stale.items.map(staleView),
    truncated: expiring.truncated || stale.truncated,
    events: publish ? await publishOncePerDay(deps, entries, nowSeconds, log) : 'only on step',
  };
}

async function publishOncePerDay(
  deps: HygieneDependencies,
  entries: readonly HygieneEventEntry[],
  nowSeconds: number,
  log: RunLog,
): Promise<HygieneReport['events']> {
  const day = Math.floor(nowSeconds / SECONDS_PER_DAY);
  if (!(await deps.store.claimPeriod('hygiene', day))) return 'published earlier today';
  try {
    await deps.events.publish(entries);
  } catch (error) {
    await deps.store.releasePeriod('hygiene', day).catch(() => undefined);
    log.problem(`publishing ${entries.length} hygiene event(s) failed (${describeError(error)}); the next run retries`);
    return 'failed';
  }
  deps.metrics.record(HygieneMetric.eventsPublished, entries.length, 'Count');
  return entries.length;
}

/** The detail names the key and its client and says when: identifiers only, never secrets. */
function expiringEvent(key: ExpiringApiKey, nowSeconds: number): HygieneEventEntry {
  const expiresInDays = Math.floor((key.expiresAt - nowSeconds) / SECONDS_PER_DAY);
  return {
    detailType: HygieneEvent.keyExpiring,
    detail: { keyId: key.keyId, clientId: key.clientId, expiresAt: key.expiresAt, expiresInDays },
    time: nowSeconds,
  };
}

function staleEvent(key: StaleApiKey, nowSeconds: number): HygieneEventEntry {
  const unusedDays = Math.floor((nowSeconds - key.lastUsedAt) / SECONDS_PER_DAY);
  return {
    detailType: HygieneEvent.keyStale,
    detail: { keyId: key.keyId, clientId: key.clientId, lastUsedAt: key.lastUsedAt, unusedDays },
    time: nowSeconds,
  };
}

function expiringView(key: ExpiringApiKey): HygieneKeyView {
  return { keyId: key.keyId, clientId: key.clientId, expiresAt: iso(key.expiresAt) };
}

function staleView(key: StaleApiKey): HygieneKeyView {
  return { keyId: key.keyId, clientId: key.clientId, lastUsedAt: iso(key.lastUsedAt) };
}
