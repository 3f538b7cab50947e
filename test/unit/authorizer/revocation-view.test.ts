import { describe, expect, it } from 'vitest';
import { REVOCATION_SETTLE_MARGIN_MS } from '../../../common/defaults';
import {
  FEED_BUCKET_SECONDS,
  feedPartitionsBetween,
  feedSortKey,
  RevocationKind,
  suspensionValue,
  type RevocationEntry,
} from '../../../common/revocation-feed';
import { FEED_LOOKBACK_MS } from '../../../common/revocation-feed';
import { RevocationView, type RevocationViewEvent } from '../../../lambda/core/revocation/revocation-view';
import { Clock, FakeFeed, NOW_MS } from './support/fixtures';

const WINDOW_S = 3600 + 30 + 300;

function view(feed: FakeFeed, clock: Clock, events: RevocationViewEvent[] = [], revoked: RevocationEntry[][] = []) {
  return new RevocationView({
    source: feed,
    pollIntervalMs: 1000,
    maxStalenessMs: 30_000,
    windowSeconds: WINDOW_S,
    now: clock.now,
    onEvent: (e) => events.push(e),
    onRevoked: (entries) => revoked.push([...entries]),
  });
}

describe('RevocationView', () => {
  it('loads every partition that can hold a live entry at cold start, and nothing older', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    feed.add(RevocationKind.Token, 'jti-live', NOW_MS - 3_000_000);
    feed.add(RevocationKind.Token, 'jti-too-old', NOW_MS - (WINDOW_S + 10) * 1000);
    feed.add(RevocationKind.Token, 'jti-purged', NOW_MS - 1000, Math.floor(NOW_MS / 1000) - 1);
    const events: RevocationViewEvent[] = [];
    const v = view(feed, clock, events);
    await v.refresh(clock.ms);
    expect(feed.reads[0]).toEqual({
      partitions: feedPartitionsBetween(Math.floor(NOW_MS / 1000) - WINDOW_S, Math.floor(NOW_MS / 1000)),
      afterSeq: feedSortKey(NOW_MS - WINDOW_S * 1000, ''),
    });
    expect(feed.reads[0]!.partitions.every((p) => !p.startsWith('id#'))).toBe(true);
    expect(v.isRevoked('jti-live', 'k', 'c', 'kid')).toBe(true);
    expect(v.isRevoked('jti-too-old', 'k', 'c', 'kid')).toBe(false);
    expect(v.isRevoked('jti-purged', 'k', 'c', 'kid')).toBe(false);
    expect(events).toEqual([{ type: 'loaded', added: 1, durationMs: 0 }]);
  });

  it('sees at cold start a suspension written long before its window, and its lifting; polls read the buckets only', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const monthEnd = Math.floor(NOW_MS / 1000) + 30 * 86_400;
    // A client suspended for the rest of its quota month, two hours ago (a bucket no cold start reads).
    const at = NOW_MS - 2 * 3_600_000;
    feed.add(RevocationKind.Suspension, suspensionValue('acme', monthEnd, 'quota_exceeded', at), at, monthEnd);
    // Another suspended three hours ago and lifted by an operator two and a half hours ago.
    const suspendedAt = NOW_MS - 3 * 3_600_000;
    const liftedAt = NOW_MS - 2.5 * 3_600_000;
    feed.add(RevocationKind.Suspension, suspensionValue('zeta', monthEnd, 'quota_exceeded', suspendedAt), suspendedAt, monthEnd);
    feed.add(RevocationKind.Suspension, suspensionValue('zeta', liftedAt / 1000, 'resumed', liftedAt), liftedAt, monthEnd);
    // A key suspended by its per-key quota, four hours ago.
    const keyAt = NOW_MS - 4 * 3_600_000;
    feed.add(RevocationKind.KeySuspension, suspensionValue('key_1', monthEnd, 'quota_exceeded', keyAt), keyAt, monthEnd);
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    expect(feed.suspensionReads).toEqual([{ afterSeq: '' }]);
    expect(v.suspension('acme', 'key_x', clock.ms)).toEqual({ untilMs: monthEnd * 1000, atMs: at, purgeAt: monthEnd, reason: 'quota_exceeded' });
    expect(v.suspension('zeta', 'key_x', clock.ms)).toBeUndefined();
    expect(v.suspension('other', 'key_1', clock.ms)).toMatchObject({ untilMs: monthEnd * 1000, reason: 'quota_exceeded' });
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(feed.reads).toHaveLength(2);
    expect(feed.suspensionReads).toHaveLength(1);
  });

  it('tells requests when no suspension is in force, lifted and ended ones held for their purgeAt notwithstanding', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const monthEnd = Math.floor(NOW_MS / 1000) + 30 * 86_400;
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    expect(v.suspensionsEndMs).toBe(0);
    feed.add(RevocationKind.Suspension, suspensionValue('acme', monthEnd, 'quota_exceeded', clock.ms), clock.ms, monthEnd);
    feed.add(RevocationKind.KeySuspension, suspensionValue('key_1', Math.floor(clock.ms / 1000) + 60, 'quota_exceeded', clock.ms), clock.ms, monthEnd);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(v.suspensionsEndMs).toBe(monthEnd * 1000);
    // The client's suspension lifted: the key's, a minute long, is the latest end left.
    feed.add(RevocationKind.Suspension, suspensionValue('acme', clock.ms / 1000, 'resumed', clock.ms), clock.ms, monthEnd);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(v.suspensionsEndMs).toBe((Math.floor(NOW_MS / 1000) + 60) * 1000);
    expect(v.suspension('acme', 'key_x', clock.ms)).toBeUndefined();
  });

  it('revokes by token, API key, client and signing key', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    feed.add(RevocationKind.Token, 'j1', NOW_MS - 10);
    feed.add(RevocationKind.ApiKey, 'key_1', NOW_MS - 10);
    feed.add(RevocationKind.Client, 'acme', NOW_MS - 10);
    feed.add(RevocationKind.SigningKey, 'kid-1', NOW_MS - 10);
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    expect(v.isRevoked('j1', 'key_x', 'other', 'kid-x')).toBe(true);
    expect(v.isRevoked('jx', 'key_1', 'other', 'kid-x')).toBe(true);
    expect(v.isRevoked('jx', 'key_x', 'acme', 'kid-x')).toBe(true);
    expect(v.isRevoked('jx', 'key_x', 'other', 'kid-1')).toBe(true);
    expect(v.isRevoked('jx', 'key_x', 'other', 'kid-x')).toBe(false);
    // Values are matched per kind: a jti equal to a revoked client id is not revoked.
    expect(v.isRevoked('acme', 'key_x', 'other', 'kid-x')).toBe(false);
    expect(v.entries).toBe(4);
  });

  it('hands on revocations only: a suspension revokes nothing cached, so it costs the caches no pass', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const revoked: RevocationEntry[][] = [];
    const events: RevocationViewEvent[] = [];
    const v = view(feed, clock, events, revoked);
    await v.refresh(clock.ms);
    const until = Math.floor(clock.ms / 1000) + 600;
    feed.add(RevocationKind.Suspension, suspensionValue('acme', until, 'quota_exceeded', clock.ms + 100), clock.ms + 100, until);
    feed.add(RevocationKind.KeySuspension, suspensionValue('key_0123456789abcdef0123', until, 'anomaly', clock.ms + 100), clock.ms + 100, until);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(v.suspension('acme', 'k', clock.ms)?.reason).toBe('quota_exceeded');
    expect(revoked).toEqual([]);
    feed.add(RevocationKind.ApiKey, 'key_revoked', clock.ms + 100);
    feed.add(RevocationKind.Suspension, suspensionValue('other', until, 'anomaly', clock.ms + 100), clock.ms + 100, until);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(revoked.map((batch) => batch.map((e) => e.value))).toEqual([['key_revoked']]);
    expect(events.at(-1)).toMatchObject({ type: 'polled', added: 2 });
  });

  it('reads suspension values written before they carried their write time, and the newer entries after them', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const until = Math.floor(clock.ms / 1000) + 600;
    // `<clientId>#<until>#<reason>`, as the previous version wrote it, still in the feed.
    feed.add(RevocationKind.Suspension, `acme#${until}#quota_exceeded`, clock.ms - 60_000, until);
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    expect(v.suspension('acme', 'k', clock.ms)).toMatchObject({ untilMs: until * 1000, reason: 'quota_exceeded' });
    feed.add(RevocationKind.Suspension, suspensionValue('acme', Math.floor(clock.ms / 1000), 'resumed', clock.ms + 100), clock.ms + 100, until);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(v.suspension('acme', 'k', clock.ms)).toBeUndefined();
    feed.add(RevocationKind.Suspension, suspensionValue('acme', until, 'quota_exceeded', clock.ms + 100), clock.ms + 100, until);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(v.suspension('acme', 'k', clock.ms)).toMatchObject({ untilMs: until * 1000, reason: 'quota_exceeded' });
  });

  it('then reads only what is new since the cursor, re-reading the look-back window and deduplicating', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const revoked: RevocationEntry[][] = [];
    const v = view(feed, clock, [], revoked);
    await v.refresh(clock.ms);
    const firstPoll = clock.ms;
    feed.add(RevocationKind.Token, 'a', clock.ms + 200);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(feed.reads[1]!.afterSeq).toBe(feedSortKey(firstPoll - FEED_LOOKBACK_MS, ''));
    expect(v.isRevoked('a', '', '', '')).toBe(true);
    // Written (by the writer's clock) before the last poll started, but visible only now.
    feed.add(RevocationKind.Token, 'late', clock.ms - 2000);
    clock.advance(1000);
    await v.refresh(clock.ms);
    expect(v.isRevoked('late', '', '', '')).toBe(true);
    expect(revoked.map((batch) => batch.map((e) => e.value))).toEqual([['a'], ['late']]);
  });

  it('reads both buckets when the cursor window crosses a bucket boundary', async () => {
    const boundary = Math.ceil(NOW_MS / 1000 / FEED_BUCKET_SECONDS) * FEED_BUCKET_SECONDS * 1000;
    const clock = new Clock(boundary - 500);
    const feed = new FakeFeed();
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    clock.advance(1000);
    feed.add(RevocationKind.Client, 'c-before', boundary - 100);
    feed.add(RevocationKind.Client, 'c-after', boundary + 100);
    await v.refresh(clock.ms);
    expect(feed.reads[1]!.partitions).toHaveLength(2);
    expect([v.isRevoked('', '', 'c-before', ''), v.isRevoked('', '', 'c-after', '')]).toEqual([true, true]);
  });

  it('polls at most once per interval, one read at a time, without the caller waiting', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    v.refreshIfDue(clock.ms + 999);
    expect(feed.reads).toHaveLength(1);
    v.refreshIfDue(clock.ms + 1000);
    v.refreshIfDue(clock.ms + 1001);
    expect(feed.reads).toHaveLength(2);
  });

  it('is behind once it has missed a poll (one interval plus the settle margin), and a read brings it current', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    expect(v.isBehind(clock.ms + 1000 + REVOCATION_SETTLE_MARGIN_MS)).toBe(false);
    clock.advance(1000 + REVOCATION_SETTLE_MARGIN_MS + 1);
    expect(v.isBehind(clock.ms)).toBe(true);
    feed.add(RevocationKind.Token, 'jti-new', clock.ms - 500);
    await v.refreshWhenBehind(clock.ms);
    expect([v.isBehind(clock.ms), v.isRevoked('jti-new', 'k', 'c', 'kid'), feed.reads.length]).toEqual([false, true, 2]);
  });

  it('goes stale after the maximum staleness without a successful read, and recovers with the next one', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    const events: RevocationViewEvent[] = [];
    const v = view(feed, clock, events);
    expect(v.isStale(clock.ms)).toBe(true);
    await v.refresh(clock.ms);
    expect(v.isStale(clock.ms)).toBe(false);
    feed.failing = true;
    clock.advance(10_000);
    await v.refresh(clock.ms);
    expect(events.at(-1)).toMatchObject({ type: 'read_failed', ageMs: 10_000 });
    expect(v.isStale(NOW_MS + 30_000)).toBe(false);
    expect(v.isStale(NOW_MS + 30_001)).toBe(true);
    feed.failing = false;
    clock.ms = NOW_MS + 31_000;
    await v.refreshWhenBehind(clock.ms);
    expect(v.isStale(clock.ms)).toBe(false);
    expect(v.ageMs(clock.ms)).toBe(0);
  });

  it('does not make requests wait on a stale view when a read failed moments ago', async () => {
    const feed = new FakeFeed();
    feed.failing = true;
    const clock = new Clock();
    const v = view(feed, clock);
    await v.refreshWhenBehind(clock.ms);
    expect(feed.reads).toHaveLength(1);
    await v.refreshWhenBehind(clock.ms + 500);
    expect(feed.reads).toHaveLength(1);
    await v.refreshWhenBehind(clock.ms + 1000);
    expect(feed.reads).toHaveLength(2);
  });

  it('forgets entries once their purgeAt has passed', async () => {
    const feed = new FakeFeed();
    const clock = new Clock();
    feed.add(RevocationKind.Token, 'short', NOW_MS - 10, Math.floor(NOW_MS / 1000) + 60);
    feed.add(RevocationKind.Token, 'long', NOW_MS - 10, Math.floor(NOW_MS / 1000) + 3000);
    const v = view(feed, clock);
    await v.refresh(clock.ms);
    clock.advance(61_000);
    await v.refresh(clock.ms);
    expect([v.isRevoked('short', '', '', ''), v.isRevoked('long', '', '', ''), v.entries]).toEqual([false, true, 1]);
  });
});
