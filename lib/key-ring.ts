/**
 * The signing-key ring's KMS permissions. The keys themselves are made at run time by the
 * rotation function (contract §4), so IAM cannot name them: signing, deletion and tagging
 * are scoped by the Tollgate application and ring tags the rotation function puts on each
 * key (ABAC), key creation by request tags and the key-spec, key-usage and origin
 * condition keys. Only reads of non-secret key data and ListKeys go without a tag.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { KMS_TAG_APPLICATION_VALUE, KmsTag, SIGNING_ALGORITHMS, type KeySpec } from '../common/tokens';
import type { TollgateFunction } from './function';

/** How cdk-nag renders `keysArn` in a finding id. */
const KEYS_ARN_FINDING = 'arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*';

export interface KeyRingProps {
  /** The only key spec the rotation function may create. */
  readonly keySpec: KeySpec;
  /**
   * The ring's identity, which the rotation function writes into every key's
   * `tollgate:ring` tag: the signing-keys table name, so two deployments in one account
   * never touch each other's keys.
   */
  readonly ringId: string;
}

/** Actions on an existing ring key that change it or read its tags: tag-scoped. */
export const RING_KEY_ACTIONS = ['kms:ListResourceTags', 'kms:ScheduleKeyDeletion', 'kms:TagResource'] as const;
/**
 * Reads of non-secret key data (the public half, the metadata), not tag-scoped: the
 * rotation function makes them seconds after CreateKey, and a new key's tags may take up
 * to five minutes to count for authorization (KMS developer guide, "ABAC for AWS KMS").
 */
export const PUBLIC_KEY_READS = ['kms:DescribeKey', 'kms:GetPublicKey'] as const;

/** Key usages a ring key never has; tagging a key with one of them would mark a foreign key as ours. */
const FOREIGN_KEY_USAGES = ['ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'];

export class KeyRing extends Construct {
  private readonly props: KeyRingProps;

  constructor(scope: Construct, id: string, props: KeyRingProps) {
    super(scope, id);
    this.props = props;
  }

  /** `arn:…:kms:{region}:{account}:key/*`: this account's keys in this region. */
  get keysArn(): string {
    return Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
  }

  /** Condition values that a key carries our application and ring tags. */
  private ringTags(prefix: 'aws:ResourceTag' | 'aws:RequestTag'): Record<string, string> {
    return {
      [`${prefix}/${KmsTag.application}`]: KMS_TAG_APPLICATION_VALUE,
      [`${prefix}/${KmsTag.ring}`]: this.props.ringId,
    };
  }

  /** The rotation function: create ring keys, read their public keys, tag, list, schedule deletion. */
  grantManage(grantee: TollgateFunction): void {
    const ringTagged = { StringEquals: this.ringTags('aws:ResourceTag') };
    const tagKeysAllowed = { 'ForAllValues:StringEquals': { 'aws:TagKeys': Object.values(KmsTag) } };
    const requestTagged = this.ringTags('aws:RequestTag');
    const statements = [
      // CreateKey has no resource to scope (the key does not exist yet): the condition keys
      // confine it to asymmetric signing keys of our spec, in KMS itself, carrying our tag.
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
          ...tagKeysAllowed,
        },
      }),
      // Tags passed to CreateKey need kms:TagResource on every key of the account and
      // Region (KMS developer guide, "Controlling access to tags"); only our tags, with
      // our application value.
      new PolicyStatement({
        sid: 'TagRingKeysAtCreation',
        actions: ['kms:TagResource'],
        resources: [this.keysArn],
        conditions: { StringEquals: requestTagged, ...tagKeysAllowed },
      }),
      // …which alone would also let a compromised function tag an existing foreign key as
      // ours and then schedule its deletion; explicit Deny wins, and it applies only where
      // the key already has a usage (absent for the key being created).
      new PolicyStatement({
        sid: 'NeverTagForeignKeyUsages',
        effect: Effect.DENY,
        actions: ['kms:TagResource'],
        resources: [this.keysArn],
        conditions: { StringEquals: { 'kms:KeyUsage': FOREIGN_KEY_USAGES } },
      }),
      new PolicyStatement({ sid: 'ReadPublicKeys', actions: [...PUBLIC_KEY_READS], resources: [this.keysArn] }),
      new PolicyStatement({
        sid: 'ManageRingKeys',
        actions: [...RING_KEY_ACTIONS],
        resources: [this.keysArn],
        conditions: ringTagged,
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
        reason: 'kms:CreateKey has no resource (the key does not exist yet) and is confined by key-spec, key-usage, origin and request-tag conditions; kms:ListKeys supports no resource or condition and returns key ids only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${KEYS_ARN_FINDING}]`,
        reason: 'Ring keys are created at run time, so IAM cannot name them: deletion, tagging and tag reads require the Tollgate application and ring tags (ABAC); tagging at creation is limited to our tags and denied on non-signing keys; only non-secret reads (public key, metadata) are untagged, because new tags take minutes to count.',
      },
    );
  }

  /**
   * The token function: sign with ring keys only, with the algorithms Tollgate uses. A
   * key signs only after its pending period (longer than the five minutes new tags may
   * take to count); a key made active at once (first bootstrap, compromise) may be
   * refused for those minutes.
   */
  grantSign(grantee: TollgateFunction): void {
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${KEYS_ARN_FINDING}]`,
      reason: 'Ring keys are created at run time, so IAM cannot name them: kms:Sign requires the Tollgate application and ring tags on the key (ABAC) and one of our signing algorithms.',
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
          },
        },
      }),
    );
  }
}
