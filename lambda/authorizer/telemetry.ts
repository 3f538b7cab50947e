/**
 * The authorizer's logs and metrics, built for a hot path:
 * - every denial logs one structured line; allows are logged at a sample rate;
 * - metrics are integer counters in memory, published as one batch at most every
 *   `flushIntervalMs`. Publishing serialises JSON and writes to stdout (EMF), which costs
 *   more than a cached decision itself, so doing it per request would break the latency
 *   budget; CloudWatch aggregates per minute anyway, so a 30 s batch loses nothing but
 *   the last partial batch when an instance is reclaimed.
 * Never logs a token: only reason codes, clientId, jti and kid (not secrets; RFC 9068 §6).
 */
import { RejectReason } from '../core/authorizer/authorizer-errors';
import type { Decision } from '../core/authorizer/authorizer';
import type { KeyRingEvent } from '../core/authorizer/key-ring-cache';
import type { RevocationViewEvent } from '../core/revocation/revocation-view';

/** Structural subset of the Powertools Logger. */
export interface LogSink {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** One metrics batch. Counts are since the previous batch. */
export interface TelemetrySnapshot {
  readonly decisions: { readonly outcome: Decision['outcome']; readonly reason: string; readonly count: number }[];
  /** A uniform sample (reservoir) of decision latencies in the batch, milliseconds. */
  readonly latencySamplesMs: readonly number[];
  readonly cacheHits: number;
  readonly cacheMisses: number;
  /**
   * Ages of the revocation view (ms): at publish time, and the oldest seen when a read
   * failed during the batch (the worst age a decision may have used). Infinity before
   * the first successful read.
   */
  readonly revocationViewAgesMs: readonly number[];
  readonly keyRingRefreshes: number;
  readonly keyRingRefreshFailures: number;
  readonly revocationReadFailures: number;
  readonly revocationEntriesAdded: number;
}

export interface MetricsPublisher {
  publish(snapshot: TelemetrySnapshot): void;
}

/** What the telemetry reads from the core at publish time. */
export interface TelemetrySource {
  readonly stats: { cacheHits: number; cacheMisses: number };
  revocationViewAgeMs(): number;
}

export interface TelemetryOptions {
  readonly log: LogSink;
  readonly metrics: MetricsPublisher;
  readonly allowLogSampleRate: number;
  readonly flushIntervalMs?: number;
  /** Monotonic milliseconds (`performance.now`). */
  readonly monotonicNow?: () => number;
  readonly random?: () => number;
}

/** Metrics batch period: well inside CloudWatch's one-minute resolution, rare enough to be free. */
export const METRICS_FLUSH_INTERVAL_MS = 30_000;
/** Latency values kept per batch: EMF carries at most 100 values of one metric per document. */
export const LATENCY_SAMPLES = 100;
/** Paths are client-controlled: logged up to this length. */
const MAX_LOGGED_PATH = 256;
/**
 * So is the `kid` of a token refused before its signature is checked (an unknown kid, a bad
 * header, a bad signature): it is what the header claims, logged up to this length. Ring kids
 * are far shorter.
 */
const MAX_LOGGED_KID = 128;
const ALLOW = 'allow';

export interface RequestFacts {
  readonly httpMethod?: string;
  readonly path?: string;
}

export class AuthorizerTelemetry {
  private readonly counts = new Map<string, number>();
  private allowed = 0;
  private keyRingRefreshes = 0;
  private keyRingRefreshFailures = 0;
  private revocationReadFailures = 0;
  private revocationEntriesAdded = 0;
  private latencySamplesMs: number[] = [];
  private decisionsSeen = 0;
  private worstFailedViewAgeMs = 0;
  private nextFlushMs: number;
  private flushScheduled = false;
  private readonly flushIntervalMs: number;
  /** Monotonic milliseconds: latency and the batch period are measured on this clock. */
  readonly monotonicNow: () => number;
  private readonly random: () => number;
  private source: TelemetrySource | undefined;

  constructor(private readonly options: TelemetryOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? METRICS_FLUSH_INTERVAL_MS;
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.nextFlushMs = this.monotonicNow() + this.flushIntervalMs;
  }

  /** The core whose counters are published (set once it exists; it reports into this object). */
  attach(source: TelemetrySource): void {
    this.source = source;
  }

  /** Counts a decision and writes its log line (every denial; allows when sampled). */
  decision(decision: Decision, request: RequestFacts, latencyUs: number): void {
    this.sampleLatency(latencyUs / 1000);
    if (decision.outcome === ALLOW) {
      this.allowed += 1;
      if (this.random() < this.options.allowLogSampleRate) this.options.log.info('authorizer decision', this.line(decision, request, latencyUs));
    } else {
      const key = `${decision.outcome}:${decision.reason}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      if (decision.outcome === 'reject' && decision.reason === RejectReason.internalError) {
        this.options.log.error('authorizer internal error', this.line(decision, request, latencyUs), { error: decision.error });
      } else {
        this.options.log.info('authorizer decision', this.line(decision, request, latencyUs));
      }
    }
  }

  keyRingEvent = (event: KeyRingEvent): void => {
    if (event.type === 'refreshed') {
      this.keyRingRefreshes += 1;
      for (const skipped of event.skipped) this.options.log.warn('signing key skipped', { ...skipped });
    } else {
      this.keyRingRefreshFailures += 1;
      this.options.log.warn('key ring refresh failed', { error: event.error });
    }
  };

  revocationEvent = (event: RevocationViewEvent): void => {
    if (event.type === 'read_failed') {
      this.revocationReadFailures += 1;
      if (event.ageMs > this.worstFailedViewAgeMs) this.worstFailedViewAgeMs = event.ageMs;
      // The age says how close the view is to failing closed (docs/revocation.md).
      this.options.log.warn('revocation feed read failed', { error: event.error, viewAgeMs: finiteOrNull(event.ageMs) });
    } else {
      this.revocationEntriesAdded += event.added;
      if (event.type === 'loaded') this.options.log.info('revocation view loaded', { entries: event.added, durationMs: event.durationMs });
    }
  };

  malformedFeedItems = (count: number): void => {
    this.options.log.warn('revocation feed items skipped: not entry-shaped', { count });
  };

  /** Schedules a publish after the current request when the batch period has passed (`nowMs`: monotonic). */
  flushIfDue(nowMs: number): void {
    if (this.flushScheduled || nowMs < this.nextFlushMs) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Publishes and resets the counters now. */
  flush(): void {
    this.flushScheduled = false;
    this.nextFlushMs = this.monotonicNow() + this.flushIntervalMs;
    const stats = this.source?.stats ?? { cacheHits: 0, cacheMisses: 0 };
    const decisions: { outcome: Decision['outcome']; reason: string; count: number }[] = [];
    if (this.allowed) decisions.push({ outcome: ALLOW, reason: ALLOW, count: this.allowed });
    for (const [key, count] of this.counts) {
      const [outcome, reason] = key.split(':') as [Decision['outcome'], string];
      decisions.push({ outcome, reason, count });
    }
    const currentAgeMs = this.source?.revocationViewAgeMs() ?? Number.POSITIVE_INFINITY;
    const snapshot: TelemetrySnapshot = {
      decisions,
      latencySamplesMs: this.latencySamplesMs,
      cacheHits: stats.cacheHits,
      cacheMisses: stats.cacheMisses,
      revocationViewAgesMs: this.worstFailedViewAgeMs > 0 ? [currentAgeMs, this.worstFailedViewAgeMs] : [currentAgeMs],
      keyRingRefreshes: this.keyRingRefreshes,
      keyRingRefreshFailures: this.keyRingRefreshFailures,
      revocationReadFailures: this.revocationReadFailures,
      revocationEntriesAdded: this.revocationEntriesAdded,
    };
    this.reset(stats);
    try {
      this.options.metrics.publish(snapshot);
    } catch (error) {
      this.options.log.warn('metrics publish failed', { error });
    }
  }

  /** Reservoir sampling (Algorithm R): every decision of the batch equally likely to be kept. */
  private sampleLatency(ms: number): void {
    this.decisionsSeen += 1;
    if (this.latencySamplesMs.length < LATENCY_SAMPLES) {
      this.latencySamplesMs.push(ms);
      return;
    }
    const slot = Math.floor(this.random() * this.decisionsSeen);
    if (slot < LATENCY_SAMPLES) this.latencySamplesMs[slot] = ms;
  }

  private reset(stats: { cacheHits: number; cacheMisses: number }): void {
    this.counts.clear();
    this.latencySamplesMs = [];
    this.decisionsSeen = 0;
    this.worstFailedViewAgeMs = 0;
    this.allowed = 0;
    stats.cacheHits = 0;
    stats.cacheMisses = 0;
    this.keyRingRefreshes = 0;
    this.keyRingRefreshFailures = 0;
    this.revocationReadFailures = 0;
    this.revocationEntriesAdded = 0;
  }

  private line(decision: Decision, request: RequestFacts, latencyUs: number): Record<string, unknown> {
    return {
      outcome: decision.outcome,
      reason: decision.outcome === ALLOW ? ALLOW : decision.reason,
      clientId: decision.clientId,
      jti: decision.jti,
      kid: decision.kid?.slice(0, MAX_LOGGED_KID),
      method: request.httpMethod,
      path: request.path?.slice(0, MAX_LOGGED_PATH),
      latencyUs,
    };
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
