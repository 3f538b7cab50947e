/**
 * Helpers for the authorizer's integration tests: feed entries written directly in the
 * layout of common/revocation-feed.ts (as the fan-out writer would), and ring keys stored with the
 * real signing-key store.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FeedAttr, feedMarkerPartition, feedPartition, feedSortKey, type RevocationKind } from '../../../common/revocation-feed';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import type { TestKey } from '../../unit/authorizer/support/tokens';

export async function putFeedEntry(
  doc: DynamoDBDocumentClient,
  table: string,
  entry: { kind: RevocationKind; value: string; writtenAtMs?: number; purgeAt?: number },
): Promise<string> {
  const writtenAtMs = entry.writtenAtMs ?? Date.now();
  const seq = feedSortKey(writtenAtMs, randomUUID());
  await doc.send(
    new PutCommand({
      TableName: table,
      Item: {
        [FeedAttr.bucket]: feedPartition(Math.floor(writtenAtMs / 1000), 0),
        [FeedAttr.seq]: seq,
        [FeedAttr.kind]: entry.kind,
        [FeedAttr.value]: entry.value,
        [FeedAttr.revokedAtMs]: writtenAtMs,
        [FeedAttr.purgeAt]: entry.purgeAt ?? Math.floor(writtenAtMs / 1000) + 3600,
      },
    }),
  );
  // The writer's idempotency marker shares the table; readers must never mistake it for an entry.
  await doc.send(new PutCommand({ TableName: table, Item: { [FeedAttr.bucket]: feedMarkerPartition(entry.kind, entry.value), [FeedAttr.seq]: seq } }));
  return seq;
}

export async function putKeys(doc: DynamoDBDocumentClient, table: string, keys: readonly TestKey[]): Promise<void> {
  const store = new DynamoSigningKeyStore(doc, table);
  for (const key of keys) await store.put(key.record);
}

/** Polls `probe` every `everyMs` until it returns true or `withinMs` passes; returns the elapsed ms or undefined. */
export async function eventually(probe: () => Promise<boolean>, withinMs: number, everyMs = 50): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started <= withinMs) {
    if (await probe()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return undefined;
}
