import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANOMALY_DEFAULTS, detect, type Baseline, type MinuteCounts } from '../../../lambda/core/usage/usage-anomaly';

const T0 = Date.UTC(2026, 10, 1) / 1000;

/** A small seeded generator (mulberry32), so a "random" day is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    const rand = random(7);
    const month = Array.from({ length: 30 * 1440 }, (_, i) => steadyMinute(T0 + i * 60, rand));
    expect(run(month).anomalies).toEqual([]);
  });

  it('never flags steady traffic whatever its level, noise and batching (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.integer({ min: 1, max: 30 }), fc.integer(), (level, noise, batch, seed) => {
        const rand = random(seed);
        const minutes = Array.from({ length: 600 }, (_, i) => ({
          minute: T0 + i * 60,
          requests: Math.round(level * (1 - noise + 2 * noise * rand())),
          accessDenied: 0,
          networks: ['198.51.100.0/24'],
        }));
        expect(run(minutes, batch).anomalies).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('flags a 20× spike from new networks (a stolen key) within two minutes: new networks in the first, the rate in the second', () => {
    const rand = random(11);
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
    const fresh = detect(undefined, [burst(T0, 5, ['a']), burst(T0 + 60, 500, ['b', 'c', 'd', 'e', 'f', 'g']), burst(T0 + 120, 500, ['h', 'i', 'j', 'k', 'l'])], T0 + 120);
    expect(fresh.anomalies).toEqual([]);
    const probing = detect(undefined, [burst(T0, 40, ['a'], 25)], T0);
    expect(probing.anomalies).toEqual([{ rule: 'denied_probing', minute: T0, baseline: 20, observed: 25 }]);

    const rand = random(3);
    const { baseline } = run(Array.from({ length: 2 * 1440 }, (_, i) => steadyMinute(T0 + i * 60, rand)));
    const later = baseline!.lastActiveMinute + 31 * 86_400;
    const reuse = detect(baseline, [burst(later, 3, ['198.51.100.0/24'])], later);
    expect(reuse.anomalies.map((a) => a.rule)).toEqual(['idle_reuse']);
  });
});
