/**
 * The leak responder's decisions with in-memory ports and an injected clock: which reports
 * are live keys, what is written, announced and answered, and what a failure does.
 */
import { describe, expect, it } from 'vitest';
import { KEY_LEAKED_DETAIL_TYPE, LeakLimits, type LeakResponse } from '../../../common/leaks';
import { CredentialStatus } from '../../../common/credential-items';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import type { AuditEvent } from '../../../lambda/core/shared/audit';
import type { RevokeOutcome, StoredApiKey } from '../../../lambda/core/credentials/credentials';
import { labelOf, LeakResponder } from '../../../lambda/core/leaks/leak-response';
import type { HygieneEventEntry } from '../../../lambda/core/rotation/rotation-ports';
import { EventPublishFailed } from '../../../lambda/core/rotation/rotation-errors';
import { DependencyUnavailable } from '../../../lambda/core/shared/issuance-errors';

const NOW = 1_800_000_000;

type Key = StoredApiKey & { leakReportedAt?: number; leakReportId?: string; leakUnannounced?: 'revoked' | 'notified' };

function world(options: { modes?: Record<string, LeakResponse>; failEvents?: boolean; revokeGate?: Promise<void>; markGate?: Promise<void> } = {}) {
  const keys = new Map<string, Key>();
  let eventsDown = options.failEvents ?? false;
  const audit: AuditEvent[] = [];
  const warnings: string[] = [];
  const events: HygieneEventEntry[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let clock = NOW * 1000;
  let ids = 0;
  const add = (clientId: string, extra: Partial<Key> = {}) => {
    const generated = generateApiKey();
    keys.set(generated.keyId, {
      keyId: generated.keyId,
      keyHash: generated.keyHash,
      clientId,
      scopes: ['a'],
      status: CredentialStatus.Active,
      createdAt: NOW - 10,
      ...extra,
    });
    return generated;
  };
  const responder = new LeakResponder({
    apiKeys: {
      get: async (keyId) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight -= 1;
        return keys.get(keyId);
      },
      revoke: async (keyId, nowSeconds, reportId): Promise<RevokeOutcome> => {
        await options.revokeGate;
        const key = keys.get(keyId);
        if (!key) return 'not_found';
        if (key.status !== CredentialStatus.Active) return 'already_revoked';
        keys.set(keyId, { ...key, status: CredentialStatus.Revoked, revokedAt: nowSeconds, leakReportId: reportId, leakUnannounced: 'revoked' });
        return 'revoked';
      },
      markLeakReported: async (keyId, nowSeconds, window, reportId) => {
        await options.markGate;
        const key = keys.get(keyId)!;
        // As the store's conditional write: only an active key is marked.
        if (key.status !== CredentialStatus.Active) return false;
        if (key.leakReportedAt !== undefined && key.leakReportedAt > nowSeconds - window) return false;
        keys.set(keyId, { ...key, leakReportedAt: nowSeconds, leakReportId: reportId, leakUnannounced: 'notified' });
        return true;
      },
      markAnnounced: async (keyId, reportId) => {
        const { leakUnannounced: _, ...key } = keys.get(keyId)!;
        if (key.leakReportId === reportId) keys.set(keyId, key);
      },
    },
    clients: { leakResponse: async (clientId) => options.modes?.[clientId] },
    events: {
      publish: async (entries) => {
        if (eventsDown)
          throw new EventPublishFailed(
            entries.length,
            entries.map(() => 'ThrottlingException'),
          );
        events.push(...entries);
      },
    },
    audit: { record: (event) => audit.push(event), warn: (message) => warnings.push(message) },
    now: () => clock,
    newReportId: () => `report-${++ids}`,
  });
  return {
    keys,
    audit,
    warnings,
    events,
    responder,
    add,
    maxInFlight: () => maxInFlight,
    advance: (s: number) => (clock += s * 1000),
    eventsBack: () => (eventsDown = false),
  };
}

describe('LeakResponder', () => {
  it('revokes a live key once, even reported twice in one request, and labels both reports alike', async () => {
    const w = world();
    const key = w.add('acme');
    const outcomes = await w.responder.handle([{ token: key.apiKey, url: 'u1' }, { token: 'nope' }, { token: key.apiKey, url: 'u2' }], 'github');
    expect(outcomes).toEqual(['revoked', 'not_a_live_key', 'revoked']);
    expect(outcomes.map(labelOf)).toEqual(['true_positive', 'false_positive', 'true_positive']);
    expect(w.keys.get(key.keyId)!.status).toBe('revoked');
    expect(w.events).toEqual([
      { detailType: KEY_LEAKED_DETAIL_TYPE, detail: { clientId: 'acme', keyId: key.keyId, action: 'revoked', foundBy: 'github', url: 'u1' }, time: NOW },
    ]);
  });

  it('an expired key, or one whose id matches but whose hash does not, is no live key and is left alone', async () => {
    const w = world();
    const expired = w.add('acme', { expiresAt: NOW - 1 });
    const impostor = w.add('acme');
    w.keys.set(impostor.keyId, { ...w.keys.get(impostor.keyId)!, keyHash: 'ab'.repeat(32) });
    expect(await w.responder.handle([{ token: expired.apiKey }, { token: impostor.apiKey }], 'public')).toEqual(['not_a_live_key', 'not_a_live_key']);
    expect([...w.keys.values()].every((key) => key.status === 'active')).toBe(true);
    expect(w.events).toEqual([]);
    expect(w.audit).toEqual([]);
  });

  it('notify: marks instead of revoking, announces once per window, again after it', async () => {
    const w = world({ modes: { fleet: 'notify' } });
    const key = w.add('fleet');
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual(['notified']);
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual(['already_notified']);
    expect(labelOf('already_notified')).toBe('true_positive');
    w.advance(LeakLimits.renotifyAfterSeconds);
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual(['notified']);
    expect(w.keys.get(key.keyId)!.status).toBe('active');
    expect(w.events.map((event) => event.detail.action)).toEqual(['notified', 'notified']);
  });

  it("announces an earlier report's write left unannounced, once; only a key a leak report revoked stays a true positive", async () => {
    const w = world();
    const pending = w.add('acme', { status: CredentialStatus.Revoked, revokedAt: NOW - 5, leakReportId: 'earlier', leakUnannounced: 'revoked' });
    const byOperator = w.add('acme', { status: CredentialStatus.Revoked, revokedAt: NOW - 5 });
    expect(await w.responder.handle([{ token: pending.apiKey, url: 'u' }, { token: byOperator.apiKey }], 'github')).toEqual(['revoked', 'not_a_live_key']);
    expect(w.audit.map((event) => [event.action, event.keyId])).toEqual([['key.leak_revoke', pending.keyId]]);
    expect(w.keys.get(pending.keyId)!.leakUnannounced).toBeUndefined();
    expect(await w.responder.handle([{ token: pending.apiKey }], 'github')).toEqual(['already_revoked']);
    expect(labelOf('already_revoked')).toBe('true_positive');
    expect(w.events).toHaveLength(1);
  });

  it('two reports of one key racing (both read it live): one revokes and announces, both answer true_positive', async () => {
    let open: () => void = () => undefined;
    const w = world({ revokeGate: new Promise<void>((resolve) => (open = resolve)) });
    const key = w.add('acme');
    // Two requests at once (GitHub found the key in two places): both read it live before either writes.
    const racing = Promise.all([
      w.responder.handle([{ token: key.apiKey, url: 'u1' }], 'github'),
      w.responder.handle([{ token: key.apiKey, url: 'u2' }], 'github'),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    open();
    const outcomes = await racing;
    expect(outcomes.flat().sort()).toEqual(['already_revoked', 'revoked']);
    expect(outcomes.flat().map(labelOf)).toEqual(['true_positive', 'true_positive']);
    expect(w.events).toHaveLength(1);
  });

  it('notify: a report racing an operator revocation answers as its retry will, from what is stored (false_positive)', async () => {
    let open: () => void = () => undefined;
    const w = world({ modes: { fleet: 'notify' }, markGate: new Promise<void>((resolve) => (open = resolve)) });
    const key = w.add('fleet');
    const racing = w.responder.handle([{ token: key.apiKey }], 'github');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The operator revokes after the report read the key live, before its marker write.
    w.keys.set(key.keyId, { ...w.keys.get(key.keyId)!, status: CredentialStatus.Revoked, revokedAt: NOW });
    open();
    expect(await racing).toEqual(['not_a_live_key']);
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual(['not_a_live_key']);
    expect(w.events).toEqual([]);
  });

  it.each([
    ['revoke', 'revoked', CredentialStatus.Revoked],
    ['notify', 'notified', CredentialStatus.Active],
  ] as const)('%s: an event EventBridge did not take fails the request (503) and stays owed; the retry announces it', async (mode, announced, status) => {
    const w = world({ failEvents: true, modes: { acme: mode } });
    const key = w.add('acme');
    const failed = await w.responder.handle([{ token: key.apiKey }], 'github').then(
      () => expect.fail('the report was answered'),
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(DependencyUnavailable);
    expect(failed).toMatchObject({ dependency: 'eventbridge', failure: 'unavailable', causeName: 'EventPublishFailed' });
    expect(w.keys.get(key.keyId)).toMatchObject({ status, leakUnannounced: announced });
    expect(w.warnings).toEqual(['KeyLeaked event not published']);
    expect(w.events).toEqual([]);

    w.eventsBack();
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual([announced]);
    expect(w.events.map((event) => [event.detail.keyId, event.detail.action])).toEqual([[key.keyId, announced]]);
    expect(w.keys.get(key.keyId)!.leakUnannounced).toBeUndefined();
    // At least once: the first request's audit line, and the retry's.
    expect(w.audit.map((event) => event.action)).toEqual(Array(2).fill(mode === 'revoke' ? 'key.leak_revoke' : 'key.leak_notify'));
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual([mode === 'revoke' ? 'already_revoked' : 'already_notified']);
    expect(w.events).toHaveLength(1);
  });

  it('public: an event EventBridge did not take stays owed, but the report is answered as any other (no oracle)', async () => {
    const w = world({ failEvents: true });
    const key = w.add('acme');
    expect(await w.responder.handle([{ token: key.apiKey }], 'public')).toEqual(['revoked']);
    expect(w.keys.get(key.keyId)).toMatchObject({ status: CredentialStatus.Revoked, leakUnannounced: 'revoked' });
    expect(w.warnings).toEqual(['KeyLeaked event not published']);
    w.eventsBack();
    // The next report of the key, from anyone, announces it.
    expect(await w.responder.handle([{ token: key.apiKey }], 'github')).toEqual(['revoked']);
    expect(w.events.map((event) => event.detail.action)).toEqual(['revoked']);
    expect(w.keys.get(key.keyId)!.leakUnannounced).toBeUndefined();
  });

  it('clips long url and source fields, and keeps at most the configured lookups in flight', async () => {
    const w = world();
    const keys = Array.from({ length: 40 }, () => w.add('acme'));
    await w.responder.handle(
      keys.map((key) => ({ token: key.apiKey, url: 'x'.repeat(10_000) })),
      'github',
    );
    expect(w.maxInFlight()).toBeLessThanOrEqual(LeakLimits.concurrency);
    expect(w.maxInFlight()).toBeGreaterThan(1);
    expect(w.audit.every((event) => event.url!.length === LeakLimits.maxFieldChars)).toBe(true);
  });
});
