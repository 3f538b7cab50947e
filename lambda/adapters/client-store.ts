/**
 * Client records in DynamoDB (`Tables.clients`). Created with a client's first key (see the
 * API key store); per-client limits and usage-plan registration state live on the same item.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClientAttr, CredentialStatus, type ClientLimits } from '../../common/credential-items';
import type { ClientWriteOutcome, ClientUsageStore, UsageRecord } from '../core/admin/client-usage';
import type { ClientStore, RevokeOutcome, StoredClient } from '../core/credentials/credentials';
import { conditionalRevoke } from './conditional-revoke';

const STORED_FIELDS: readonly (keyof StoredClient)[] = [
  'clientId',
  'status',
  'createdAt',
  'revokedAt',
  'usageKey',
  'usageKeyId',
  'usagePlanId',
  'limits',
  'limitsVersion',
  'usageVersion',
  'grants',
];

function fromItem(item: Record<string, unknown>): StoredClient {
  return Object.fromEntries(STORED_FIELDS.filter((field) => item[field] !== undefined).map((field) => [field, item[field]])) as unknown as StoredClient;
}

/** Names every update below uses, so expressions stay readable. */
const NAMES = {
  '#clientId': ClientAttr.clientId,
  '#status': ClientAttr.status,
  '#usageKey': ClientAttr.usageKey,
  '#limitsVersion': ClientAttr.limitsVersion,
};

export class DynamoClientStore implements ClientStore, ClientUsageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(clientId: string): Promise<StoredClient | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [ClientAttr.clientId]: clientId }, ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  /** The ONE write that revokes a whole client: the fan-out carries its status change. */
  revoke(clientId: string, nowSeconds: number): Promise<RevokeOutcome> {
    return conditionalRevoke(this.doc, { tableName: this.tableName, key: { [ClientAttr.clientId]: clientId } }, nowSeconds);
  }

  ensureUsageKey(clientId: string, candidate: string): Promise<ClientWriteOutcome> {
    return this.updateActive(clientId, 'SET #usageKey = if_not_exists(#usageKey, :usageKey), #limitsVersion = if_not_exists(#limitsVersion, :zero)', {
      ':usageKey': candidate,
      ':zero': 0,
    });
  }

  setLimits(clientId: string, limits: ClientLimits | undefined, usageKeyCandidate: string): Promise<ClientWriteOutcome> {
    const ensureKey = '#usageKey = if_not_exists(#usageKey, :usageKey)';
    const bump = '#limitsVersion = if_not_exists(#limitsVersion, :zero) + :one';
    const values = { ':usageKey': usageKeyCandidate, ':zero': 0, ':one': 1 };
    return limits === undefined
      ? this.updateActive(clientId, `SET ${ensureKey}, ${bump} REMOVE #limits`, values, { '#limits': ClientAttr.limits })
      : this.updateActive(clientId, `SET ${ensureKey}, ${bump}, #limits = :limits`, { ...values, ':limits': limits }, { '#limits': ClientAttr.limits });
  }

  async recordUsage(clientId: string, limitsVersion: number, usage: UsageRecord): Promise<'recorded' | 'superseded'> {
    const sets: string[] = [];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':version': limitsVersion };
    const set = (name: string, value: unknown) => {
      sets.push(`#${name} = :${name}`);
      values[`:${name}`] = value;
    };
    if (usage.usageKeyId !== undefined) set(ClientAttr.usageKeyId, usage.usageKeyId);
    if (usage.usagePlanId === null) removes.push(`#${ClientAttr.usagePlanId}`);
    else if (usage.usagePlanId !== undefined) set(ClientAttr.usagePlanId, usage.usagePlanId);
    if (usage.usageVersion !== undefined) set(ClientAttr.usageVersion, usage.usageVersion);
    if (sets.length === 0 && removes.length === 0) return 'recorded';
    const expression = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].join(' ').trim();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [ClientAttr.clientId]: clientId },
          UpdateExpression: expression,
          ConditionExpression: '#limitsVersion = :version',
          ExpressionAttributeNames: {
            '#limitsVersion': ClientAttr.limitsVersion,
            ...Object.fromEntries(
              [ClientAttr.usageKeyId, ClientAttr.usagePlanId, ClientAttr.usageVersion].filter((n) => expression.includes(`#${n}`)).map((n) => [`#${n}`, n]),
            ),
          },
          ExpressionAttributeValues: values,
        }),
      );
      return 'recorded';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'superseded';
      throw error;
    }
  }

  async clearUsage(clientId: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [ClientAttr.clientId]: clientId },
        UpdateExpression: 'REMOVE #usageKeyId, #usagePlanId, #usageVersion',
        ConditionExpression: 'attribute_exists(#clientId)',
        ExpressionAttributeNames: {
          '#clientId': ClientAttr.clientId,
          '#usageKeyId': ClientAttr.usageKeyId,
          '#usagePlanId': ClientAttr.usagePlanId,
          '#usageVersion': ClientAttr.usageVersion,
        },
      }),
    );
  }

  /** An update of an existing, active client; which of the two it was not comes back from the failed condition. */
  private async updateActive(
    clientId: string,
    updateExpression: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<ClientWriteOutcome> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [ClientAttr.clientId]: clientId },
          UpdateExpression: updateExpression,
          ConditionExpression: 'attribute_exists(#clientId) AND #status = :active',
          ExpressionAttributeNames: { ...NAMES, ...names },
          ExpressionAttributeValues: { ...values, ':active': CredentialStatus.Active },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return fromItem(Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return error.Item ? 'client_revoked' : 'not_found';
      throw error;
    }
  }
}
