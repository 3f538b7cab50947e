/**
 * The usage table (`Tables.usage`): metered batches added with atomic `ADD`s.
 *
 * Idempotency per batch (a CloudWatch Logs subscription retries a failed invocation with the
 * same events; local mode never re-sends, but the same code runs): every client-minute of a
 * batch is ONE TransactWriteItems — its minute, hour and day rows for the client, each key
 * and each route, and the client's entries in the hour and day `top` index — conditional on
 * the client-minute row not yet holding the batch's marker, which the same transaction adds.
 * A redelivered batch fails that condition and changes nothing; a batch that failed part-way
 * re-applies exactly the client-minutes it had not. The alternative, one marker per request
 * id, would cost a write per request; this costs one per client-minute per batch.
 *
 * Distinct source networks are a string set, so adding them again is harmless: they go in a
 * separate `ADD` that stops once the set is full (`USAGE_NETWORKS_MAX`).
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClientAttr } from '../../common/credential-items';
import { UsageAttr } from '../../common/usage';
import {
  DENIAL_REASONS,
  GRANULARITY_SECONDS,
  USAGE_NETWORKS_MAX,
  bucketStart,
  deniedAttribute,
  retentionSeconds,
  usagePeriodKey,
  usageSeries,
  usageTopPartition,
  type Granularity,
  type UsageDimension,
  type UsageRetention,
} from '../../common/usage';
import type { ApplyResult, ClientMinute, Counts, MeteredBatch, UsageSink } from '../core/usage/usage-meter';
import type { UsageReader } from '../core/usage/usage-report';

/** DynamoDB's limit of actions in one TransactWriteItems. */
const TRANSACTION_ACTIONS_MAX = 100;
/** Writes to a client's busy rows from two batches at once cancel each other (TransactionConflict): retried. */
const CONFLICT_RETRIES = 6;
const CONCURRENCY = 8;
const ROLLUPS: readonly Granularity[] = ['minute', 'hour', 'day'];

type Update = {
  Update: {
    TableName: string;
    Key: Record<string, string>;
    UpdateExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues: Record<string, unknown>;
    ConditionExpression?: string;
  };
};

/** The marker a batch leaves on each client-minute row: 96 bits of its id's SHA-256 (rows hold one per batch). */
export function batchMarker(batchId: string, chunk: number): string {
  return `${createHash('sha256').update(batchId).digest('base64url').slice(0, 16)}${chunk === 0 ? '' : `#${chunk}`}`;
}

export class DynamoUsageStore implements UsageSink {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retention: UsageRetention,
    /** The clients table, where credits are counted; absent: no client has credits. */
    private readonly clientsTable?: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async apply(batchId: string, batch: MeteredBatch, creditClients: ReadonlySet<string> = new Set()): Promise<ApplyResult> {
    let applied = 0;
    let duplicates = 0;
    const queue = [...batch.minutes];
    const worker = async () => {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        await this.addNetworks(entry);
        if (await this.applyMinute(batchId, entry, creditClients.has(entry.clientId))) applied += 1;
        else duplicates += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
    return { applied, duplicates };
  }

  /** True when this call added the client-minute, false when an earlier delivery had. */
  private async applyMinute(batchId: string, entry: ClientMinute, credits: boolean): Promise<boolean> {
    const updates: Update[] = [];
    if (credits && entry.total.allowed > 0) updates.push(this.creditsUpdate(entry));
    for (const granularity of ROLLUPS) {
      if (granularity !== 'minute')
        updates.push(this.counterUpdate(usageSeries(granularity, 'client', entry.clientId), entry.minute, granularity, entry.total));
      for (const [keyId, counts] of entry.keys) updates.push(this.seriesUpdate(granularity, 'key', entry, keyId, counts));
      for (const [route, counts] of entry.routes) updates.push(this.seriesUpdate(granularity, 'route', entry, route, counts));
    }
    for (const granularity of ['hour', 'day'] as const) updates.push(this.topUpdate(granularity, entry));
    // Each transaction starts with the client-minute row carrying its own marker; the first also carries the counts.
    const room = TRANSACTION_ACTIONS_MAX - 1;
    const chunks = Math.max(1, Math.ceil(updates.length / room));
    let fresh = false;
    for (let chunk = 0; chunk < chunks; chunk += 1) {
      const head = this.minuteHead(entry, batchMarker(batchId, chunk), chunk === 0);
      if (await this.transact([head, ...updates.slice(chunk * room, (chunk + 1) * room)])) fresh = true;
    }
    return fresh;
  }

  private async transact(items: Update[]): Promise<boolean> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
        return true;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
        // Only the head holds a condition: its failure means the marker is already there.
        if (codes[0] === 'ConditionalCheckFailed') return false;
        if (!codes.includes('TransactionConflict') || attempt >= CONFLICT_RETRIES) throw error;
        await this.sleep(Math.random() * 20 * 2 ** attempt);
      }
    }
  }

  /** The client's `creditsUsed`, on its record (which must exist: an ADD would otherwise create one). */
  private creditsUpdate(entry: ClientMinute): Update {
    if (this.clientsTable === undefined) throw new Error('credits need the clients table');
    return {
      Update: {
        TableName: this.clientsTable,
        Key: { [ClientAttr.clientId]: entry.clientId },
        UpdateExpression: 'ADD #used :allowed',
        ConditionExpression: 'attribute_exists(#clientId)',
        ExpressionAttributeNames: { '#used': ClientAttr.creditsUsed, '#clientId': ClientAttr.clientId },
        ExpressionAttributeValues: { ':allowed': entry.total.allowed },
      },
    };
  }

  /** The client-minute row: the batch's marker (conditionally absent, then added) and, in the first chunk, the counts. */
  private minuteHead(entry: ClientMinute, marker: string, withCounts: boolean): Update {
    const series = usageSeries('minute', 'client', entry.clientId);
    const keys = withCounts && entry.keys.size > 0 ? [[UsageAttr.keys, new Set(entry.keys.keys())] as [string, unknown]] : [];
    const head = this.counterUpdate(series, entry.minute, 'minute', withCounts ? entry.total : undefined, [[UsageAttr.batches, new Set([marker])], ...keys]);
    head.Update.ExpressionAttributeValues[':marker'] = marker;
    head.Update.ConditionExpression = `NOT contains(#a0, :marker)`;
    return head;
  }

  private seriesUpdate(granularity: Granularity, dimension: UsageDimension, entry: ClientMinute, subject: string, counts: Counts): Update {
    return this.counterUpdate(usageSeries(granularity, dimension, entry.clientId, subject), entry.minute, granularity, counts);
  }

  /** `SET expiresAt ADD <counters>, <extra>`: only non-zero counters are named. */
  private counterUpdate(series: string, minute: number, granularity: Granularity, counts: Counts | undefined, extra: [string, unknown][] = []): Update {
    const start = bucketStart(minute, granularity);
    const names: Record<string, string> = { '#expiresAt': UsageAttr.expiresAt };
    const values: Record<string, unknown> = { ':expiresAt': this.expiresAt(start, granularity) };
    const adds: string[] = [];
    extra.forEach(([attribute, value], i) => {
      names[`#a${i}`] = attribute;
      values[`:a${i}`] = value;
      adds.push(`#a${i} :a${i}`);
    });
    if (counts !== undefined) {
      const fields: [string, number][] = [
        [UsageAttr.requests, counts.requests],
        [UsageAttr.allowed, counts.allowed],
        [UsageAttr.throttled, counts.throttled],
        [UsageAttr.serverErrors, counts.serverErrors],
        [UsageAttr.denied, counts.denied],
        ...DENIAL_REASONS.map((reason): [string, number] => [deniedAttribute(reason), counts.deniedBy[reason] ?? 0]),
      ];
      fields
        .filter(([, n]) => n > 0)
        .forEach(([attribute, n], i) => {
          names[`#c${i}`] = attribute;
          values[`:c${i}`] = n;
          adds.push(`#c${i} :c${i}`);
        });
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: { [UsageAttr.series]: series, [UsageAttr.period]: usagePeriodKey(start) },
        UpdateExpression: `SET #expiresAt = :expiresAt${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  private topUpdate(granularity: 'hour' | 'day', entry: ClientMinute): Update {
    const start = bucketStart(entry.minute, granularity);
    const fields: [string, number][] = [
      [UsageAttr.requests, entry.total.requests],
      [UsageAttr.denied, entry.total.denied],
      [UsageAttr.throttled, entry.total.throttled],
    ];
    const names: Record<string, string> = { '#expiresAt': UsageAttr.expiresAt };
    const values: Record<string, unknown> = { ':expiresAt': this.expiresAt(start, granularity) };
    fields.forEach(([attribute, n], i) => {
      names[`#c${i}`] = attribute;
      values[`:c${i}`] = n;
    });
    return {
      Update: {
        TableName: this.tableName,
        Key: { [UsageAttr.series]: usageTopPartition(granularity, start), [UsageAttr.period]: entry.clientId },
        UpdateExpression: `SET #expiresAt = :expiresAt ADD ${fields.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  /**
   * Networks of the client's minute and hour rows, and on the minute row which key used which
   * wide network (`keyNetworks`, in the same write); a full set refuses the write (the count
   * then reads "at least").
   */
  private async addNetworks(entry: ClientMinute): Promise<void> {
    if (entry.networks.size === 0) return;
    for (const granularity of ['minute', 'hour'] as const) {
      const start = bucketStart(entry.minute, granularity);
      // DynamoDB refuses an ADD of an empty set.
      const withKeys = granularity === 'minute' && entry.keyNetworks.size > 0;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [UsageAttr.series]: usageSeries(granularity, 'client', entry.clientId), [UsageAttr.period]: usagePeriodKey(start) },
            UpdateExpression: `SET #expiresAt = :expiresAt ADD #networks :networks${withKeys ? ', #keyNetworks :keyNetworks' : ''}`,
            ConditionExpression: `(attribute_not_exists(#networks) OR size(#networks) < :max)${withKeys ? ' AND (attribute_not_exists(#keyNetworks) OR size(#keyNetworks) < :max)' : ''}`,
            ExpressionAttributeNames: {
              '#expiresAt': UsageAttr.expiresAt,
              '#networks': UsageAttr.networks,
              ...(withKeys && { '#keyNetworks': UsageAttr.keyNetworks }),
            },
            ExpressionAttributeValues: {
              ':expiresAt': this.expiresAt(start, granularity),
              ':networks': entry.networks,
              ':max': USAGE_NETWORKS_MAX,
              ...(withKeys && { ':keyNetworks': entry.keyNetworks }),
            },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  private expiresAt(start: number, granularity: Granularity): number {
    return start + GRANULARITY_SECONDS[granularity] + retentionSeconds(this.retention, granularity);
  }
}

/** Reads of the usage table (the admin API's reports). */
export class DynamoUsageReader implements UsageReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Items per Query page (`Limit`); default: none, DynamoDB's 1 MB pages. Every page is read either way. */
    private readonly pageSize?: number,
  ) {}

  /** The rows of one series from `from` to `to` (epoch seconds, bucket starts, inclusive), oldest first. */
  async series(series: string, from: number, to: number): Promise<Record<string, unknown>[]> {
    return this.queryAll({
      KeyConditionExpression: '#series = :series AND #period BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#series': UsageAttr.series, '#period': UsageAttr.period },
      ExpressionAttributeValues: { ':series': series, ':from': usagePeriodKey(from), ':to': usagePeriodKey(to) },
    });
  }

  /** Every client's entry in one hour's or day's top index. */
  async top(granularity: 'hour' | 'day', periodStart: number): Promise<Record<string, unknown>[]> {
    return this.partition(usageTopPartition(granularity, periodStart));
  }

  /** Every item of one partition (`series`), in sort-key order. */
  async partition(series: string): Promise<Record<string, unknown>[]> {
    return this.queryAll({
      KeyConditionExpression: '#series = :series',
      ExpressionAttributeNames: { '#series': UsageAttr.series },
      ExpressionAttributeValues: { ':series': series },
    });
  }

  private async queryAll(input: {
    KeyConditionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues: Record<string, unknown>;
  }): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ TableName: this.tableName, ...input, Limit: this.pageSize, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }
}
