/**
 * The one revocation write shared by API keys, clients and tokens: set `status=revoked`,
 * `revokedAt` and the write's own id, conditional on the item existing and being active. That status change is
 * exactly what the stream fan-out recognises; an already-revoked item is not written again,
 * so a repeated revoke emits no second stream record.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { CredentialStatus, REVOCATION_ID_ATTR } from '../../common/credential-items';
import type { RevokeOutcome } from '../core/credentials/credentials';

export interface RevokeTarget {
  readonly tableName: string;
  readonly key: Readonly<Record<string, string>>;
  /** Attributes removed by the same write (e.g. the sparse index key of active API keys). */
  readonly remove?: readonly string[];
  /** Attributes set by the same write, beside `status` and `revokedAt`. */
  readonly set?: Readonly<Record<string, string | number>>;
  /** Attributes the item must hold with these values, beside being active (RFC 7009: the token's own client). */
  readonly requires?: Readonly<Record<string, string>>;
  /**
   * An id unique to this write, stored under `attribute` by it: a failed condition whose item
   * already carries it is this write's own first attempt, committed, whose answer was lost
   * (the SDK retried it), and counts as `revoked`. Absent: a fresh one under
   * {@link REVOCATION_ID_ATTR}.
   */
  readonly owner?: RevocationOwner;
}

interface RevocationOwner {
  readonly attribute: string;
  readonly id: string;
}

export async function conditionalRevoke(doc: DynamoDBDocumentClient, target: RevokeTarget, nowSeconds: number): Promise<RevokeOutcome> {
  const [keyName] = Object.keys(target.key);
  const removeNames = (target.remove ?? []).map((_, index) => `#r${index}`);
  const owner = target.owner ?? { attribute: REVOCATION_ID_ATTR, id: randomUUID() };
  const set = Object.entries({ ...target.set, [owner.attribute]: owner.id });
  const setClauses = set.map((_, index) => `, #s${index} = :s${index}`).join('');
  const required = Object.entries(target.requires ?? {});
  const requiredClauses = required.map((_, index) => ` AND #q${index} = :q${index}`).join('');
  try {
    await doc.send(
      new UpdateCommand({
        TableName: target.tableName,
        Key: target.key,
        UpdateExpression: `SET #status = :revoked, #revokedAt = :now${setClauses}${removeNames.length ? ` REMOVE ${removeNames.join(', ')}` : ''}`,
        ConditionExpression: `attribute_exists(#key) AND #status = :active${requiredClauses}`,
        ExpressionAttributeNames: {
          '#key': keyName ?? '',
          '#status': 'status',
          '#revokedAt': 'revokedAt',
          ...Object.fromEntries((target.remove ?? []).map((name, index) => [`#r${index}`, name])),
          ...Object.fromEntries(set.map(([name], index) => [`#s${index}`, name])),
          ...Object.fromEntries(required.map(([name], index) => [`#q${index}`, name])),
        },
        ExpressionAttributeValues: {
          ':revoked': CredentialStatus.Revoked,
          ':active': CredentialStatus.Active,
          ':now': nowSeconds,
          ...Object.fromEntries(set.map(([, value], index) => [`:s${index}`, value])),
          ...Object.fromEntries(required.map(([, value], index) => [`:q${index}`, value])),
        },
        // Tells "already revoked" (the item comes back) from "never existed" without a second read.
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'revoked';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      if (carries(error.Item, owner.attribute, owner.id)) return 'revoked';
      return error.Item ? 'already_revoked' : 'not_found';
    }
    throw error;
  }
}

/**
 * Whether the item a failed condition returned (`ReturnValuesOnConditionCheckFailure`, in
 * DynamoDB's own JSON: the document client does not convert an error's item) holds the
 * string `value` under `name`.
 */
export function carries(item: Record<string, { S?: string }> | undefined, name: string, value: string): boolean {
  return item?.[name]?.S === value;
}

/** Whether a TransactWrite was cancelled because the condition of item `index` failed. */
export function transactionConditionFailed(error: unknown, index: number): boolean {
  const reasons = (error as { name?: string; CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  return (error as Error).name === 'TransactionCanceledException' && reasons?.[index]?.Code === 'ConditionalCheckFailed';
}
