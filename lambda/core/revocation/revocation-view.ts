/**
 * This instance's view of the revocation feed (docs/revocation.md): what is revoked, by token
 * (`jti`), API key (`cid`), client (`sub`) and signing key (`kid`), and who is suspended (`sus`
 * clients, `ksus` API keys).
 *
 * - Cold start loads every feed partition that can still hold a live entry: a revocation
 *   matters at most for the longest token lifetime plus clock skew (plus a margin)
 *   after it was written, so older buckets hold only dead revocations; suspensions, which
 *   last until their end, are also read whole from `FEED_SUSPENSIONS_PARTITION`.
 * - Afterwards each poll reads only entries newer than the cursor (`seq > cursor`, one
 *   Query per partition), re-reading a short look-back window: two fan-out writers'
 *   timestamps can become visible slightly out of order, so an entry stamped just
 *   before the previous poll may only appear after it. Re-read entries are deduplicated.
 * - Polls run at most every `pollIntervalMs`, started by requests and not awaited by them
 *   while the view is current. A view that has missed a poll (older than one interval plus
 *   `REVOCATION_SETTLE_MARGIN_MS`: an instance that was idle) is read before a request is
 *   decided, because the fan-out flushes API Gateway's authorizer cache on the assumption
 *   that no decision uses an older view, and a decision on it could be cached for the cache
 *   TTL. While the feed cannot be read, requests are decided on the last view instead, up
 *   to `maxStalenessMs`; after that they fail closed.
 */
import { REVOCATION_SETTLE_MARGIN_MS } from '../../../common/defaults';
import {
  FEED_LOOKBACK_MS,
  FEED_SUSPENSIONS_PARTITION,
  feedPartitionsBetween,
  feedSortKey,
  parseSuspensionValue,
  RevocationKind,
  SUSPENSION_KINDS,
  type RevocationEntry,
  type SuspensionReason,
} from '../../../common/revocation-feed';
import { SingleFlight } from '../shared/single-flight';

/** A feed entry with its sort key, as the reader returns it. */
export interface FeedRecord extends RevocationEntry {
  /** The feed sort key (`FeedAttr.seq`). */
  readonly seq: string;
}

/** The feed: `RevocationFeedReader` (DynamoDB) in AWS, fakes of this interface in unit tests. */
export interface RevocationFeedSource {
  /** Every entry of the given partitions whose sort key is greater than `afterSeq`. */
  read(partitions: readonly string[], afterSeq: string): Promise<readonly FeedRecord[]>;
}

export type RevocationViewEvent =
  | { readonly type: 'loaded' | 'polled'; readonly added: number; readonly durationMs: number }
  | { readonly type: 'read_failed'; readonly error: unknown; readonly ageMs: number };

export interface RevocationViewOptions {
  readonly source: RevocationFeedSource;
  readonly pollIntervalMs: number;
  readonly maxStalenessMs: number;
  /** How far back a cold start reads, in seconds: longest token lifetime + skew + margin. */
  readonly windowSeconds: number;
  readonly lookbackMs?: number;
  readonly now: () => number;
  readonly onEvent?: (event: RevocationViewEvent) => void;
  /** Called with revocations new to this view (never suspensions), so caches can drop what they revoke. */
  readonly onRevoked?: (entries: readonly RevocationEntry[]) => void;
}

/** How often entries whose `purgeAt` has passed are dropped from memory. */
const PRUNE_INTERVAL_MS = 60_000;

export class RevocationView {
  private readonly byKind: Readonly<Record<RevocationKind, Map<string, number>>> = {
    [RevocationKind.Token]: new Map(),
    [RevocationKind.ApiKey]: new Map(),
    [RevocationKind.Client]: new Map(),
    [RevocationKind.SigningKey]: new Map(),
    [RevocationKind.Suspension]: new Map(),
    [RevocationKind.KeySuspension]: new Map(),
  };
  /** Per client, its newest suspension entry: until when, written when, and its feed purge time (all epoch ms / s). */
  private readonly suspensions = new Map<string, SuspensionState>();
  /** Per API key (`keyId`), its newest suspension entry (a per-key quota used up). */
  private readonly keySuspensions = new Map<string, SuspensionState>();
  private latestSuspensionEndMs = 0;
  private readonly flight: SingleFlight;
  private lastSuccessMs = Number.NEGATIVE_INFINITY;
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private lastReadFailed = false;
  private lastPruneMs = 0;
  /** Our clock when the last successful read started; the next read starts there (minus look-back). */
  private cursorMs: number | undefined;
  private readonly lookbackMs: number;

  constructor(private readonly options: RevocationViewOptions) {
    this.lookbackMs = options.lookbackMs ?? FEED_LOOKBACK_MS;
    // A read may take as long as the view may be stale before it is given up on.
    this.flight = new SingleFlight(Math.max(options.maxStalenessMs, options.pollIntervalMs));
  }

  /** Whether the token is revoked by its id, its API key, its client or its signing key. */
  isRevoked(jti: string, apiKeyId: string, clientId: string, kid: string): boolean {
    const m = this.byKind;
    return m.jti.has(jti) || m.cid.has(apiKeyId) || m.sub.has(clientId) || m.kid.has(kid);
  }

  /**
   * The suspension in force at `nowMs` of the client or of the API key (until when, epoch
   * ms, and why), or undefined (docs/usage.md). A suspension ends by itself at its `until`;
   * the newest entry wins, so an operator's lift (an entry whose `until` is the moment it was
   * lifted) ends it at once. The client's comes first: it is the wider refusal.
   */
  suspension(clientId: string, apiKeyId: string, nowMs: number): { readonly untilMs: number; readonly reason: SuspensionReason } | undefined {
    const client = this.suspensions.size === 0 ? undefined : this.suspensions.get(clientId);
    if (client !== undefined && client.untilMs > nowMs) return client;
    const key = this.keySuspensions.size === 0 ? undefined : this.keySuspensions.get(apiKeyId);
    return key !== undefined && key.untilMs > nowMs ? key : undefined;
  }

  /**
   * The latest end of any suspension this view holds (epoch ms; 0 when none): while it is in
   * the past no request needs {@link suspension}. Ended suspensions and liftings stay in the
   * view until their `purgeAt` (a month, for a quota period's), so their mere presence would
   * put every request of every instance through the lookup.
   */
  get suspensionsEndMs(): number {
    return this.latestSuspensionEndMs;
  }

  /** Milliseconds since the last successful read started (Infinity before the first). */
  ageMs(nowMs: number): number {
    return nowMs - this.lastSuccessMs;
  }

  isStale(nowMs: number): boolean {
    return nowMs - this.lastSuccessMs > this.options.maxStalenessMs;
  }

  /** Whether the view has missed a poll (an idle instance), or is stale. */
  isBehind(nowMs: number): boolean {
    return nowMs - this.lastSuccessMs > this.options.pollIntervalMs + REVOCATION_SETTLE_MARGIN_MS;
  }

  /**
   * Whether a request must wait for a read before it is decided: the view is behind and
   * the feed was readable at the last attempt (while it is not, requests are decided on the
   * last view until it is stale, rather than each waiting on a feed that is down).
   */
  mustReadBeforeDeciding(nowMs: number): boolean {
    return this.isBehind(nowMs) && (!this.lastReadFailed || this.isStale(nowMs));
  }

  get entries(): number {
    let total = 0;
    for (const map of Object.values(this.byKind)) total += map.size;
    return total;
  }

  /** Starts a read when the poll interval has passed; never waits for it. */
  refreshIfDue(nowMs: number): void {
    if (nowMs - this.lastStartMs >= this.options.pollIntervalMs && !this.flight.running(nowMs)) void this.refresh(nowMs);
  }

  /**
   * For a request that must wait ({@link mustReadBeforeDeciding}): join the read in flight,
   * or start one if the poll interval allows; if a read failed moments ago, return at once
   * (a stale view then fails the request closed).
   */
  async refreshWhenBehind(nowMs: number): Promise<void> {
    if (!this.mustReadBeforeDeciding(nowMs)) return;
    if (this.flight.running(nowMs) || nowMs - this.lastStartMs >= this.options.pollIntervalMs) await this.refresh(nowMs);
  }

  /** Reads the feed now (the cold-start load first, polls after); joins a read in flight. Never rejects. */
  refresh(nowMs: number): Promise<void> {
    return this.flight.run(nowMs, () => {
      this.lastStartMs = nowMs;
      return this.read(nowMs);
    });
  }

  private async read(startedMs: number): Promise<void> {
    const coldStart = this.cursorMs === undefined;
    const fromMs = coldStart ? startedMs - this.options.windowSeconds * 1000 : this.cursorMs! - this.lookbackMs;
    const partitions = feedPartitionsBetween(Math.floor(fromMs / 1000), Math.floor(startedMs / 1000));
    let records: readonly FeedRecord[];
    try {
      const reads = [this.options.source.read(partitions, feedSortKey(fromMs, ''))];
      // Every suspension still in the table, however long ago it was written (an empty cursor reads a partition whole).
      if (coldStart) reads.push(this.options.source.read([FEED_SUSPENSIONS_PARTITION], ''));
      records = (await Promise.all(reads)).flat();
    } catch (error) {
      this.lastReadFailed = true;
      this.options.onEvent?.({ type: 'read_failed', error, ageMs: this.ageMs(this.options.now()) });
      throw error;
    }
    this.lastReadFailed = false;
    const added = this.add(records, startedMs);
    this.cursorMs = startedMs;
    this.lastSuccessMs = startedMs;
    this.pruneIfDue(startedMs);
    this.options.onEvent?.({ type: coldStart ? 'loaded' : 'polled', added: added.length, durationMs: this.options.now() - startedMs });
    // Suspensions are checked on every request and revoke nothing cached: only revocations
    // are handed on (each costs the authorizer a pass over its whole token cache).
    const revoking = added.filter((entry) => !SUSPENSION_KINDS.has(entry.kind));
    if (revoking.length) this.options.onRevoked?.(revoking);
  }

  /** Adds live entries not yet known; returns them. */
  private add(records: readonly FeedRecord[], nowMs: number): RevocationEntry[] {
    const nowSeconds = nowMs / 1000;
    const added: RevocationEntry[] = [];
    let suspensionsChanged = false;
    for (const record of records) {
      const map = this.byKind[record.kind];
      // A value seen before is an entry read again (the look-back): each suspension write has a value of its own (its write time).
      if (map === undefined || record.purgeAt <= nowSeconds || map.has(record.value)) continue;
      map.set(record.value, record.purgeAt);
      if (record.kind === RevocationKind.Suspension) suspensionsChanged = addSuspension(this.suspensions, record) || suspensionsChanged;
      else if (record.kind === RevocationKind.KeySuspension) suspensionsChanged = addSuspension(this.keySuspensions, record) || suspensionsChanged;
      added.push(record);
    }
    if (suspensionsChanged) this.recomputeSuspensionsEnd();
    return added;
  }

  /** A lifting lowers a subject's end, so the latest end is taken over every subject again (rare: suspension writes only). */
  private recomputeSuspensionsEnd(): void {
    let latest = 0;
    for (const map of [this.suspensions, this.keySuspensions]) for (const state of map.values()) if (state.untilMs > latest) latest = state.untilMs;
    this.latestSuspensionEndMs = latest;
  }

  private pruneIfDue(nowMs: number): void {
    if (nowMs - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = nowMs;
    const nowSeconds = nowMs / 1000;
    for (const map of Object.values(this.byKind)) {
      for (const [value, purgeAt] of map) if (purgeAt <= nowSeconds) map.delete(value);
    }
    for (const map of [this.suspensions, this.keySuspensions]) {
      for (const [subject, suspension] of map) if (suspension.purgeAt <= nowSeconds) map.delete(subject);
    }
    this.recomputeSuspensionsEnd();
  }
}

interface SuspensionState {
  readonly untilMs: number;
  readonly atMs: number;
  readonly purgeAt: number;
  readonly reason: SuspensionReason;
}

/** Records a suspension entry of a client or a key in its map, unless a newer one is known; whether it did. */
function addSuspension(suspensions: Map<string, SuspensionState>, record: RevocationEntry): boolean {
  const parsed = parseSuspensionValue(record.value);
  if (parsed === undefined) return false;
  const known = suspensions.get(parsed.subject);
  // Entries may arrive out of order (look-back re-reads, two writers): the newest decision stands.
  if (known !== undefined && known.atMs > record.revokedAtMs) return false;
  // A lifting ends whatever it supersedes, whatever end it names.
  const untilMs = parsed.reason === 'resumed' ? 0 : parsed.untilSeconds * 1000;
  suspensions.set(parsed.subject, { untilMs, atMs: record.revokedAtMs, purgeAt: record.purgeAt, reason: parsed.reason });
  return true;
}
