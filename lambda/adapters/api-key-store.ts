/**
 * API keys in DynamoDB (`Tables.apiKeys`): strongly consistent GetItem by keyId for the
 * exchange, the `byClient` index for listing, transactions for create (with the client
 * record) and roll (with a check of the client record), conditional writes everywhere. No scans.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ACTIVE_PARTITION, ApiKeyAttr, ApiKeyIndex, ClientAttr, CredentialStatus } from '../../common/credential-items';
import type { ApiKeyStore, KeyListCursor, KeyPage, RevokeOutcome, StoredApiKey } from '../core/credentials/credentials';
import { conditionalRevoke, type RevokeTarget, transactionConditionFailed } from './conditional-revoke';

export interface ApiKeyTables {
  readonly apiKeys: string;
  readonly clients: string;
}

const STORED_FIELDS: readonly (keyof StoredApiKey)[] = [
  'keyId',
  'keyHash',
  'clientId',
  'scopes',
  'status',
  'description',
  'metadata',
  'createdAt',
  'expiresAt',
  'lastUsedAt',
  'revokedAt',
  'rolledFrom',
  'rolledTo',
  'meteredQuota',
  'suspendedUntil',
  'suspendedReason',
  'suspendedAtMs',
];

/** An active key carries the sparse hygiene-index partition; a revoked one never does. */
export function apiKeyItem(key: StoredApiKey): Record<string, unknown> {
  return key.status === CredentialStatus.Active ? { ...key, [ApiKeyAttr.activePartition]: ACTIVE_PARTITION } : { ...key };
}

/** A condition that an attribute still has the value read (or is still absent), with the value it names. */
function unchangedCondition(name: string, placeholder: string, value: unknown): { expression: string; values: Record<string, unknown> } {
  return value === undefined
    ? { expression: `attribute_not_exists(${name})`, values: {} }
    : { expression: `${name} = ${placeholder}`, values: { [placeholder]: value } };
}

/**
 * The condition that a client may get keys: its record is active, or absent (a create makes
 * it; keys stored before client records existed roll as they did).
 */
function clientActive(clientId: string, tableName: string) {
  return {
    TableName: tableName,
    Key: { [ClientAttr.clientId]: clientId },
    ConditionExpression: 'attribute_not_exists(#clientId) OR #status = :active',
    ExpressionAttributeNames: { '#clientId': ClientAttr.clientId, '#status': ClientAttr.status },
    ExpressionAttributeValues: { ':active': CredentialStatus.Active },
  };
}

export function apiKeyFromItem(item: Record<string, unknown>): StoredApiKey {
  return Object.fromEntries(STORED_FIELDS.filter((field) => item[field] !== undefined).map((field) => [field, item[field]])) as unknown as StoredApiKey;
}

export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: ApiKeyTables,
  ) {}

  /** Strongly consistent: a key just created, rolled or revoked reads as it is. */
  async get(keyId: string): Promise<StoredApiKey | undefined> {
    const item = await this.item(keyId);
    return item ? apiKeyFromItem(item) : undefined;
  }

  /** The key's whole item, read as {@link get} reads it: for attributes beyond `StoredApiKey` (the leak function's markers). */
  async item(keyId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tables.apiKeys, Key: { [ApiKeyAttr.keyId]: keyId }, ConsistentRead: true }));
    return Item;
  }

  /** Conditional, so concurrent exchanges of one key write `lastUsedAt` once per window. */
  async touchLastUsed(keyId: string, nowSeconds: number, sampleSeconds: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.apiKeys,
          Key: { [ApiKeyAttr.keyId]: keyId },
          UpdateExpression: 'SET #lastUsedAt = :now',
          ConditionExpression: 'attribute_exists(#keyId) AND (attribute_not_exists(#lastUsedAt) OR #lastUsedAt <= :cutoff)',
          ExpressionAttributeNames: { '#keyId': ApiKeyAttr.keyId, '#lastUsedAt': ApiKeyAttr.lastUsedAt },
          ExpressionAttributeValues: { ':now': nowSeconds, ':cutoff': nowSeconds - sampleSeconds },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * One transaction: upsert the client record (created on first key, refused if revoked)
   * and put the key. Upserting an unchanged client writes no stream record (DynamoDB
   * Streams only records writes that change an item).
   */
  async create(key: StoredApiKey): Promise<'created' | 'exists' | 'client_revoked'> {
    const client = clientActive(key.clientId, this.tables.clients);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                ...client,
                UpdateExpression: 'SET #status = if_not_exists(#status, :active), #createdAt = if_not_exists(#createdAt, :now)',
                ExpressionAttributeNames: { ...client.ExpressionAttributeNames, '#createdAt': ClientAttr.createdAt },
                ExpressionAttributeValues: { ...client.ExpressionAttributeValues, ':now': key.createdAt },
              },
            },
            this.putNew(key),
          ],
        }),
      );
      return 'created';
    } catch (error) {
      if (transactionConditionFailed(error, 0)) return 'client_revoked';
      if (transactionConditionFailed(error, 1)) return 'exists';
      throw error;
    }
  }

  async listByClient(clientId: string, limit: number, cursor?: KeyListCursor): Promise<KeyPage> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tables.apiKeys,
        IndexName: ApiKeyIndex.byClient,
        KeyConditionExpression: '#clientId = :clientId',
        ExpressionAttributeNames: { '#clientId': ApiKeyAttr.clientId },
        ExpressionAttributeValues: { ':clientId': clientId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor ? { keyId: cursor.keyId, clientId: cursor.clientId, createdAt: cursor.createdAt } : undefined,
      }),
    );
    const last = page.LastEvaluatedKey;
    const next =
      last === undefined
        ? undefined
        : { keyId: String(last[ApiKeyAttr.keyId]), clientId: String(last[ApiKeyAttr.clientId]), createdAt: Number(last[ApiKeyAttr.createdAt]) };
    return next ? { keys: (page.Items ?? []).map(apiKeyFromItem), cursor: next } : { keys: (page.Items ?? []).map(apiKeyFromItem) };
  }

  /** The client's record is checked in the same transaction: a client revoked since it was read gets no successor. */
  async roll(successor: StoredApiKey, old: StoredApiKey, oldExpiresAt: number): Promise<'rolled' | 'not_rollable' | 'client_revoked'> {
    // The successor carries what was read of the old key's quota and suspension: unchanged since, or no roll.
    const unchanged = [unchangedCondition('#quota', ':quota', old.meteredQuota), unchangedCondition('#suspendedAtMs', ':suspendedAtMs', old.suspendedAtMs)];
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            this.putNew(successor),
            {
              Update: {
                TableName: this.tables.apiKeys,
                Key: { [ApiKeyAttr.keyId]: old.keyId },
                // Out of the hygiene indexes: a rolled key has its successor, so its grace-period
                // expiry is no "expiring soon" warning, and it goes away too soon to go stale.
                UpdateExpression: 'SET #rolledTo = :successor, #expiresAt = :expiresAt REMOVE #activePartition',
                ConditionExpression: ['#status = :active AND attribute_not_exists(#rolledTo)', ...unchanged.map((c) => c.expression)].join(' AND '),
                ExpressionAttributeNames: {
                  '#rolledTo': ApiKeyAttr.rolledTo,
                  '#expiresAt': ApiKeyAttr.expiresAt,
                  '#status': ApiKeyAttr.status,
                  '#activePartition': ApiKeyAttr.activePartition,
                  '#quota': ApiKeyAttr.meteredQuota,
                  '#suspendedAtMs': ApiKeyAttr.suspendedAtMs,
                },
                ExpressionAttributeValues: {
                  ':successor': successor.keyId,
                  ':expiresAt': oldExpiresAt,
                  ':active': CredentialStatus.Active,
                  ...Object.assign({}, ...unchanged.map((c) => c.values)),
                },
              },
            },
            { ConditionCheck: clientActive(old.clientId, this.tables.clients) },
          ],
        }),
      );
      return 'rolled';
    } catch (error) {
      if (transactionConditionFailed(error, 1)) return 'not_rollable';
      if (transactionConditionFailed(error, 2)) return 'client_revoked';
      throw error;
    }
  }

  /** A transaction item that writes a new key, refusing to overwrite an existing keyId. */
  private putNew(key: StoredApiKey) {
    return {
      Put: {
        TableName: this.tables.apiKeys,
        Item: apiKeyItem(key),
        ConditionExpression: 'attribute_not_exists(#keyId)',
        ExpressionAttributeNames: { '#keyId': ApiKeyAttr.keyId },
      },
    };
  }

  /** `also`: attributes the same write sets, and its owner id (the leak function's report). */
  revoke(keyId: string, nowSeconds: number, also: Pick<RevokeTarget, 'set' | 'owner'> = {}): Promise<RevokeOutcome> {
    return conditionalRevoke(
      this.doc,
      { tableName: this.tables.apiKeys, key: { [ApiKeyAttr.keyId]: keyId }, remove: [ApiKeyAttr.activePartition], ...also },
      nowSeconds,
    );
  }
}
