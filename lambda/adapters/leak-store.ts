/**
 * The leak function's reads and writes (`LeakPorts`): the key by id and its revocation
 * through the API key store's conditional write (the admin API's), the client's
 * `leakResponse`, the `notify` marker, and the marker of a report's announcement. Every read
 * is strongly consistent: a report that races a revocation must see it. Each write carries
 * the report's id and asks for the item when its condition fails, so a write whose answer
 * was lost, retried by the SDK, is recognised as the report's own.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isLeakResponse, type LeakResponse } from '../../common/leaks';
import { ApiKeyAttr, ClientAttr, CredentialStatus } from '../../common/credential-items';
import type { LeakAnnouncement, LeakKeyState, LeakPorts } from '../core/leaks/leak-response';
import { apiKeyFromItem, DynamoApiKeyStore } from './api-key-store';
import { carries } from './conditional-revoke';

export interface LeakTables {
  readonly apiKeys: string;
  readonly clients: string;
}

export class DynamoLeakStore {
  readonly apiKeys: LeakPorts['apiKeys'];
  readonly clients: LeakPorts['clients'];

  constructor(doc: DynamoDBDocumentClient, tables: LeakTables) {
    const keys = new DynamoApiKeyStore(doc, tables);
    const apiKeys = tables.apiKeys;
    this.apiKeys = {
      // Strongly consistent: a key created a moment before it is reported would read as absent
      // from a lagging replica, be answered `false_positive`, and GitHub does not report it again.
      get: async (keyId) => leakKeyState(await keys.item(keyId)),
      revoke: (keyId, nowSeconds, reportId) =>
        keys.revoke(keyId, nowSeconds, {
          set: { [ApiKeyAttr.leakUnannounced]: 'revoked' satisfies LeakAnnouncement },
          owner: { attribute: ApiKeyAttr.leakReportId, id: reportId },
        }),
      markLeakReported: (keyId, nowSeconds, renotifyAfterSeconds, reportId) =>
        markLeakReported(doc, apiKeys, keyId, nowSeconds, renotifyAfterSeconds, reportId),
      markAnnounced: (keyId, reportId) => markAnnounced(doc, apiKeys, keyId, reportId),
    };
    this.clients = { leakResponse: async (clientId) => (await leakResponseOf(doc, tables.clients, clientId)) ?? undefined };
  }
}

function leakKeyState(item: Record<string, unknown> | undefined): LeakKeyState | undefined {
  if (!item) return undefined;
  const reportId = item[ApiKeyAttr.leakReportId];
  const unannounced = item[ApiKeyAttr.leakUnannounced];
  return {
    ...apiKeyFromItem(item),
    ...(typeof reportId === 'string' && { leakReportId: reportId }),
    ...((unannounced === 'revoked' || unannounced === 'notified') && { leakUnannounced: unannounced }),
  };
}

/** Conditional on the key being active and not marked within the window: one marker per report burst. */
async function markLeakReported(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keyId: string,
  nowSeconds: number,
  renotifyAfterSeconds: number,
  reportId: string,
): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [ApiKeyAttr.keyId]: keyId },
        UpdateExpression: 'SET #leakReportedAt = :now, #leakReportId = :reportId, #leakUnannounced = :notified',
        ConditionExpression: '#status = :active AND (attribute_not_exists(#leakReportedAt) OR #leakReportedAt <= :cutoff)',
        ExpressionAttributeNames: {
          '#leakReportedAt': ApiKeyAttr.leakReportedAt,
          '#leakReportId': ApiKeyAttr.leakReportId,
          '#leakUnannounced': ApiKeyAttr.leakUnannounced,
          '#status': ApiKeyAttr.status,
        },
        ExpressionAttributeValues: {
          ':now': nowSeconds,
          ':cutoff': nowSeconds - renotifyAfterSeconds,
          ':active': CredentialStatus.Active,
          ':reportId': reportId,
          ':notified': 'notified' satisfies LeakAnnouncement,
        },
        // A failed condition on an item that already carries this report's id: our own first
        // attempt committed and its answer was lost, so the SDK retried it.
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return carries(error.Item, ApiKeyAttr.leakReportId, reportId);
    throw error;
  }
}

/** Conditional on the report still being the key's last: a newer report's marker is its own to clear. */
async function markAnnounced(doc: DynamoDBDocumentClient, tableName: string, keyId: string, reportId: string): Promise<void> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [ApiKeyAttr.keyId]: keyId },
        UpdateExpression: 'REMOVE #leakUnannounced',
        ConditionExpression: '#leakReportId = :reportId',
        ExpressionAttributeNames: { '#leakUnannounced': ApiKeyAttr.leakUnannounced, '#leakReportId': ApiKeyAttr.leakReportId },
        ExpressionAttributeValues: { ':reportId': reportId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** The client's setting (undefined: the default); `null`: no such client. */
export async function leakResponseOf(doc: DynamoDBDocumentClient, tableName: string, clientId: string): Promise<LeakResponse | undefined | null> {
  const { Item } = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: { [ClientAttr.clientId]: clientId },
      ProjectionExpression: '#clientId, #leakResponse',
      ExpressionAttributeNames: { '#clientId': ClientAttr.clientId, '#leakResponse': ClientAttr.leakResponse },
      ConsistentRead: true,
    }),
  );
  if (!Item) return null;
  const value = Item[ClientAttr.leakResponse];
  return isLeakResponse(value) ? value : undefined;
}

/**
 * The admin API's write (`PUT /admin/clients/{clientId}/leak-response`): only an existing
 * client (created with its first key) can be configured.
 */
export async function setLeakResponse(doc: DynamoDBDocumentClient, tableName: string, clientId: string, mode: LeakResponse): Promise<'updated' | 'not_found'> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [ClientAttr.clientId]: clientId },
        UpdateExpression: 'SET #leakResponse = :mode',
        ConditionExpression: 'attribute_exists(#clientId)',
        ExpressionAttributeNames: { '#leakResponse': ClientAttr.leakResponse, '#clientId': ClientAttr.clientId },
        ExpressionAttributeValues: { ':mode': mode },
      }),
    );
    return 'updated';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'not_found';
    throw error;
  }
}
