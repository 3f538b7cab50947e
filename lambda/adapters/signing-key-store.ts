/**
 * The signing-key ring in DynamoDB: every key in one partition, read with one strongly
 * consistent Query. Authorizers, the issuer and the JWKS endpoint read it; only the
 * rotation function changes it (with conditional writes on `version`).
 *
 * The head item (`kid` = `RING_HEAD_KID`) holds the ring's version, which every
 * transition checks and bumps in the same transaction as the keys it touches, the active
 * kid (for people reading the table), and the claims of the once-per-period jobs.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { RING_HEAD_KID, RING_PARTITION, SigningKeyAttr, type SigningKeyRecord } from '../../common/signing-key-items';
import type { KeyUpdate, RingTransition } from '../core/rotation/key-ring';
import { RingConflict } from '../core/rotation/rotation-errors';
import type { PeriodicJob, RingHead, RingSnapshot, RingStore } from '../core/rotation/rotation-ports';
import { ringQuery, ringRecord, ringRecords } from './signing-key-reader';

export interface SigningKeyReader {
  /** Every key of the ring (any state), the head item excluded. */
  load(): Promise<SigningKeyRecord[]>;
}

/** Attributes of the head item besides the key (`version` is `SigningKeyAttr.version`). */
const HeadAttr = {
  activeKid: 'activeKid',
  reconcileCursor: 'reconcileCursor',
  reconcilePeriod: 'reconcilePeriod',
  hygienePeriod: 'hygienePeriod',
} as const;

const PERIOD_ATTR: { readonly [J in PeriodicJob]: string } = {
  reconcile: HeadAttr.reconcilePeriod,
  hygiene: HeadAttr.hygienePeriod,
};

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type Item = Record<string, unknown>;

export class DynamoSigningKeyStore implements SigningKeyReader, RingStore {
  private readonly headKey = { [SigningKeyAttr.ring]: RING_PARTITION, [SigningKeyAttr.kid]: RING_HEAD_KID };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(): Promise<SigningKeyRecord[]> {
    return ringRecords(await this.queryRing());
  }

  /** Writes one key unconditionally: for tests and local seeding only; rotation uses its own conditional writes. */
  async put(record: SigningKeyRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { [SigningKeyAttr.ring]: RING_PARTITION, ...record } }));
  }

  async snapshot(): Promise<RingSnapshot> {
    const items = await this.queryRing();
    const head = items.find((item) => item[SigningKeyAttr.kid] === RING_HEAD_KID);
    const keys = items.filter((item) => item !== head).map(ringRecord);
    const parsed = headFrom(head);
    return { version: parsed.version, head: parsed, keys };
  }

  async commit(transition: RingTransition): Promise<void> {
    const items: TransactItem[] = [
      this.headWrite(transition),
      ...transition.created.map((record) => this.conditionalPut(record, 'attribute_not_exists(#kid)', { '#kid': SigningKeyAttr.kid }, {})),
      ...transition.updated.map((update) => this.unchangedPut(update)),
    ];
    try {
      // The request token makes the SDK's own retry of a transaction whose reply was lost
      // idempotent (DynamoDB remembers it for 10 minutes) instead of a spurious conflict.
      await this.doc.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: randomUUID() }));
    } catch (error) {
      if (isTransactionConflict(error)) throw new RingConflict(1);
      throw error;
    }
  }

  async replaceKey(update: KeyUpdate): Promise<boolean> {
    return this.whenUnchanged(() => this.doc.send(new PutCommand(this.unchangedPut(update).Put!)));
  }

  async removeKey(record: SigningKeyRecord): Promise<boolean> {
    return this.whenUnchanged(() =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [SigningKeyAttr.ring]: RING_PARTITION, [SigningKeyAttr.kid]: record.kid },
          ...unchangedCondition(record),
        }),
      ),
    );
  }

  async claimPeriod(job: PeriodicJob, period: number): Promise<boolean> {
    return this.setPeriod(job, ':period', 'attribute_not_exists(#period) OR #period < :period', { ':period': period });
  }

  async releasePeriod(job: PeriodicJob, period: number): Promise<void> {
    await this.setPeriod(job, ':previous', '#period = :period', { ':period': period, ':previous': period - 1 });
  }

  async saveReconcileCursor(cursor: string | undefined): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.headKey,
        UpdateExpression: cursor === undefined ? 'REMOVE #cursor' : 'SET #cursor = :cursor',
        ExpressionAttributeNames: { '#cursor': HeadAttr.reconcileCursor },
        ...(cursor !== undefined && { ExpressionAttributeValues: { ':cursor': cursor } }),
      }),
    );
  }

  private async queryRing(): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...ringQuery(this.tableName), ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** Sets a job's claimed period on the head if `condition` holds; false when it did not. */
  private setPeriod(job: PeriodicJob, value: string, condition: string, values: Record<string, number>): Promise<boolean> {
    return this.whenUnchanged(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.headKey,
          UpdateExpression: `SET #period = ${value}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#period': PERIOD_ATTR[job] },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /** Bumps the ring version if it is still the one the transition was planned on. */
  private headWrite(transition: RingTransition): TransactItem {
    const first = transition.expectedVersion === 0;
    const active = transition.activeKid !== undefined;
    return {
      Update: {
        TableName: this.tableName,
        Key: this.headKey,
        UpdateExpression: active ? 'SET #version = :next, #active = :active' : 'SET #version = :next REMOVE #active',
        ConditionExpression: first ? 'attribute_not_exists(#version)' : '#version = :expected',
        ExpressionAttributeNames: { '#version': SigningKeyAttr.version, '#active': HeadAttr.activeKid },
        ExpressionAttributeValues: {
          ':next': transition.expectedVersion + 1,
          ...(!first && { ':expected': transition.expectedVersion }),
          ...(active && { ':active': transition.activeKid }),
        },
      },
    };
  }

  private unchangedPut(update: KeyUpdate): TransactItem {
    const condition = unchangedCondition(update.before);
    return this.conditionalPut(update.after, condition.ConditionExpression, condition.ExpressionAttributeNames, condition.ExpressionAttributeValues);
  }

  private conditionalPut(record: SigningKeyRecord, condition: string, names: Record<string, string>, values: Record<string, unknown>): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { [SigningKeyAttr.ring]: RING_PARTITION, ...record },
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
      },
    };
  }

  /** Runs a conditional write; false when its condition failed (another run got there first). */
  private async whenUnchanged(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'ConditionalCheckFailedException' || name === 'TransactionConflictException') return false;
      throw error;
    }
  }
}

/** The item is exactly as it was read: same version (every write bumps it) and state. */
function unchangedCondition(before: SigningKeyRecord) {
  return {
    ConditionExpression: '#version = :version AND #state = :state',
    ExpressionAttributeNames: { '#version': SigningKeyAttr.version, '#state': SigningKeyAttr.state },
    ExpressionAttributeValues: { ':version': before.version, ':state': before.state },
  };
}

/**
 * A cancelled transaction whose reasons are only failed conditions or concurrent
 * transactions on the same items means another run changed the ring; any other reason
 * (throttling, validation) is a real failure.
 */
function isTransactionConflict(error: unknown): boolean {
  if ((error as Error).name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  const codes = reasons.map((reason) => reason.Code ?? 'None').filter((code) => code !== 'None');
  return codes.length > 0 && codes.every((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict');
}

function headFrom(item: Item | undefined): RingHead {
  const version = typeof item?.[SigningKeyAttr.version] === 'number' ? (item[SigningKeyAttr.version] as number) : 0;
  const activeKid = item?.[HeadAttr.activeKid];
  const cursor = item?.[HeadAttr.reconcileCursor];
  return {
    version,
    ...(typeof activeKid === 'string' && { activeKid }),
    ...(typeof cursor === 'string' && { reconcileCursor: cursor }),
  };
}
