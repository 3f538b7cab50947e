/**
 * `GET /admin/anomalies` reads each day's flags to the last page: a day holding more than
 * one Query page (1 MB in DynamoDB; forced here with a small page size) is listed whole.
 */
import { describe, expect, it } from 'vitest';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { DynamoUsageAnomalyStore } from '../../../lambda/adapters/usage-anomaly-store';
import type { AnomalyFlag } from '../../../lambda/core/usage/usage-anomaly';
import { freshTables } from '../../support/aws';

describe('the anomaly flags of a day', () => {
  it('are listed whole when the day spans several Query pages', async () => {
    const tables = await freshTables();
    const names = { clients: tables.names.clients, usage: tables.names.usage };
    const writer = new DynamoUsageAnomalyStore(tables.doc, names);
    const today = Math.floor(Date.UTC(2026, 11, 7) / 1000);
    const flag = (n: number, day: number): AnomalyFlag => ({
      clientId: `client-${n}`,
      rule: 'rate_spike',
      minute: day + 60 * n,
      baseline: 10,
      observed: 100,
      response: 'notify',
      flaggedAt: day + 60 * n + 30,
    });
    const flags = [...Array.from({ length: 7 }, (_, n) => flag(n, today)), ...Array.from({ length: 5 }, (_, n) => flag(n, today - SECONDS_PER_DAY))];
    for (const f of flags) await writer.record(f);

    const now = today + 12 * 3600;
    const all = new Set(flags.map((f) => `${f.clientId}@${f.minute}`));
    // Pages of 2 items: by the store's option, and by a client that cuts every Query short as a 1 MB page would.
    const cutShort = {
      send: (command: { input: object }) => {
        if (command instanceof QueryCommand) Object.assign(command.input, { Limit: 2 });
        return tables.doc.send(command as Parameters<typeof tables.doc.send>[0]);
      },
    } as unknown as DynamoDBDocumentClient;
    for (const paged of [new DynamoUsageAnomalyStore(tables.doc, names, 2), new DynamoUsageAnomalyStore(cutShort, names)]) {
      const listed = await paged.recent(2, now);
      expect(listed).toHaveLength(flags.length);
      expect(listed).toEqual(await writer.recent(2, now));
      expect(new Set(listed.map((f) => `${f.clientId}@${f.minute}`))).toEqual(all);
    }
  });
});
