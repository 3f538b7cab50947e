import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANOMALY_DEFAULTS, detect, type Baseline, type MinuteCounts } from '../../../lambda/core/usage/usage-anomaly';
import { keyNetwork, sourceNetwork, wideNetwork } from '../../../lambda/core/usage/usage-meter';
import { seededRandom } from '../../support/seeded-random';

const T0 = Date.UTC(2026, 10, 1) / 1000;

/** A client's ordinary traffic: a daily cycle between ~5 and ~60 requests a minute, from its three offices. */
function steadyMinute(minute: number, rand: () => number): MinuteCounts {
  const hour = ((minute - T0) / 3600) % 24;
  const level = 32 + 27 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
  const requests = Math.max(0, Math.round(level * (0.7 + 0.6 * rand())));
  const offices = ['198.51.100.0/24', '203.0.113.0/24', '2001:db8:10::/48'];
  return { minute, requests, accessDenied: rand() < 0.02 ? 1 : 0, networks: requests > 0 ? offices.filter(() => rand() < 0.8) : [] };
}

/** Runs minutes through the detector in batches, as the metering function would. */
function run(minutes: readonly MinuteCounts[], batch = 7, start?: Baseline) {
  let baseline = start;
  const anomalies = [];
  for (let i = 0; i < minutes.length; i += batch) {
    const part = minutes.slice(i, i + batch);
    const result = detect(baseline, part, part[part.length - 1]!.minute);
    baseline = result.baseline;
    anomalies.push(...result.anomalies);
  }
  return { baseline, anomalies };
}

describe('anomaly detection', () => {
  it('never flags a client with steady traffic over a simulated month', () => {
    const rand = seededRandom(7);
    const month = Array.from({ length: 30 * 1440 }, (_, i) => steadyMinute(T0 + i * 60, rand));
    expect(run(month).anomalies).toEqual([]);
  });

  it('never flags steady traffic whatever its level, noise and batching (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer(),
        (level, noise, batch, seed) => {
          const rand = seededRandom(seed);
          const minutes = Array.from({ length: 600 }, (_, i) => ({
            minute: T0 + i * 60,
            requests: Math.round(level * (1 - noise + 2 * noise * rand())),
            accessDenied: 0,
            networks: ['198.51.100.0/24'],
          }));
          expect(run(minutes, batch).anomalies).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('flags a 20× spike from new networks (a stolen key) within two minutes: new networks in the first, the rate in the second', () => {
    const rand = seededRandom(11);
    const week = Array.from({ length: 7 * 1440 }, (_, i) => steadyMinute(T0 + i * 60, rand));
    const { baseline } = run(week);
    const spikeStart = T0 + 7 * 1440 * 60;
    const thief = Array.from({ length: 5 }, (_, i) => ({
      minute: spikeStart + i * 60,
      requests: Math.round(20 * baseline!.rate) + 40,
      accessDenied: 0,
      networks: Array.from({ length: 12 }, (_, n) => `100.64.${n}.0/24`),
    }));
    const { anomalies } = detect(baseline, thief, thief[thief.length - 1]!.minute);
    expect(anomalies.filter((a) => a.rule === 'new_networks').map((a) => a.minute)[0]).toBe(spikeStart);
    const spike = anomalies.find((a) => a.rule === 'rate_spike');
    expect(spike?.minute).toBe(spikeStart + 60);
    expect(spike!.observed).toBeGreaterThan(ANOMALY_DEFAULTS.spikeFactor * spike!.baseline);
  });

  it('holds its fire during warm-up, except for denied probing; flags reuse after a long idle time', () => {
    const burst = (minute: number, requests: number, networks: string[], accessDenied = 0): MinuteCounts => ({ minute, requests, accessDenied, networks });
    const fresh = detect(
      undefined,
      [burst(T0, 5, ['a']), burst(T0 + 60, 500, ['b', 'c', 'd', 'e', 'f', 'g']), burst(T0 + 120, 500, ['h', 'i', 'j', 'k', 'l'])],
      T0 + 120,
    );
    expect(fresh.anomalies).toEqual([]);
    const probing = detect(undefined, [burst(T0, 40, ['a'], 25)], T0);
    expect(probing.anomalies).toEqual([{ rule: 'denied_probing', minute: T0, baseline: 20, observed: 25 }]);

    const rand = seededRandom(3);
    const { baseline } = run(Array.from({ length: 2 * 1440 }, (_, i) => steadyMinute(T0 + i * 60, rand)));
    const later = baseline!.lastActiveMinute + 31 * 86_400;
    const reuse = detect(baseline, [burst(later, 3, ['198.51.100.0/24'])], later);
    expect(reuse.anomalies.map((a) => a.rule)).toEqual(['idle_reuse']);
  });
});

describe('key_network_spread: the same key from far-apart networks within minutes', () => {
  const KEY = 'key_0123456789abcdef0123';
  const OTHER = 'key_fedcba9876543210fedc';
  /** One closed minute of the client: each use is a key, a source IP and a number of requests, metered as the meter does. */
  const minuteOf = (minute: number, uses: readonly (readonly [string, string, number])[]): MinuteCounts => {
    const networks = new Set<string>();
    const keyNetworks = new Set<string>();
    let requests = 0;
    for (const [keyId, ip, n] of uses) {
      const network = sourceNetwork(ip)!;
      networks.add(network);
      keyNetworks.add(keyNetwork(keyId, wideNetwork(network)));
      requests += n;
    }
    return { minute, requests, accessDenied: 0, networks: [...networks], keys: [...new Set(uses.map((u) => u[0]))], keyNetworks: [...keyNetworks] };
  };
  /** Two hours of a client's one key from its office (198.51.100.0/24): past warm-up. */
  const warmed = () => run(Array.from({ length: 120 }, (_, i) => minuteOf(T0 + i * 60, [[KEY, '198.51.100.7', 20]]))).baseline!;
  const after = T0 + 120 * 60;

  it('widens a /24 to its /16 and a /48 to its /32', () => {
    expect(wideNetwork('198.51.100.0/24')).toBe('198.51.0.0/16');
    expect(wideNetwork('2001:db8:10::/48')).toBe('2001:db8::/32');
    expect(wideNetwork(sourceNetwork('::ffff:203.0.113.9')!)).toBe('203.0.0.0/16');
  });

  it('flags a key used from two far networks in one minute, naming the key; its other keys and the far network alone are not flagged', () => {
    const baseline = warmed();
    const { anomalies } = detect(
      baseline,
      [
        minuteOf(after, [
          [KEY, '198.51.100.7', 20],
          [KEY, '100.64.3.9', 5],
          [OTHER, '198.51.100.8', 3],
        ]),
      ],
      after,
    );
    expect(anomalies).toEqual([{ rule: 'key_network_spread', minute: after, baseline: 1, observed: 2, keyId: KEY }]);
    // Another key of the client used only from the far network is no spread of that key.
    expect(detect(baseline, [minuteOf(after, [[OTHER, '100.64.3.9', 5]])], after).anomalies).toEqual([]);
  });

  it('flags a far network within the window of the last use elsewhere, not after it; flags one far network once', () => {
    const baseline = warmed();
    const within = detect(baseline, [minuteOf(after, [[KEY, '198.51.100.7', 20]]), minuteOf(after + 180, [[KEY, '100.64.3.9', 5]])], after + 180);
    expect(within.anomalies.map((a) => [a.rule, a.minute, a.keyId])).toEqual([['key_network_spread', after + 180, KEY]]);
    // Remembered now: the same far network again is not flagged again.
    const again = detect(
      within.baseline,
      [
        minuteOf(after + 240, [
          [KEY, '198.51.100.7', 20],
          [KEY, '100.64.3.10', 5],
        ]),
      ],
      after + 240,
    );
    expect(again.anomalies).toEqual([]);
    // Ten idle minutes after the office: outside the 5-minute window.
    const later = detect(baseline, [minuteOf(after + 600, [[KEY, '100.64.3.9', 5]])], after + 600);
    expect(later.anomalies).toEqual([]);
  });

  it('takes its thresholds from the settings, and stays silent during warm-up', () => {
    const baseline = warmed();
    const three = { ...ANOMALY_DEFAULTS, spreadNetworks: 3 };
    const spread = minuteOf(after, [
      [KEY, '198.51.100.7', 20],
      [KEY, '100.64.3.9', 5],
    ]);
    expect(detect(baseline, [spread], after, three).anomalies).toEqual([]);
    expect(
      detect(
        baseline,
        [
          minuteOf(after, [
            [KEY, '198.51.100.7', 20],
            [KEY, '100.64.3.9', 5],
            [KEY, '192.0.2.1', 1],
          ]),
        ],
        after,
        three,
      ).anomalies,
    ).toHaveLength(1);
    expect(
      detect(
        undefined,
        [
          minuteOf(T0, [
            [KEY, '198.51.100.7', 20],
            [KEY, '100.64.3.9', 5],
          ]),
        ],
        T0,
      ).anomalies,
    ).toEqual([]);
  });

  it('never flags steady traffic from one network, or from a NAT pool within one /16, over a long simulation (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (pool, keys, batch, seed) => {
        const rand = seededRandom(seed);
        const keyIds = Array.from({ length: keys }, (_, k) => `key_${String(k).padStart(20, '0')}`);
        // A /16 NAT pool of `pool` /24s (pool 1: a single network); every minute each key goes out through any of them.
        const minutes = Array.from({ length: 6 * 60 }, (_, i) =>
          minuteOf(
            T0 + i * 60,
            keyIds.flatMap((keyId) =>
              Array.from(
                { length: 1 + Math.floor(rand() * 3) },
                () => [keyId, `10.20.${Math.floor(rand() * pool)}.${1 + Math.floor(rand() * 250)}`, 1 + Math.floor(rand() * 10)] as const,
              ),
            ),
          ),
        );
        expect(run(minutes, batch).anomalies).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('never flags a client whose keys are used from its several offices in different /16s, over a simulated week', () => {
    const rand = seededRandom(5);
    const offices = ['198.51.100.7', '203.0.113.20', '2001:db8:10::5'];
    const week = Array.from({ length: 7 * 1440 }, (_, i) =>
      minuteOf(
        T0 + i * 60,
        [KEY, OTHER].flatMap((keyId) => offices.filter(() => rand() < 0.7).map((ip) => [keyId, ip, 1 + Math.floor(rand() * 20)] as const)),
      ),
    ).filter((m) => m.requests > 0);
    expect(run(week).anomalies).toEqual([]);
  });
});
