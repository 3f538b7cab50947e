import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { createMetering, deliveryId } from '../../../lambda/metering/metering';
import { RouteLabeler, type MeteredBatch } from '../../../lambda/core/usage/usage-meter';
import { line } from './lines';

const T0 = Date.UTC(2026, 11, 6, 20);

/** A subscription delivery as CloudWatch Logs sends it: gzip, then base64, in `awslogs.data`. */
function delivery(messages: string[], messageType = 'DATA_MESSAGE', ids = messages.map((_, i) => `3${i}`)): CloudWatchLogsEvent {
  const data = {
    messageType,
    owner: '111122223333',
    logGroup: 'API-Gateway-Execution-Logs',
    logStream: 'stream-1',
    subscriptionFilters: ['AccessLogSubscription'],
    logEvents: messages.map((message, i) => ({ id: ids[i]!, timestamp: T0 + i, message })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
}

describe('the metering function', () => {
  const run = (event: CloudWatchLogsEvent) => {
    const applied: { batchId: string; batch: MeteredBatch }[] = [];
    const meter = createMetering({
      sink: {
        apply: async (batchId, batch) => {
          applied.push({ batchId, batch });
          return { applied: batch.minutes.length, duplicates: 0 };
        },
      },
      routes: new RouteLabeler(DEFAULT_ROUTES),
      now: () => T0 + 2_500,
    });
    return meter(event).then((summary) => ({ summary, applied }));
  };

  it('meters a delivery as one batch whose id is the same for a redelivery of the same events', async () => {
    const lines = [
      line({ atMs: T0, clientId: 'acme', keyId: 'key_00000000000000000001' }),
      line({ atMs: T0 + 1, clientId: 'acme', status: 403, errorType: 'ACCESS_DENIED' }),
      line({ atMs: T0 + 2 }),
    ];
    const first = await run(delivery(lines));
    const again = await run(delivery(lines));
    expect(first.applied).toHaveLength(1);
    expect(again.applied[0]!.batchId).toBe(first.applied[0]!.batchId);
    expect(first.summary).toMatchObject({
      lines: 3,
      unattributed: 1,
      ignored: 0,
      applied: 1,
      lagMs: 2_500,
      deniedBy: { access_denied: 1 },
      quotas: [],
      anomalies: [],
    });
    // Other events (other ids) are another batch.
    const other = await run(delivery(lines, 'DATA_MESSAGE', ['9', '8', '7']));
    expect(other.applied[0]!.batchId).not.toBe(first.applied[0]!.batchId);
  });

  it('ignores the control message CloudWatch Logs sends to check the destination', async () => {
    expect(await run(delivery([], 'CONTROL_MESSAGE'))).toEqual({ summary: undefined, applied: [] });
  });

  it('names a batch by the log group, the stream and every event id', () => {
    const base = {
      messageType: 'DATA_MESSAGE',
      owner: 'o',
      logGroup: 'g',
      logStream: 's',
      subscriptionFilters: [],
      logEvents: [{ id: '1', timestamp: 0, message: '' }],
    };
    expect(deliveryId(base)).toBe(deliveryId({ ...base }));
    expect(deliveryId({ ...base, logStream: 't' })).not.toBe(deliveryId(base));
  });
});
