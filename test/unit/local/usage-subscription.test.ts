/**
 * Local mode's CloudWatch Logs subscription (`LocalUsageMeter`): what it hands the metering
 * function is what AWS delivers, read back with the function's own decoder; a failed delivery
 * is delivered again unchanged, so its id, and what it counts, stay the same.
 */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDelivery, deliveryId } from '../../../lambda/metering/metering';
import { LOCAL_ACCESS_LOG, LocalUsageMeter } from '../../../local/usage-metering';

const meters: LocalUsageMeter[] = [];
afterEach(async () => {
  for (const meter of meters.splice(0)) await meter.stop();
});

function meter(deliver: (event: CloudWatchLogsEvent) => Promise<unknown>, logs: string[] = []) {
  const created = new LocalUsageMeter({ deliver, flushMs: 60_000, log: (line) => logs.push(line) });
  meters.push(created);
  return created;
}

describe('the local access-log subscription', () => {
  it('delivers a gzip-compressed DATA_MESSAGE of the lines written, in order, with their times and unique ids', async () => {
    const delivered: CloudWatchLogsEvent[] = [];
    const m = meter(async (event) => delivered.push(event));
    m.write('{"a":1}', 1_000);
    m.write('{"b":2}', 2_000);
    await m.flush();
    m.write('{"c":3}', 3_000);
    await m.flush();
    await m.flush(); // nothing written since: nothing delivered

    expect(delivered).toHaveLength(2);
    const [first, second] = delivered.map(decodeDelivery);
    expect(first).toMatchObject({ messageType: 'DATA_MESSAGE', logGroup: LOCAL_ACCESS_LOG.logGroup, logStream: LOCAL_ACCESS_LOG.logStream });
    expect(first!.logEvents.map(({ timestamp, message }) => [timestamp, message])).toEqual([
      [1_000, '{"a":1}'],
      [2_000, '{"b":2}'],
    ]);
    expect(second!.logEvents.map((e) => e.message)).toEqual(['{"c":3}']);
    const ids = [...first!.logEvents, ...second!.logEvents].map((e) => e.id);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^\d+$/);
    expect(deliveryId(first!)).not.toBe(deliveryId(second!));
  });

  it('delivers a failed delivery again, byte for byte, before anything written after it, and logs the failure', async () => {
    const attempts: CloudWatchLogsEvent[] = [];
    let failing = true;
    const logs: string[] = [];
    const m = meter(async (event) => {
      attempts.push(event);
      if (failing) throw new Error('throttled');
    }, logs);
    m.write('{"a":1}');
    await expect(m.flush()).rejects.toThrow('throttled');
    m.write('{"b":2}');
    failing = false;
    await m.flush();

    expect(attempts).toHaveLength(3);
    expect(attempts[1]).toEqual(attempts[0]);
    expect(decodeDelivery(attempts[2]!).logEvents.map((e) => e.message)).toEqual(['{"b":2}']);
    expect(logs.map((line) => JSON.parse(line))).toEqual([{ event: 'usage_metering_failed', lines: 1, error: 'throttled' }]);
  });

  it('delivers what is left when it stops', async () => {
    const delivered: CloudWatchLogsEvent[] = [];
    const m = meter(async (event) => delivered.push(event));
    m.write('{"a":1}');
    await m.stop();
    expect(delivered.map((event) => decodeDelivery(event).logEvents.length)).toEqual([1]);
  });
});
