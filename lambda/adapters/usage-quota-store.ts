/**
 * Metered quotas in DynamoDB (docs/usage.md): the quota and the suspension live on the
 * client record (`Tables.clients`), a per-key quota and the key's own suspension on the API
 * key record (`Tables.apiKeys`); the revocation fan-out reads both tables' streams. What was
 * used comes from the client's (or key's) day rows in the usage table; the once-per-period
 * notices are marker items in the usage table.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiKeyAttr, ClientAttr, CredentialStatus } from '../../common/credential-items';
import { UsageAttr } from '../../common/usage';
import type { SuspensionReason } from '../../common/revocation-feed';
import { usagePeriodKey, usageSeries } from '../../common/usage';
import type { Credits, KeyQuotaState, MeteredQuota, QuotaPorts, QuotaState } from '../core/usage/usage-quota';
import { DynamoUsageReader } from './usage-store';

export interface UsageQuotaTables {
  readonly clients: string;
  readonly usage: string;
  /** Per-key quotas and key suspensions live on the API key records. */
  readonly apiKeys: string;
}

export type QuotaWrite = 'written' | 'client_not_found';

export interface UsageQuotaReads {
  /**
   * Read client and key records strongly consistently. The operator API does: it reads right
   * after its own writes (a quota set on a key just created must not read as "no such key").
   * The meters and the anomaly checks do not (half the read cost; a record seconds old is
   * fine for them). @default false
   */
  readonly consistent?: boolean;
}

export class DynamoUsageQuotaStore implements Omit<QuotaPorts, 'publish'> {
  private readonly reader: DynamoUsageReader;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: UsageQuotaTables,
    private readonly reads: UsageQuotaReads = {},
  ) {
    this.reader = new DynamoUsageReader(doc, tables.usage);
  }

  async state(clientId: string): Promise<QuotaState> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tables.clients,
        ConsistentRead: this.reads.consistent === true,
        Key: { [ClientAttr.clientId]: clientId },
        ProjectionExpression: '#quota, #until, #waived, #credits, #used',
        ExpressionAttributeNames: {
          '#quota': ClientAttr.meteredQuota,
          '#until': ClientAttr.suspendedUntil,
          '#waived': ClientAttr.quotaWaivedUntil,
          '#credits': ClientAttr.credits,
          '#used': ClientAttr.creditsUsed,
        },
      }),
    );
    const quota = Item?.[ClientAttr.meteredQuota] as MeteredQuota | undefined;
    const until = Item?.[ClientAttr.suspendedUntil] as number | undefined;
    const credits = Item?.[ClientAttr.credits] as Credits | undefined;
    const used = Item?.[ClientAttr.creditsUsed] as number | undefined;
    const waived = Item?.[ClientAttr.quotaWaivedUntil] as number | undefined;
    return {
      ...(quota !== undefined && { quota }),
      ...(until !== undefined && { suspendedUntil: until }),
      ...(waived !== undefined && { quotaWaivedUntil: waived }),
      ...(credits !== undefined && { credits, creditsUsed: used ?? 0 }),
    };
  }

  used(clientId: string, periodStart: number, nowSeconds: number): Promise<number> {
    return this.allowedIn(usageSeries('day', 'client', clientId), periodStart, nowSeconds);
  }

  /** Sets the suspension only on an active client not already suspended as long. */
  suspend(clientId: string, untilSeconds: number, nowMs: number): Promise<boolean> {
    return this.writeSuspension(clientId, untilSeconds, 'quota_exceeded', nowMs, 'attribute_not_exists(#until) OR #until < :until');
  }

  /** Suspends for an anomaly (layered on any quota suspension: the later end stands). */
  suspendFor(clientId: string, untilSeconds: number, reason: SuspensionReason, nowMs: number): Promise<boolean> {
    return this.writeSuspension(clientId, untilSeconds, reason, nowMs, 'attribute_not_exists(#until) OR #until < :until');
  }

  /**
   * Lifts a suspension in force: its end becomes now. With `waiveQuota` (an operator's
   * `resume`), lifting a metered-quota suspension also waives the quota until that
   * suspension's end, the period's (`quotaWaivedUntil`); a credits grant lifts without a
   * waiver. False when the client was not suspended.
   */
  resume(clientId: string, nowMs: number, waiveQuota = false): Promise<boolean> {
    return this.lift(clientId, nowMs, waiveQuota, 'clients');
  }

  /**
   * Lifts a suspension in force only if it is for a used-up quota or spent credits
   * (`quota_exceeded`): what new credits answer. An anomaly suspension, a security response,
   * stays. False when there was none such.
   */
  liftSpent(clientId: string, nowMs: number): Promise<boolean> {
    const spent = { ':spentReason': 'quota_exceeded' satisfies SuspensionReason };
    return this.writeSuspension(clientId, Math.floor(nowMs / 1000), 'resumed', nowMs, '#until > :until AND #reason = :spentReason', 'clients', false, spent);
  }

  async setQuota(clientId: string, quota: MeteredQuota | undefined): Promise<QuotaWrite> {
    return (await this.writeQuota(clientId, quota, 'clients')) ? 'written' : 'client_not_found';
  }

  async exists(clientId: string): Promise<boolean> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tables.clients,
        ConsistentRead: this.reads.consistent === true,
        Key: { [ClientAttr.clientId]: clientId },
        ProjectionExpression: '#clientId',
        ExpressionAttributeNames: { '#clientId': ClientAttr.clientId },
      }),
    );
    return Item !== undefined;
  }

  /** Sets (or with undefined removes) the client's credits; the count of what was used starts again from zero. */
  async setCredits(clientId: string, credits: Credits | undefined): Promise<QuotaWrite> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.clients,
          Key: { [ClientAttr.clientId]: clientId },
          UpdateExpression: credits === undefined ? 'REMOVE #credits, #used' : 'SET #credits = :credits, #used = :zero',
          ConditionExpression: 'attribute_exists(#clientId)',
          ExpressionAttributeNames: { '#credits': ClientAttr.credits, '#used': ClientAttr.creditsUsed, '#clientId': ClientAttr.clientId },
          ...(credits !== undefined && { ExpressionAttributeValues: { ':credits': { ...credits }, ':zero': 0 } }),
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'client_not_found';
      throw error;
    }
  }

  async noticeOnce(clientId: string, periodStart: number, threshold: number | string, expiresAt: number): Promise<boolean> {
    const marker = String(threshold);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.usage,
          Key: { [UsageAttr.series]: `notice|${clientId}`, [UsageAttr.period]: usagePeriodKey(periodStart) },
          UpdateExpression: 'SET #expiresAt = :expiresAt ADD #batches :markers',
          ConditionExpression: 'NOT contains(#batches, :marker)',
          ExpressionAttributeNames: { '#expiresAt': UsageAttr.expiresAt, '#batches': UsageAttr.batches },
          ExpressionAttributeValues: { ':expiresAt': expiresAt, ':markers': new Set([marker]), ':marker': marker },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The key's quota and suspension (empty for a key that does not exist). */
  async keyState(keyId: string): Promise<KeyQuotaState & { readonly clientId?: string }> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tables.apiKeys,
        ConsistentRead: this.reads.consistent === true,
        Key: { [ApiKeyAttr.keyId]: keyId },
        ProjectionExpression: '#quota, #until, #waived, #clientId',
        ExpressionAttributeNames: {
          '#quota': ApiKeyAttr.meteredQuota,
          '#until': ApiKeyAttr.suspendedUntil,
          '#waived': ApiKeyAttr.quotaWaivedUntil,
          '#clientId': ApiKeyAttr.clientId,
        },
      }),
    );
    const quota = Item?.[ApiKeyAttr.meteredQuota] as MeteredQuota | undefined;
    const until = Item?.[ApiKeyAttr.suspendedUntil] as number | undefined;
    const clientId = Item?.[ApiKeyAttr.clientId] as string | undefined;
    const waived = Item?.[ApiKeyAttr.quotaWaivedUntil] as number | undefined;
    return {
      ...(quota !== undefined && { quota }),
      ...(until !== undefined && { suspendedUntil: until }),
      ...(waived !== undefined && { quotaWaivedUntil: waived }),
      ...(clientId !== undefined && { clientId }),
    };
  }

  keyUsed(clientId: string, keyId: string, periodStart: number, nowSeconds: number): Promise<number> {
    return this.allowedIn(usageSeries('day', 'key', clientId, keyId), periodStart, nowSeconds);
  }

  /** Suspends the key alone (its per-key quota is used up), only while it is active and not already suspended as long. */
  suspendKey(keyId: string, untilSeconds: number, nowMs: number): Promise<boolean> {
    return this.writeSuspension(keyId, untilSeconds, 'quota_exceeded', nowMs, 'attribute_not_exists(#until) OR #until < :until', 'apiKeys');
  }

  /** Lifts the key's suspension in force and waives its quota until that suspension's end, as {@link resume} does. False when the key was not suspended. */
  resumeKey(keyId: string, nowMs: number): Promise<boolean> {
    return this.lift(keyId, nowMs, true, 'apiKeys');
  }

  /** The lifting of a suspension in force: first as a waiver when asked ({@link writeSuspension}'s `waiveQuota`), else, or when that suspension is no metered-quota one, plain. */
  private async lift(subject: string, nowMs: number, waiveQuota: boolean, table: 'clients' | 'apiKeys'): Promise<boolean> {
    const now = Math.floor(nowMs / 1000);
    if (waiveQuota && (await this.writeSuspension(subject, now, 'resumed', nowMs, '#until > :until', table, true))) return true;
    return this.writeSuspension(subject, now, 'resumed', nowMs, '#until > :until', table);
  }

  /** Sets (or with undefined removes) the key's metered quota. */
  async setKeyQuota(keyId: string, quota: MeteredQuota | undefined): Promise<'written' | 'key_not_found'> {
    return (await this.writeQuota(keyId, quota, 'apiKeys')) ? 'written' : 'key_not_found';
  }

  /** Requests allowed in a day series from `periodStart` to now: what a quota period has used. */
  private async allowedIn(series: string, periodStart: number, nowSeconds: number): Promise<number> {
    const rows = await this.reader.series(series, periodStart, nowSeconds);
    return rows.reduce((sum, row) => sum + Number(row[UsageAttr.allowed] ?? 0), 0);
  }

  /** Sets (or with undefined removes) a client's or a key's metered quota; false when the record does not exist. */
  private async writeQuota(subject: string, quota: MeteredQuota | undefined, table: 'clients' | 'apiKeys'): Promise<boolean> {
    const attr = recordAttributes(table);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables[table],
          Key: { [attr.key]: subject },
          // A new or removed quota ends an operator's waiver of the old one's period.
          UpdateExpression: quota === undefined ? 'REMOVE #quota, #waived' : 'SET #quota = :quota REMOVE #waived',
          ConditionExpression: 'attribute_exists(#key)',
          ExpressionAttributeNames: { '#quota': attr.meteredQuota, '#key': attr.key, '#waived': attr.quotaWaivedUntil },
          ...(quota !== undefined && { ExpressionAttributeValues: { ':quota': { limit: quota.limit, period: quota.period } } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * The suspension write, on a client record or an API key record (each with its own
   * attribute names): both tables' streams reach the fan-out, so the one conditional write
   * serves either. Only while the record is active: a revoked key or client needs no suspension.
   *
   * `waiveQuota` (an operator's lifting) also keeps the lifted end as `quotaWaivedUntil`
   * (DynamoDB evaluates `SET #waived = #until` on the item as it was), and only if the lifted
   * suspension is a metered-quota one: reason `quota_exceeded` and, on a client, no credits,
   * whose spending suspends with the same reason and which the quota check never waives.
   * `conditionValues`: the values `condition` names beyond `:until`.
   */
  private async writeSuspension(
    subject: string,
    untilSeconds: number,
    reason: SuspensionReason,
    nowMs: number,
    condition: string,
    table: 'clients' | 'apiKeys' = 'clients',
    waiveQuota = false,
    conditionValues: Readonly<Record<string, string>> = {},
  ): Promise<boolean> {
    const attr = recordAttributes(table);
    const quotaSuspension = table === 'clients' ? ' AND #reason = :quotaReason AND attribute_not_exists(#credits)' : ' AND #reason = :quotaReason';
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables[table],
          Key: { [attr.key]: subject },
          UpdateExpression: `SET #until = :until, #reason = :reason, #at = :at${waiveQuota ? ', #waived = #until' : ''}`,
          ConditionExpression: `#status = :active AND (${condition})${waiveQuota ? quotaSuspension : ''}`,
          ExpressionAttributeNames: {
            '#until': attr.suspendedUntil,
            '#reason': attr.suspendedReason,
            '#at': attr.suspendedAtMs,
            '#status': attr.status,
            ...(waiveQuota && { '#waived': attr.quotaWaivedUntil }),
            ...(waiveQuota && table === 'clients' && { '#credits': ClientAttr.credits }),
          },
          ExpressionAttributeValues: {
            ':until': untilSeconds,
            ':reason': reason,
            ':at': nowMs,
            ':active': CredentialStatus.Active,
            ...(waiveQuota && { ':quotaReason': 'quota_exceeded' satisfies SuspensionReason }),
            ...conditionValues,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** A client's or an API key's attribute names, with its key attribute as `key`. */
function recordAttributes(table: 'clients' | 'apiKeys') {
  return table === 'clients' ? { ...ClientAttr, key: ClientAttr.clientId } : { ...ApiKeyAttr, key: ApiKeyAttr.keyId };
}
