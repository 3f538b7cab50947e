/**
 * Anomaly detection on the meters (docs/usage.md): a stolen key is used differently from
 * the client's own traffic. Per client, a baseline learnt from its closed minutes — an EWMA
 * of requests per minute and the source networks it has used — and rules that flag a minute:
 *
 * - `rate_spike`: requests above `spikeFactor` × baseline (and at least `spikeMinRequests`)
 *   for `spikeMinutes` minutes in a row;
 * - `new_networks`: at least `newNetworks` networks in one minute the client has never used;
 * - `denied_probing`: at least `probingDenials` refusals for scope or route in one minute,
 *   making up at least half of its requests;
 * - `idle_reuse`: traffic after `idleDays` days without any;
 * - `key_network_spread`: one API key used from at least `spreadNetworks` wide networks (/16,
 *   /32) within `spreadMinutes` minutes, one of them a network the client never used: the same
 *   key from far-apart networks within minutes, as far as the access log can tell distance.
 *
 * A client is in warm-up until `warmupMinutes` minutes have passed since its first request:
 * rules that compare with a baseline stay silent until then (every network is new, every
 * rate a spike, at first); `denied_probing`, an absolute rule, applies from the start.
 *
 * Pure: minutes come in as counts, the state goes out as a plain value to store, the clock
 * is the caller's. Minutes without a row (no traffic) count as zero for the baseline.
 */
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { ANOMALY_DEFAULTS, bucketStart, type AnomalySettings } from '../../../common/usage';
import { parseKeyNetwork, wideNetwork } from './usage-meter';

export { ANOMALY_DEFAULTS, type AnomalySettings } from '../../../common/usage';

export type AnomalyRule = 'rate_spike' | 'new_networks' | 'denied_probing' | 'idle_reuse' | 'key_network_spread';

/** One closed minute of a client, as metered. */
export interface MinuteCounts {
  /** Start, epoch seconds. */
  readonly minute: number;
  readonly requests: number;
  /** Refusals for scope or route (`access_denied`). */
  readonly accessDenied: number;
  readonly networks: readonly string[];
  /** The API keys (keyIds) used in the minute. */
  readonly keys?: readonly string[];
  /** `<keyId> <wide network>` pairs: which key was used from which /16 or /32 in the minute. */
  readonly keyNetworks?: readonly string[];
}

/** What the detector keeps per client between minutes; stored as it is. */
export interface Baseline {
  /** Start of the first minute seen with traffic, epoch s. */
  readonly firstMinute: number;
  /** The last minute folded in (closed), epoch s. */
  readonly lastMinute: number;
  /** The last minute with traffic, epoch s. */
  readonly lastActiveMinute: number;
  /** EWMA of requests per minute. */
  readonly rate: number;
  /** Consecutive spiking minutes so far. */
  readonly spiking: number;
  /** Network → last minute seen. */
  readonly networks: Readonly<Record<string, number>>;
  /**
   * Per API key, the wide networks it was used from within the last `spreadMinutes` (network →
   * last minute seen); keys idle for longer drop out, so this stays as small as the window.
   * Absent in baselines saved before the rule existed.
   */
  readonly keyNetworks?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface Anomaly {
  readonly rule: AnomalyRule;
  readonly minute: number;
  /** What the rule compared with: the baseline rate, known networks, the idle time (s)… */
  readonly baseline: number;
  readonly observed: number;
  /** The one API key the flag is about (`key_network_spread`). */
  readonly keyId?: string;
}

/**
 * Folds closed minutes (oldest first, each after `baseline.lastMinute`) into the baseline
 * and returns the anomalies they show. `upTo` is the last closed minute: minutes without
 * traffic up to it count as zeros.
 */
export function detect(
  baseline: Baseline | undefined,
  minutes: readonly MinuteCounts[],
  upTo: number,
  settings: AnomalySettings = ANOMALY_DEFAULTS,
): { readonly baseline: Baseline | undefined; readonly anomalies: readonly Anomaly[] } {
  let state = baseline;
  const anomalies: Anomaly[] = [];
  const fold = (m: MinuteCounts) => {
    if (state === undefined) {
      if (m.requests === 0) return;
      state = { firstMinute: m.minute, lastMinute: m.minute - 60, lastActiveMinute: m.minute, rate: 0, spiking: 0, networks: {} };
    }
    if (m.minute <= state.lastMinute) return;
    // Minutes between the last one folded and this one had no traffic: the EWMA decays over them.
    const gap = (m.minute - state.lastMinute) / 60 - 1;
    let rate = state.rate * (1 - settings.alpha) ** Math.max(0, gap);
    const warm = m.minute - state.firstMinute >= settings.warmupMinutes * 60;
    let spiking = 0;
    // This minute's wide networks per key: read by the spread rule and remembered after it.
    const byKey = networksByKey(m);
    if (m.requests > 0) {
      if (warm && m.minute - state.lastActiveMinute >= settings.idleDays * SECONDS_PER_DAY) {
        anomalies.push({ rule: 'idle_reuse', minute: m.minute, baseline: m.minute - state.lastActiveMinute, observed: m.requests });
      }
      // During warm-up every minute is learnt: the baseline starts from nothing.
      const spike = warm && m.requests >= settings.spikeMinRequests && m.requests > settings.spikeFactor * rate;
      spiking = spike ? state.spiking + 1 : 0;
      if (spiking === settings.spikeMinutes) anomalies.push({ rule: 'rate_spike', minute: m.minute, baseline: round(rate), observed: m.requests });
      const fresh = m.networks.filter((n) => state!.networks[n] === undefined);
      if (warm && fresh.length >= settings.newNetworks) {
        anomalies.push({ rule: 'new_networks', minute: m.minute, baseline: Object.keys(state.networks).length, observed: fresh.length });
      }
      if (m.accessDenied >= settings.probingDenials && m.accessDenied * 2 >= m.requests) {
        anomalies.push({ rule: 'denied_probing', minute: m.minute, baseline: settings.probingDenials, observed: m.accessDenied });
      }
      if (warm) anomalies.push(...networkSpread(state, m.minute, byKey, settings));
    }
    // A spiking minute's rate is not learnt while it lasts (a thief must not teach the baseline).
    if (spiking === 0) rate = rate * (1 - settings.alpha) + m.requests * settings.alpha;
    state = {
      firstMinute: state.firstMinute,
      lastMinute: m.minute,
      lastActiveMinute: m.requests > 0 ? m.minute : state.lastActiveMinute,
      rate,
      spiking,
      // Networks are remembered even while spiking: a flag for new networks is raised once, not every minute of a burst.
      networks: remember(state.networks, m.networks, m.minute, settings.knownNetworksMax),
      keyNetworks: rememberKeyNetworks(state.keyNetworks, m.minute, byKey, settings),
    };
  };
  for (const m of minutes) if (m.minute <= upTo) fold(m);
  const last = state as Baseline | undefined;
  if (last !== undefined && upTo > last.lastMinute) {
    const gap = (upTo - last.lastMinute) / 60;
    state = { ...last, lastMinute: upTo, rate: last.rate * (1 - settings.alpha) ** gap, spiking: 0 };
  }
  return { baseline: state, anomalies };
}

function remember(known: Readonly<Record<string, number>>, seen: readonly string[], minute: number, max: number): Record<string, number> {
  const next: Record<string, number> = { ...known };
  for (const network of seen) next[network] = minute;
  const entries = Object.entries(next);
  if (entries.length <= max) return next;
  return Object.fromEntries(entries.sort((a, b) => b[1] - a[1]).slice(0, max));
}

/** Groups a minute's `<keyId> <wide network>` pairs by key. */
function networksByKey(m: MinuteCounts): Map<string, Set<string>> {
  const byKey = new Map<string, Set<string>>();
  for (const entry of m.keyNetworks ?? []) {
    const parsed = parseKeyNetwork(entry);
    if (parsed === undefined) continue;
    let networks = byKey.get(parsed.keyId);
    if (networks === undefined) byKey.set(parsed.keyId, (networks = new Set()));
    networks.add(parsed.network);
  }
  return byKey;
}

/**
 * `key_network_spread`: a key used in this minute from a wide network the client has never
 * used (none of its remembered /24s and /48s lies in it), while that key's wide networks
 * within the window, this one included, number at least `spreadNetworks`. The client's known
 * networks stand for its own sites, so a second office or a NAT pool it already used is no
 * flag; and a wide network, once seen, is remembered, so one far network flags once.
 */
function networkSpread(state: Baseline, minute: number, byKey: ReadonlyMap<string, ReadonlySet<string>>, settings: AnomalySettings): Anomaly[] {
  const anomalies: Anomaly[] = [];
  if (byKey.size === 0) return anomalies;
  const known = new Set(Object.keys(state.networks).map(wideNetwork));
  const since = minute - (settings.spreadMinutes - 1) * 60;
  for (const [keyId, networks] of byKey) {
    const fresh = [...networks].filter((n) => !known.has(n));
    if (fresh.length === 0) continue;
    const recent = new Set(networks);
    for (const [network, last] of Object.entries(state.keyNetworks?.[keyId] ?? {})) if (last >= since) recent.add(network);
    if (recent.size >= settings.spreadNetworks)
      anomalies.push({ rule: 'key_network_spread', minute: minute, baseline: recent.size - fresh.length, observed: recent.size, keyId });
  }
  return anomalies;
}

/**
 * Each key's wide networks seen within the window, this minute's added; older ones and idle
 * keys dropped. Bounded so the stored baseline stays small whatever a thief does: per key the
 * `spreadNetworks` most recent networks (all the rule needs to reach its threshold), and the
 * `knownNetworksMax` most recently used keys.
 */
function rememberKeyNetworks(
  known: Baseline['keyNetworks'],
  minute: number,
  byKey: ReadonlyMap<string, ReadonlySet<string>>,
  settings: AnomalySettings,
): Record<string, Record<string, number>> {
  const since = minute - (settings.spreadMinutes - 1) * 60;
  const merged = new Map<string, Record<string, number>>();
  for (const [keyId, networks] of Object.entries(known ?? {})) {
    const kept = Object.entries(networks).filter(([, last]) => last >= since);
    if (kept.length > 0) merged.set(keyId, Object.fromEntries(kept));
  }
  for (const [keyId, networks] of byKey) {
    const entry = merged.get(keyId) ?? {};
    for (const network of networks) entry[network] = minute;
    merged.set(keyId, entry);
  }
  const newest = (networks: Record<string, number>) => Math.max(...Object.values(networks));
  const keys = [...merged].sort((a, b) => newest(b[1]) - newest(a[1])).slice(0, settings.knownNetworksMax);
  return Object.fromEntries(
    keys.map(([keyId, networks]) => [
      keyId,
      Object.fromEntries(
        Object.entries(networks)
          .sort((a, b) => b[1] - a[1])
          .slice(0, settings.spreadNetworks),
      ),
    ]),
  );
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** What a flagged client's owner asked for (`PUT /admin/clients/{id}/anomaly-policy`). */
export const ANOMALY_POLICIES = ['notify', 'suspend', 'revoke'] as const;
export type AnomalyPolicy = (typeof ANOMALY_POLICIES)[number];

/** A flag as stored and listed (`GET /admin/anomalies`); public ids only. */
export interface AnomalyFlag extends Anomaly {
  readonly clientId: string;
  /** What was done: `notify` (the event and the audit line), `suspend` (until `suspendedUntil`), or `revoke` (`revokedKeys`). */
  readonly response: AnomalyPolicy;
  readonly suspendedUntil?: number;
  /** The keys the client used in the flagged minute, revoked through the normal revocation path. */
  readonly revokedKeys?: readonly string[];
  /** When it was flagged, epoch s. */
  readonly flaggedAt: number;
}

export const AnomalyEvent = { detailType: 'Tollgate Usage Anomaly' } as const;

export interface AnomalyPorts {
  /** The stored baseline and its version (for a conditional save); undefined for a client never seen. */
  load(clientId: string): Promise<{ readonly baseline: Baseline; readonly version: number } | undefined>;
  /** Saves unless another writer saved since `version` was read; false then (the next batch retries). */
  save(clientId: string, baseline: Baseline, version: number | undefined): Promise<boolean>;
  /** The client's minute rows from `from` to `to` (epoch s, inclusive), oldest first. */
  minutes(clientId: string, from: number, to: number): Promise<MinuteCounts[]>;
  policy(clientId: string): Promise<AnomalyPolicy>;
  suspend(clientId: string, untilSeconds: number, nowMs: number): Promise<boolean>;
  /**
   * Revokes the client's API keys among `keyIds` as an operator's revoke does (the fan-out
   * carries it); returns those this call revoked. A key of another client is left alone.
   */
  revokeKeys(clientId: string, keyIds: readonly string[], nowSeconds: number): Promise<string[]>;
  record(flag: AnomalyFlag): Promise<void>;
  publish(event: { readonly detailType: string; readonly detail: Readonly<Record<string, string | number>>; readonly time: number }): Promise<void>;
  audit(flag: AnomalyFlag): void;
}

/**
 * Runs the detector for the clients of a batch over their closed minutes: a minute is closed
 * `closeAfterSeconds` after it ends (the metering delay), so its counts are final. Each
 * client's baseline is read, advanced and saved with a version check, so two metering
 * invocations never fold the same minute twice.
 */
export class AnomalyMonitor {
  constructor(
    private readonly ports: AnomalyPorts,
    /** Epoch milliseconds. */
    private readonly now: () => number,
    private readonly settings: AnomalySettings = ANOMALY_DEFAULTS,
    private readonly closeAfterSeconds = 60,
  ) {}

  async check(clientIds: Iterable<string>): Promise<AnomalyFlag[]> {
    const flags: AnomalyFlag[] = [];
    for (const clientId of new Set(clientIds)) flags.push(...(await this.checkOne(clientId)));
    return flags;
  }

  private async checkOne(clientId: string): Promise<AnomalyFlag[]> {
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const upTo = bucketStart(nowSeconds - this.closeAfterSeconds, 'minute') - 60;
    const stored = await this.ports.load(clientId);
    // A client never seen: its history starts with the meters' retention at most (one day is plenty to warm up).
    const from = stored ? stored.baseline.lastMinute + 60 : upTo - SECONDS_PER_DAY;
    if (from > upTo) return [];
    const minutes = await this.ports.minutes(clientId, Math.max(from, upTo - 7 * SECONDS_PER_DAY), upTo);
    const { baseline, anomalies } = detect(stored?.baseline, minutes, upTo, this.settings);
    if (baseline === undefined) return [];
    if (!(await this.ports.save(clientId, baseline, stored?.version))) return [];
    if (anomalies.length === 0) return [];
    const response = await this.ports.policy(clientId);
    const suspendedUntil = response === 'suspend' ? nowSeconds + this.settings.suspendMinutes * 60 : undefined;
    if (suspendedUntil !== undefined) await this.ports.suspend(clientId, suspendedUntil, nowMs);
    // A flag about one key (`key_network_spread`) names that key only; the others, every key of the flagged minute.
    const flaggedKeys = [...new Set(anomalies.flatMap((a) => (a.keyId !== undefined ? [a.keyId] : (minutes.find((m) => m.minute === a.minute)?.keys ?? []))))];
    const revokedKeys = response === 'revoke' ? await this.ports.revokeKeys(clientId, flaggedKeys, nowSeconds) : undefined;
    const flags = anomalies.map(
      (a): AnomalyFlag => ({
        ...a,
        clientId,
        response,
        flaggedAt: nowSeconds,
        ...(suspendedUntil !== undefined && { suspendedUntil }),
        ...(revokedKeys !== undefined && { revokedKeys }),
      }),
    );
    for (const flag of flags) {
      await this.ports.record(flag);
      this.ports.audit(flag);
      await this.ports.publish({
        detailType: AnomalyEvent.detailType,
        detail: {
          clientId,
          ...(flag.keyId !== undefined && { keyId: flag.keyId }),
          rule: flag.rule,
          minute: flag.minute,
          window: 60,
          baseline: flag.baseline,
          observed: flag.observed,
          response,
          ...(suspendedUntil !== undefined && { suspendedUntil }),
          ...(revokedKeys !== undefined && { revokedKeys: revokedKeys.join(',') }),
        },
        time: nowSeconds,
      });
    }
    return flags;
  }
}
