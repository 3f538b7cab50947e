/**
 * A client's per-service grants on its record in `Tables.clients` (`ClientAttr.grants`, a
 * map of service name → scopes). Written whole, conditional on the map read before, so two
 * operators granting on two services at once cannot lose one another's change.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClientAttr } from '../../common/credential-items';
import type { Grants, GrantWrite } from '../core/admin/service-grants';

const NAMES = { '#clientId': ClientAttr.clientId, '#grants': ClientAttr.grants };

/** The client's grants (`undefined`: none set); `null`: no such client. */
export async function grantsOf(doc: DynamoDBDocumentClient, tableName: string, clientId: string): Promise<Grants | undefined | null> {
  const { Item } = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: { [ClientAttr.clientId]: clientId },
      ProjectionExpression: '#clientId, #grants',
      ExpressionAttributeNames: NAMES,
      ConsistentRead: true,
    }),
  );
  if (!Item) return null;
  return (Item[ClientAttr.grants] as Grants | undefined) ?? undefined;
}

/** Replaces the grants if they are still `before`; an existing client only. */
export async function writeGrants(
  doc: DynamoDBDocumentClient,
  tableName: string,
  clientId: string,
  before: Grants | undefined,
  next: Grants,
): Promise<GrantWrite> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [ClientAttr.clientId]: clientId },
        UpdateExpression: 'SET #grants = :next',
        ConditionExpression:
          before === undefined ? 'attribute_exists(#clientId) AND attribute_not_exists(#grants)' : 'attribute_exists(#clientId) AND #grants = :before',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ':next': next, ...(before !== undefined && { ':before': before }) },
      }),
    );
    return 'updated';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'conflict';
    throw error;
  }
}
