/**
 * Anomaly detection's storage (docs/usage.md): each client's baseline is one item of the
 * usage table, saved with a version check; flags are items of a per-day partition that
 * `GET /admin/anomalies` reads; a client's response policy is an attribute of its record.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SECONDS_PER_DAY } from '../../common/defaults';
import { ApiKeyAttr, ClientAttr } from '../../common/credential-items';
import { UsageAttr } from '../../common/usage';
import { bucketStart, deniedAttribute, usagePeriodKey, usageSeries } from '../../common/usage';
import type { AnomalyFlag, AnomalyPolicy, Baseline, MinuteCounts } from '../core/usage/usage-anomaly';
import { conditionalRevoke } from './conditional-revoke';
import { DynamoUsageReader } from './usage-store';

/** Baselines outlive a quiet client by this much (a client idle longer starts a new warm-up, after an `idle_reuse` check is no longer possible). */
const BASELINE_TTL_SECONDS = 400 * SECONDS_PER_DAY;
/** Flags are listed for this long. */
export const ANOMALY_RETENTION_DAYS = 30;

const STATE = 'state';
const VERSION = 'version';

export class DynamoUsageAnomalyStore {
  private readonly reader: DynamoUsageReader;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: { readonly clients: string; readonly usage: string; readonly apiKeys?: string },
    /** Items per Query page of the usage table (see {@link DynamoUsageReader}); default: none. */
    pageSize?: number,
  ) {
    this.reader = new DynamoUsageReader(doc, tables.usage, pageSize);
  }

  async load(clientId: string): Promise<{ baseline: Baseline; version: number } | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tables.usage, Key: baselineKey(clientId), ConsistentRead: true }));
    if (Item === undefined) return undefined;
    return { baseline: JSON.parse(String(Item[STATE])) as Baseline, version: Number(Item[VERSION]) };
  }

  async save(clientId: string, baseline: Baseline, version: number | undefined): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.usage,
          Key: baselineKey(clientId),
          UpdateExpression: 'SET #state = :state, #version = :next, #expiresAt = :expiresAt',
          ConditionExpression: version === undefined ? 'attribute_not_exists(#version)' : '#version = :version',
          ExpressionAttributeNames: { '#state': STATE, '#version': VERSION, '#expiresAt': UsageAttr.expiresAt },
          ExpressionAttributeValues: {
            ':state': JSON.stringify(baseline),
            ':next': (version ?? 0) + 1,
            ':expiresAt': baseline.lastMinute + BASELINE_TTL_SECONDS,
            ...(version !== undefined && { ':version': version }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async minutes(clientId: string, from: number, to: number): Promise<MinuteCounts[]> {
    const rows = await this.reader.series(usageSeries('minute', 'client', clientId), from, to);
    return rows.map((row) => ({
      minute: Number(row[UsageAttr.period]),
      requests: Number(row[UsageAttr.requests] ?? 0),
      accessDenied: Number(row[deniedAttribute('access_denied')] ?? 0),
      networks: row[UsageAttr.networks] instanceof Set ? [...(row[UsageAttr.networks] as Set<string>)] : [],
      keys: row[UsageAttr.keys] instanceof Set ? [...(row[UsageAttr.keys] as Set<string>)] : [],
      keyNetworks: row[UsageAttr.keyNetworks] instanceof Set ? [...(row[UsageAttr.keyNetworks] as Set<string>)] : [],
    }));
  }

  /**
   * The revocation write of an operator's `keys revoke` (`conditionalRevoke`: status,
   * revokedAt and its revocationId, out of the hygiene indexes), conditional on the key being
   * active, so the stream fan-out carries it to every authorizer; names only what this
   * function's role allows on an API key (`Functions.metering`). The keys are the flagged
   * client's own (`anomalyPorts` reads each one's owner first rather than naming `clientId`
   * in this write, which would let this function's role write it: IAM counts a condition's
   * attributes as named).
   */
  async revokeKeys(keyIds: readonly string[], nowSeconds: number): Promise<string[]> {
    if (this.tables.apiKeys === undefined) throw new Error('no API key table: the anomaly response revoke cannot run');
    const revoked: string[] = [];
    for (const keyId of keyIds) {
      const target = { tableName: this.tables.apiKeys, key: { [ApiKeyAttr.keyId]: keyId }, remove: [ApiKeyAttr.activePartition] };
      if ((await conditionalRevoke(this.doc, target, nowSeconds)) === 'revoked') revoked.push(keyId);
    }
    return revoked;
  }

  async policy(clientId: string): Promise<AnomalyPolicy> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tables.clients,
        Key: { [ClientAttr.clientId]: clientId },
        ProjectionExpression: '#p',
        ExpressionAttributeNames: { '#p': ClientAttr.anomalyPolicy },
      }),
    );
    const policy = Item?.[ClientAttr.anomalyPolicy];
    return policy === 'suspend' || policy === 'revoke' ? policy : 'notify';
  }

  async setPolicy(clientId: string, policy: AnomalyPolicy): Promise<'written' | 'client_not_found'> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.clients,
          Key: { [ClientAttr.clientId]: clientId },
          UpdateExpression: 'SET #p = :p',
          ConditionExpression: 'attribute_exists(#clientId)',
          ExpressionAttributeNames: { '#p': ClientAttr.anomalyPolicy, '#clientId': ClientAttr.clientId },
          ExpressionAttributeValues: { ':p': policy },
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'client_not_found';
      throw error;
    }
  }

  async record(flag: AnomalyFlag): Promise<void> {
    const day = bucketStart(flag.flaggedAt, 'day');
    const { clientId, rule, minute, baseline, observed, response, flaggedAt, suspendedUntil, revokedKeys, keyId } = flag;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.usage,
        // One flag per client, rule and minute; `key_network_spread` may flag several keys of one minute.
        Key: {
          [UsageAttr.series]: anomalyPartition(day),
          [UsageAttr.period]: `${usagePeriodKey(minute)}#${clientId}#${rule}${keyId === undefined ? '' : `#${keyId}`}`,
        },
        UpdateExpression: 'SET #flag = :flag, #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#flag': 'flag', '#expiresAt': UsageAttr.expiresAt },
        ExpressionAttributeValues: {
          ':flag': {
            clientId,
            rule,
            minute,
            baseline,
            observed,
            response,
            flaggedAt,
            ...(keyId !== undefined && { keyId }),
            ...(suspendedUntil !== undefined && { suspendedUntil }),
            ...(revokedKeys !== undefined && { revokedKeys }),
          },
          ':expiresAt': day + (ANOMALY_RETENTION_DAYS + 1) * SECONDS_PER_DAY,
        },
      }),
    );
  }

  /** Flags of the last `days` UTC days (today included), every page of each day's partition, newest first. */
  async recent(days: number, nowSeconds: number): Promise<AnomalyFlag[]> {
    const today = bucketStart(nowSeconds, 'day');
    const flags: AnomalyFlag[] = [];
    for (let d = 0; d < days; d += 1) {
      const items = await this.reader.partition(anomalyPartition(today - d * SECONDS_PER_DAY));
      flags.push(...items.map((item) => item.flag as AnomalyFlag));
    }
    return flags.sort((a, b) => b.minute - a.minute || a.clientId.localeCompare(b.clientId));
  }
}

function baselineKey(clientId: string) {
  return { [UsageAttr.series]: `baseline|${clientId}`, [UsageAttr.period]: '0' };
}

function anomalyPartition(day: number): string {
  return `anomalies|${usagePeriodKey(day)}`;
}
