/**
 * A suspension repeated after its lifting, through the fan-out's entries and the authorizer's
 * view: the client (or key) record's suspension writes become stream records, the fan-out's
 * own `revocationFromRecord` makes their feed entries, and views read them, both a view that
 * polls between the writes and one that loads them all at a cold start. Whatever the
 * sequence, the newest write is what every view enforces, even when a re-suspension repeats
 * an earlier suspension's end and reason exactly (the quota check after a `resume` in the same
 * period).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DynamoDBRecord } from 'aws-lambda';
import { RevocationKind, type SuspensionReason } from '../../../common/revocation-feed';
import { revocationFromRecord, type StreamTableNames } from '../../../lambda/core/revocation/revocation-events';
import { RevocationView } from '../../../lambda/core/revocation/revocation-view';
import { image, streamArn } from '../../support/stream-records';
import { Clock, FakeFeed, NOW_MS, NOW_S } from './support/fixtures';

const NAMES: StreamTableNames = { apiKeys: 'keys-table', clients: 'clients-table', tokens: 'tokens-table', signingKeys: 'keys-ring' };
const CLIENT_ID = 'acme';
const KEY_ID = 'key_0123456789abcdef0123';
/** The period's end: every suspension in these tests lasts until one of these, well after the last check. */
const PERIOD_END_S = NOW_S + 86_400;
const LATER_END_S = NOW_S + 2 * 86_400;

/** A client suspension (kind `sus`) or a key suspension (kind `ksus`): which table, which record, which answer. */
interface Subject {
  readonly name: string;
  readonly kind: RevocationKind;
  readonly table: keyof typeof NAMES;
  readonly record: Readonly<Record<string, string>>;
  /** The view's answer for this subject's tokens. */
  readonly suspension: (view: RevocationView, nowMs: number) => ReturnType<RevocationView['suspension']>;
}

/** What a view enforces for the subject at `nowMs`: until when and why, or nothing. */
function enforced(subject: Subject, view: RevocationView, nowMs: number) {
  const suspension = subject.suspension(view, nowMs);
  return suspension && { untilMs: suspension.untilMs, reason: suspension.reason };
}

const SUBJECTS: readonly Subject[] = [
  {
    name: 'a client (sus)',
    kind: RevocationKind.Suspension,
    table: 'clients',
    record: { clientId: CLIENT_ID, status: 'active' },
    suspension: (view, nowMs) => view.suspension(CLIENT_ID, 'key_other', nowMs),
  },
  {
    name: 'an API key (ksus)',
    kind: RevocationKind.KeySuspension,
    table: 'apiKeys',
    record: { keyId: KEY_ID, clientId: CLIENT_ID, status: 'active' },
    suspension: (view, nowMs) => view.suspension('other-client', KEY_ID, nowMs),
  },
];

/** One write of the record's suspension: a suspension until `untilS`, or an operator's lifting (`resume`, new credits). */
type SuspensionWrite = { readonly type: 'suspend'; readonly untilS: number; readonly reason: Exclude<SuspensionReason, 'resumed'> } | { readonly type: 'lift' };

/**
 * The subject's record, written as the usage store writes it (`suspendedUntil`,
 * `suspendedReason`, `suspendedAtMs`), each write handed to the fan-out as the stream
 * delivers it (old and new image) and its entry appended to the feed.
 */
class SubjectRecord {
  private current: Record<string, string | number>;
  readonly feed = new FakeFeed();

  constructor(private readonly subject: Subject) {
    this.current = { ...subject.record };
  }

  write(write: SuspensionWrite, atMs: number): void {
    const next =
      write.type === 'suspend'
        ? { ...this.current, suspendedUntil: write.untilS, suspendedReason: write.reason, suspendedAtMs: atMs }
        : { ...this.current, suspendedUntil: Math.floor(atMs / 1000), suspendedReason: 'resumed', suspendedAtMs: atMs };
    const record = {
      eventName: 'MODIFY',
      eventSourceARN: streamArn(NAMES[this.subject.table]),
      dynamodb: { OldImage: image(this.current), NewImage: image(next), ApproximateCreationDateTime: Math.floor(atMs / 1000) },
    } as DynamoDBRecord;
    this.current = next;
    const entry = revocationFromRecord(record, NAMES, { nowMs: atMs, clockSkewSeconds: 30 });
    expect(entry?.kind).toBe(this.subject.kind);
    if (entry) this.feed.add(entry.kind, entry.value, entry.revokedAtMs, entry.purgeAt);
  }
}

function view(feed: FakeFeed, clock: Clock): RevocationView {
  return new RevocationView({ source: feed, pollIntervalMs: 1000, maxStalenessMs: 30_000, windowSeconds: 3600 + 30 + 300, now: clock.now });
}

describe.each(SUBJECTS)('a re-suspension of $name that repeats an earlier suspension exactly', (subject) => {
  it('is enforced after a lifting, and a second lifting ends it again, in a polling view and in a cold-started one', async () => {
    const clock = new Clock();
    const record = new SubjectRecord(subject);
    const warm = view(record.feed, clock);
    await warm.refresh(clock.ms);
    const step = async (write: SuspensionWrite) => {
      clock.advance(1000);
      record.write(write, clock.ms);
      clock.advance(1000);
      await warm.refresh(clock.ms);
      const cold = view(record.feed, clock);
      await cold.refresh(clock.ms);
      return [enforced(subject, warm, clock.ms), enforced(subject, cold, clock.ms)];
    };
    const quotaUsedUp: SuspensionWrite = { type: 'suspend', untilS: PERIOD_END_S, reason: 'quota_exceeded' };
    const suspended = { untilMs: PERIOD_END_S * 1000, reason: 'quota_exceeded' };

    expect(await step(quotaUsedUp)).toEqual([suspended, suspended]);
    expect(await step({ type: 'lift' })).toEqual([undefined, undefined]);
    // The same period's quota is used up again: the same end, the same reason.
    expect(await step(quotaUsedUp)).toEqual([suspended, suspended]);
    expect(await step({ type: 'lift' })).toEqual([undefined, undefined]);
    expect(await step(quotaUsedUp)).toEqual([suspended, suspended]);
  });

  it('is enforced however the writes fall between polls: the last write decides (property)', async () => {
    const write: fc.Arbitrary<SuspensionWrite> = fc.oneof(
      fc.constant<SuspensionWrite>({ type: 'lift' }),
      fc.record({
        type: fc.constant('suspend' as const),
        untilS: fc.constantFrom(PERIOD_END_S, LATER_END_S),
        reason: fc.constantFrom('quota_exceeded' as const, 'anomaly' as const),
      }),
    );
    // Each write comes 1 ms to 3 s after the previous one; a poll may or may not fall in between.
    const steps = fc.array(fc.record({ write, gapMs: fc.integer({ min: 1, max: 3000 }), pollAfter: fc.boolean() }), { minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(steps, async (sequence) => {
        const clock = new Clock(NOW_MS);
        const record = new SubjectRecord(subject);
        const warm = view(record.feed, clock);
        await warm.refresh(clock.ms);
        for (const { write, gapMs, pollAfter } of sequence) {
          clock.advance(gapMs);
          record.write(write, clock.ms);
          if (pollAfter) {
            clock.advance(1);
            await warm.refresh(clock.ms);
          }
        }
        clock.advance(1000);
        await warm.refresh(clock.ms);
        const cold = view(record.feed, clock);
        await cold.refresh(clock.ms);
        const last = sequence.at(-1)!.write;
        const expected = last.type === 'lift' ? undefined : { untilMs: last.untilS * 1000, reason: last.reason };
        expect(enforced(subject, warm, clock.ms)).toEqual(expected);
        expect(enforced(subject, cold, clock.ms)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
