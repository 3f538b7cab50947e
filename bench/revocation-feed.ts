/**
 * Revocation-feed capacity, measured on a DynamoDB Local of its own (the figures behind
 * `docs/revocation.md`):
 *
 *   npx tsx bench/revocation-feed.ts                    # 100,000-entry mass revocation
 *   npx tsx bench/revocation-feed.ts --entries 20000    # smaller, for a quick look
 *
 * 1. bytes per feed entry and per marker, of items the fan-out's writer actually wrote,
 *    by DynamoDB's item-size rules;
 * 2. the writer's append (one TransactWriteItems of marker + entry) on DynamoDB Local;
 * 3. a mass revocation of `--entries` tokens loaded into the feed as the writer lays it
 *    out, then what an authorizer cold start costs to load it: Query pages, bytes, RCUs,
 *    time through the authorizers' real reader and revocation view.
 *
 * Writes `bench/results/revocation-feed.json`. DynamoDB Local timings are not AWS
 * timings: they show how the work scales, not what AWS latency will be.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Defaults } from '../common/defaults';
import * as Setting from '../common/settings';
import { FeedAttr, feedMarkerPartition, feedPartitionsBetween, RevocationKind, type RevocationEntry } from '../common/revocation-feed';
import { newTokenId } from '../lambda/core/issuance/access-token';
import { RevocationView } from '../lambda/core/revocation/revocation-view';
import { RevocationFeedReader } from '../lambda/adapters/revocation-feed-reader';
import { sdkQueryClient } from '../lambda/adapters/sdk-query-client';
import { DynamoRevocationFeedWriter, FEED_MARKER_SEQ, feedEntryItem, feedMarkerItem } from '../lambda/adapters/revocation-feed-writer';
import { createTables, localDynamoClient, startDynamoDbLocal, tableNames } from '../local/dynamodb';

const RESULTS = fileURLToPath(new URL('./results/revocation-feed.json', import.meta.url));
/** Query returns at most 1 MB per page. */
const QUERY_PAGE_BYTES = 1024 * 1024;
/** A strongly consistent read unit covers 4 KB of the items a Query returns. */
const RCU_BYTES = 4096;

type Item = Record<string, unknown>;

/**
 * DynamoDB's item size: attribute names plus values; a string is its UTF-8 bytes, a number
 * about one byte per two significant digits plus one
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
function dynamoItemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if (typeof value === 'string') bytes += Buffer.byteLength(value, 'utf8');
    else if (typeof value === 'number') bytes += Math.ceil(significantDigits(value) / 2) + 1;
    else throw new Error(`attribute ${name}: only strings and numbers are sized here`);
  }
  return bytes;
}

function significantDigits(value: number): number {
  const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(1, digits.length);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (value: number, places = 1) => Math.round(value * 10 ** places) / 10 ** places;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entries: { type: 'string', default: '100000' }, appends: { type: 'string', default: '2000' } } });
  const entries = Number(values.entries);
  const appends = Number(values.appends);
  // A generous start timeout: the JVM starts slowly on a busy machine.
  const ddb = await startDynamoDbLocal({ startTimeoutMs: 180_000 });
  const client = localDynamoClient(ddb.endpoint);
  const doc = DynamoDBDocumentClient.from(client);
  const names = tableNames('bench-');
  try {
    await createTables(client, names);
    const table = names.revocations;
    const nowMs = Date.now();
    const nowS = Math.floor(nowMs / 1000);
    const longest = nowS + Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds;
    const writer = new DynamoRevocationFeedWriter(doc, table);

    // 1. Sizes of items the writer wrote, one per kind, with realistic identifiers.
    const samples: RevocationEntry[] = [
      { kind: RevocationKind.Token, value: newTokenId(), revokedAtMs: nowMs, purgeAt: nowS + 900 + Defaults.clockSkewSeconds },
      { kind: RevocationKind.ApiKey, value: 'key_3f2a9c0d81b64e57a1c2', revokedAtMs: nowMs, purgeAt: longest },
      { kind: RevocationKind.Client, value: 'acme-payments', revokedAtMs: nowMs, purgeAt: longest },
      { kind: RevocationKind.SigningKey, value: '20261122T0815Z-9f3b2c1a', revokedAtMs: nowMs, purgeAt: longest },
    ];
    const sizes = [];
    for (const sample of samples) {
      const result = await writer.append(sample);
      if (result.outcome !== 'written') throw new Error('sample already in the feed');
      const entry = (await doc.send(new GetCommand({ TableName: table, Key: { bucket: result.bucket, seq: result.seq }, ConsistentRead: true }))).Item!;
      const marker = (
        await doc.send(new GetCommand({ TableName: table, Key: { bucket: feedMarkerPartition(sample.kind, sample.value), seq: FEED_MARKER_SEQ } }))
      ).Item!;
      sizes.push({ kind: sample.kind, valueChars: sample.value.length, entryBytes: dynamoItemBytes(entry), markerBytes: dynamoItemBytes(marker) });
    }
    const tokenSize = sizes[0]!;

    // 2. The writer's append on DynamoDB Local, 8 at a time (one Lambda's batch processes its records in parallel).
    const latencies: number[] = [];
    const appendStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < appends) {
          next += 1;
          const started = performance.now();
          await writer.append({ kind: RevocationKind.Token, value: newTokenId(), revokedAtMs: Date.now(), purgeAt: nowS + 900 });
          latencies.push(performance.now() - started);
        }
      }),
    );
    const appendSeconds = (performance.now() - appendStarted) / 1000;
    latencies.sort((a, b) => a - b);

    // 3. A mass revocation: `entries` tokens revoked one by one, written as the writer lays them
    //    out, at the rate one feed partition sustains in AWS (spread over the hour bucket(s) it takes).
    const massStartMs = nowMs + 1_000;
    const perSecond = 500;
    const loadStarted = performance.now();
    let items: Item[] = [];
    const flush = async (batch: Item[]) => {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (UnprocessedItems?.[table] ?? []) as typeof pending;
      }
    };
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < entries; i += 1) {
      const entry: RevocationEntry = {
        kind: RevocationKind.Token,
        value: newTokenId(),
        revokedAtMs: massStartMs,
        purgeAt: nowS + 900 + Defaults.clockSkewSeconds,
      };
      const { bucket, seq, item } = feedEntryItem(entry, massStartMs + Math.floor((i * 1000) / perSecond));
      items.push(item, feedMarkerItem(entry, bucket, seq));
      if (items.length === 24) {
        inFlight.push(flush(items));
        items = [];
        if (inFlight.length === 8) await Promise.all(inFlight.splice(0));
      }
      if (i % 20_000 === 0) process.stderr.write(`loading ${i}/${entries}\n`);
    }
    inFlight.push(flush(items));
    await Promise.all(inFlight);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const massEndMs = massStartMs + Math.floor(((entries - 1) * 1000) / perSecond);

    // Cold start, raw: every partition that can hold a live entry, strongly consistent, all pages.
    const windowSeconds = Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds + 300;
    const readAtS = Math.floor(massEndMs / 1000);
    const partitions = feedPartitionsBetween(readAtS - windowSeconds, readAtS);
    let pages = 0;
    let bytes = 0;
    let read = 0;
    const rawStarted = performance.now();
    for (const partition of partitions) {
      let startKey: Item | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: '#b = :b',
            ExpressionAttributeNames: { '#b': FeedAttr.bucket },
            ExpressionAttributeValues: { ':b': partition },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        pages += 1;
        read += page.Items?.length ?? 0;
        for (const item of page.Items ?? []) bytes += dynamoItemBytes(item);
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    const rawSeconds = (performance.now() - rawStarted) / 1000;

    // Cold start through the authorizers' own reader and view.
    const heapBefore = process.memoryUsage().heapUsed;
    const view = new RevocationView({
      source: new RevocationFeedReader(sdkQueryClient(doc), table, { requestTimeoutMs: 120_000 }),
      pollIntervalMs: Setting.revocationPollMs.default,
      maxStalenessMs: Setting.revocationViewMaxStaleSeconds.default * 1000,
      windowSeconds,
      now: () => massEndMs,
    });
    const viewStarted = performance.now();
    await view.refresh(massEndMs);
    const viewSeconds = (performance.now() - viewStarted) / 1000;
    const heapAfter = process.memoryUsage().heapUsed;

    const results = {
      measuredAt: new Date().toISOString(),
      note: 'DynamoDB Local on this machine; sizes follow DynamoDB item-size rules; RCUs are computed for a strongly consistent Query (4 KB units over the bytes returned)',
      itemSizes: sizes,
      append: {
        count: appends,
        concurrency: 8,
        perSecond: round(appends / appendSeconds),
        p50Ms: round(percentile(latencies, 50)),
        p99Ms: round(percentile(latencies, 99)),
      },
      massRevocation: {
        entries,
        markers: entries,
        writtenOverSeconds: round((massEndMs - massStartMs) / 1000),
        loadSecondsAtDynamoDbLocal: round(loadSeconds),
        feedBytes: entries * tokenSize.entryBytes,
        markerBytes: entries * tokenSize.markerBytes,
      },
      coldStart: {
        partitions: partitions.length,
        pages,
        entriesRead: read,
        bytesRead: bytes,
        theoreticalPages: Math.ceil(bytes / QUERY_PAGE_BYTES),
        strongRcus: Math.ceil(bytes / RCU_BYTES),
        eventualRcus: Math.ceil(bytes / RCU_BYTES / 2),
        rawQuerySeconds: round(rawSeconds, 2),
        viewLoadSeconds: round(viewSeconds, 2),
        viewEntries: view.entries,
        viewHeapMiB: round((heapAfter - heapBefore) / 1024 / 1024),
      },
    };
    mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    client.destroy();
    await ddb.stop();
  }
}

await main();
