/**
 * The signing-key ring's KMS permissions. The keys themselves are made at run time by the
 * rotation function (docs/rotation.md), so IAM cannot name them: signing, deletion and tag
 * reads are scoped by the Tollgate application and ring tags the rotation function puts on
 * each key at creation (ABAC), key creation by request tags and the key-spec, key-usage,
 * origin and policy-lockout condition keys. Tagging is allowed only as part of CreateKey,
 * never on an existing key that is not already this ring's, so the role cannot make a
 * foreign key look like ours. Only
 * reads of non-secret key data and ListKeys go without a tag.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { keyDeletionWindowDays } from '../common/settings';
import { KMS_TAG_APPLICATION_VALUE, KmsTag, SIGNING_ALGORITHMS, type KeySpec } from '../common/tokens';
import { onlyValues } from './conditions';
import type { TollgateFunction } from './function';
import { findingArn } from './nag';

export interface KeyRingProps {
  /** The only key spec the rotation function may create. */
  readonly keySpec: KeySpec;
  /**
   * The ring's identity, which the rotation function writes into every key's
   * `tollgate:ring` tag: the signing-keys table name, so two deployments in one account
   * never touch each other's keys.
   */
  readonly ringId: string;
  /**
   * The rotation function's `keyDeletionWindowDays`: the role may schedule a ring key's
   * deletion only with a pending window at least this long, so even a compromised function
   * leaves the operator that long to `CancelKeyDeletion`.
   */
  readonly keyDeletionWindowDays: number;
}

/**
 * Actions on an existing ring key: tag-scoped. No `kms:TagResource`: the rotation function
 * tags keys only through CreateKey (`lambda/adapters/kms-key-manager.ts`).
 */
export const RING_KEY_ACTIONS = ['kms:ListResourceTags', 'kms:ScheduleKeyDeletion'] as const;
/**
 * Reads of non-secret key data (the public half, the metadata), not tag-scoped: the
 * rotation function makes them seconds after CreateKey, and a new key's tags may take up
 * to five minutes to count for authorization (KMS developer guide, "ABAC for AWS KMS").
 */
export const PUBLIC_KEY_READS = ['kms:DescribeKey', 'kms:GetPublicKey'] as const;

export class KeyRing extends Construct {
  private readonly props: KeyRingProps;

  constructor(scope: Construct, id: string, props: KeyRingProps) {
    super(scope, id);
    const days = props.keyDeletionWindowDays;
    if (!Token.isUnresolved(days) && (!Number.isInteger(days) || days < keyDeletionWindowDays.min || days > keyDeletionWindowDays.max)) {
      throw new Error(`keyDeletionWindowDays must be an integer from ${keyDeletionWindowDays.min} to ${keyDeletionWindowDays.max}, got ${days}`);
    }
    this.props = props;
  }

  /** `arn:…:kms:{region}:{account}:key/*`: this account's keys in this region. */
  get keysArn(): string {
    return Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
  }

  /** {@link keysArn} as cdk-nag names it in a finding. */
  private get keysArnFinding(): string {
    return findingArn(Stack.of(this), { service: 'kms', region: true, account: true, resource: 'key/*' });
  }

  /** Condition values that a key carries our application and ring tags. */
  private ringTags(prefix: 'aws:ResourceTag' | 'aws:RequestTag'): Record<string, string> {
    return {
      [`${prefix}/${KmsTag.application}`]: KMS_TAG_APPLICATION_VALUE,
      [`${prefix}/${KmsTag.ring}`]: this.props.ringId,
    };
  }

  /** The rotation function: create ring keys (tagged at creation), read their public keys, list, schedule deletion. */
  grantManage(grantee: TollgateFunction): void {
    const ringTagged = { StringEquals: this.ringTags('aws:ResourceTag') };
    const tagKeysAllowed = onlyValues('aws:TagKeys', Object.values(KmsTag));
    const requestTagged = this.ringTags('aws:RequestTag');
    const statements = [
      // CreateKey has no resource to scope (the key does not exist yet): the condition keys
      // confine it to asymmetric signing keys of our spec, in KMS itself, carrying our tag,
      // with the key-policy lockout check on (the adapter passes `false` explicitly).
      new PolicyStatement({
        sid: 'CreateRingKeys',
        actions: ['kms:CreateKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:KeySpec': this.props.keySpec, 'kms:KeyUsage': 'SIGN_VERIFY', ...requestTagged },
          // The rotation function leaves Origin and MultiRegion at their defaults (AWS_KMS,
          // false); `IfExists` keeps a request that omits them allowed and one that sets
          // them otherwise refused.
          StringEqualsIfExists: { 'kms:KeyOrigin': 'AWS_KMS' },
          BoolIfExists: { 'kms:MultiRegion': 'false' },
          Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'false' },
          ...tagKeysAllowed,
        },
      }),
      // Tags passed to CreateKey need kms:TagResource in an IAM policy that covers every key
      // of the account and Region (KMS developer guide, "Controlling access to tags"); only
      // our tags, with our application and ring values.
      new PolicyStatement({
        sid: 'TagRingKeysAtCreation',
        actions: ['kms:TagResource'],
        resources: [this.keysArn],
        conditions: { StringEquals: requestTagged, ...tagKeysAllowed },
      }),
      // …which alone would also allow TagResource on any existing key: a compromised function
      // could tag a foreign signing key as ours, then schedule its deletion or sign with it.
      // Explicit Deny wins, when all three hold:
      // - kms:KeyUsage is present: a TagResource on an existing key is a key resource
      //   operation, whose context carries the key's usage (Service Authorization Reference);
      // - kms:BypassPolicyLockoutSafetyCheck is absent: TagResource does not have that key
      //   (only CreateKey and PutKeyPolicy do), so no standalone call can supply it;
      // - the key's ring tag is not ours (StringNotEquals is true when the tag is absent): the
      //   key is not already one of this ring's, where re-stating our own tags changes nothing.
      // AWS does not document the context of the TagResource check KMS makes for CreateKey's
      // tags. With no key properties (there is no key yet), with CreateKey's request values
      // (the adapter sends the lockout key, false) or with the new key's properties and its
      // tags, the Deny does not hold and creation is allowed. With the new key's properties
      // and no tags, the check is indistinguishable from tagging an untagged foreign key: the
      // Deny holds and CreateKey is refused, so rotation fails loudly (RotationFailed alarm)
      // rather than tagging ever being open. test/infra/iam-evaluation.test.ts evaluates each
      // of these contexts; docs/deploy.md says what an operator sees in the refused one.
      new PolicyStatement({
        sid: 'NeverTagExistingKeys',
        effect: Effect.DENY,
        actions: ['kms:TagResource'],
        resources: [this.keysArn],
        conditions: {
          Null: { 'kms:KeyUsage': 'false', 'kms:BypassPolicyLockoutSafetyCheck': 'true' },
          StringNotEquals: { [`aws:ResourceTag/${KmsTag.ring}`]: this.props.ringId },
        },
      }),
      new PolicyStatement({ sid: 'ReadPublicKeys', actions: [...PUBLIC_KEY_READS], resources: [this.keysArn] }),
      // Deletion never with a pending window shorter than the configured one. `IfExists`
      // only for ListResourceTags, which has no window: a ScheduleKeyDeletion that omits it
      // gets KMS's default of 30 days, the longest window there is.
      new PolicyStatement({
        sid: 'ManageRingKeys',
        actions: [...RING_KEY_ACTIONS],
        resources: [this.keysArn],
        conditions: {
          ...ringTagged,
          NumericGreaterThanEqualsIfExists: { 'kms:ScheduleKeyDeletionPendingWindowInDays': String(this.props.keyDeletionWindowDays) },
        },
      }),
      // ListKeys supports no resource and no condition key: it lists every key id of the
      // account and Region (ids only, no material, no tags). Reconciliation needs it to
      // find ring keys created by a run that crashed before writing them to the ring.
      new PolicyStatement({ sid: 'FindOrphanedRingKeys', actions: ['kms:ListKeys'], resources: ['*'] }),
    ];
    for (const statement of statements) grantee.role.addToPolicy(statement);
    Validations.of(grantee).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'kms:CreateKey has no resource (the key does not exist yet) and is confined by key-spec, key-usage, origin, policy-lockout and request-tag conditions; kms:ListKeys supports no resource or condition and returns key ids only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${this.keysArnFinding}]`,
        reason:
          'Ring keys are created at run time, so IAM cannot name them: tag reads and deletion require the Tollgate application and ring tags (ABAC), deletion also a signing key and a pending window of at least keyDeletionWindowDays; tagging is allowed only with our tags inside CreateKey and explicitly denied on every existing key not already in this ring; only non-secret reads (public key, metadata) are untagged, because new tags take minutes to count.',
      },
    );
  }

  /**
   * The token function: sign with ring keys only, with the algorithms Tollgate uses. A
   * key signs only after its pending period (longer than the five minutes new tags may
   * take to count); a key made active at once (first bootstrap, compromise) may be
   * refused for those minutes. Only over a digest (`MessageType: DIGEST`, which
   * `lambda/adapters/kms-signer.ts` always sends): the role never has KMS hash a raw message.
   */
  grantSign(grantee: TollgateFunction): void {
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.keysArnFinding}]`,
      reason:
        'Ring keys are created at run time, so IAM cannot name them: kms:Sign requires the Tollgate application and ring tags on the key (ABAC), one of our signing algorithms and a digest message type.',
    });
    grantee.role.addToPolicy(
      new PolicyStatement({
        sid: 'SignWithRingKeys',
        actions: ['kms:Sign'],
        resources: [this.keysArn],
        conditions: {
          StringEquals: {
            ...this.ringTags('aws:ResourceTag'),
            'kms:SigningAlgorithm': Object.values(SIGNING_ALGORITHMS).map((a) => a.kmsAlgorithm),
            'kms:MessageType': 'DIGEST',
          },
        },
      }),
    );
  }
}
