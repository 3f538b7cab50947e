/**
 * Local mode's CloudWatch Logs subscription (`LocalUsageMeter`): what it hands the metering
 * function is what AWS delivers, read back with the function's own decoder; a failed delivery
 * is delivered again unchanged, so its id, and what it counts, stay the same; it holds up no
 * other, and once it has failed its retries over their window it goes to the dead letters.
 */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDelivery, deliveryId } from '../../../lambda/metering/metering';
import { MeteringDeliveryRetry } from '../../../common/usage';
import { LOCAL_ACCESS_LOG, LocalUsageMeter } from '../../../local/usage-metering';

const meters: LocalUsageMeter[] = [];
afterEach(async () => {
  for (const meter of meters.splice(0)) await meter.stop();
});

interface Seen {
  readonly logs: string[];
  readonly deadLetters: { event: CloudWatchLogsEvent; firstEventId: string }[];
  clockMs: number;
}

function meter(deliver: (event: CloudWatchLogsEvent) => Promise<unknown>, seen: Seen = { logs: [], deadLetters: [], clockMs: 0 }) {
  const created = new LocalUsageMeter({
    deliver,
    flushMs: 60_000,
    log: (line) => seen.logs.push(line),
    deadLetter: (event, firstEventId) => seen.deadLetters.push({ event, firstEventId }),
    now: () => seen.clockMs,
  });
  meters.push(created);
  return created;
}

const messagesOf = (event: CloudWatchLogsEvent) => decodeDelivery(event).logEvents.map((e) => e.message);

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
    const seen: Seen = { logs: [], deadLetters: [], clockMs: 0 };
    const m = meter(async (event) => {
      attempts.push(event);
      if (failing) throw new Error('throttled');
    }, seen);
    m.write('{"a":1}');
    await expect(m.flush()).rejects.toThrow('throttled');
    m.write('{"b":2}');
    failing = false;
    await m.flush();

    expect(attempts).toHaveLength(3);
    expect(attempts[1]).toEqual(attempts[0]);
    expect(decodeDelivery(attempts[2]!).logEvents.map((e) => e.message)).toEqual(['{"b":2}']);
    const firstEventId = decodeDelivery(attempts[0]!).logEvents[0]!.id;
    expect(seen.logs.map((line) => JSON.parse(line))).toEqual([{ event: 'usage_metering_failed', firstEventId, lines: 1, attempts: 1, error: 'throttled' }]);
    expect(seen.deadLetters).toEqual([]);
  });

  it('delivers what is left when it stops', async () => {
    const delivered: CloudWatchLogsEvent[] = [];
    const m = meter(async (event) => delivered.push(event));
    m.write('{"a":1}');
    await m.stop();
    expect(delivered.map((event) => decodeDelivery(event).logEvents.length)).toEqual([1]);
  });

  it('delivers what comes after a delivery that keeps failing, and dead-letters that one once its retries are spent over their window', async () => {
    const seen: Seen = { logs: [], deadLetters: [], clockMs: 0 };
    const delivered: string[][] = [];
    const m = meter(async (event) => {
      const messages = messagesOf(event);
      if (messages.includes('poison')) throw new Error('ValidationException');
      delivered.push(messages);
    }, seen);
    m.write('poison');
    await expect(m.flush()).rejects.toThrow('ValidationException');
    m.write('{"a":1}');
    await expect(m.flush()).rejects.toThrow('ValidationException');
    expect(delivered).toEqual([['{"a":1}']]); // not held up

    // Three attempts, but within the window (Lambda's retries take minutes): still pending.
    seen.clockMs = MeteringDeliveryRetry.retryWindowMs - 1;
    await expect(m.flush()).rejects.toThrow('ValidationException');
    expect(seen.deadLetters).toEqual([]);
    // Past the window: dead-lettered as delivered, logged, and tried no more.
    seen.clockMs = MeteringDeliveryRetry.retryWindowMs;
    await expect(m.flush()).rejects.toThrow('ValidationException');
    expect(seen.deadLetters.map(({ event }) => messagesOf(event))).toEqual([['poison']]);
    expect(seen.deadLetters[0]!.firstEventId).toBe(decodeDelivery(seen.deadLetters[0]!.event).logEvents[0]!.id);
    expect(JSON.parse(seen.logs.at(-1)!)).toMatchObject({ event: 'usage_metering_dead_lettered', attempts: 4, lines: 1 });
    await m.flush();
    expect(seen.logs.filter((line) => line.includes('"usage_metering_')).length).toBe(4);
  });

  it('says how many lines it could not deliver when it stops', async () => {
    const seen: Seen = { logs: [], deadLetters: [], clockMs: 0 };
    const m = meter(async () => {
      throw new Error('down');
    }, seen);
    m.write('{"a":1}');
    m.write('{"b":2}');
    await m.stop();
    expect(JSON.parse(seen.logs.at(-1)!)).toEqual({ event: 'usage_metering_stopped_undelivered', deliveries: 1, lines: 2 });
  });
});
