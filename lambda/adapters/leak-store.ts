/**
 * The leak function's reads and writes (`LeakPorts`): the key by id and its revocation
 * through the API key store (the same conditional write as the admin API's), the client's
 * `leakResponse`, and the `notify` marker. Every read is strongly consistent: a report that
 * races a revocation must see it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isLeakResponse, type LeakResponse } from '../../common/leaks';
import { ApiKeyAttr, ClientAttr, CredentialStatus } from '../../common/credential-items';
import type { RevokeOutcome, StoredApiKey } from '../core/credentials/credentials';
import type { LeakPorts } from '../core/leaks/leak-response';
import { DynamoApiKeyStore } from './api-key-store';

export interface LeakTables {
  readonly apiKeys: string;
  readonly clients: string;
}

export class DynamoLeakStore {
  readonly apiKeys: LeakPorts['apiKeys'];
  readonly clients: LeakPorts['clients'];

  constructor(doc: DynamoDBDocumentClient, tables: LeakTables) {
    const keys = new DynamoApiKeyStore(doc, tables);
    this.apiKeys = {
      // Strongly consistent: a key created a moment before it is reported would read as absent
      // from a lagging replica, be answered `false_positive`, and GitHub does not report it again.
      get: (keyId: string): Promise<StoredApiKey | undefined> => keys.get(keyId),
      revoke: (keyId: string, nowSeconds: number): Promise<RevokeOutcome> => keys.revoke(keyId, nowSeconds),
      markLeakReported: (keyId, nowSeconds, renotifyAfterSeconds) => markLeakReported(doc, tables.apiKeys, keyId, nowSeconds, renotifyAfterSeconds),
    };
    this.clients = { leakResponse: async (clientId) => (await leakResponseOf(doc, tables.clients, clientId)) ?? undefined };
  }
}

/** Conditional on the key being active and not marked within the window: one marker per report burst. */
async function markLeakReported(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keyId: string,
  nowSeconds: number,
  renotifyAfterSeconds: number,
): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [ApiKeyAttr.keyId]: keyId },
        UpdateExpression: 'SET #leakReportedAt = :now',
        ConditionExpression: '#status = :active AND (attribute_not_exists(#leakReportedAt) OR #leakReportedAt <= :cutoff)',
        ExpressionAttributeNames: { '#leakReportedAt': ApiKeyAttr.leakReportedAt, '#status': ApiKeyAttr.status },
        ExpressionAttributeValues: { ':now': nowSeconds, ':cutoff': nowSeconds - renotifyAfterSeconds, ':active': CredentialStatus.Active },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
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
