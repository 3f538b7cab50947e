/**
 * The stateful half of Tollgate: every DynamoDB table, built from the shared table
 * definitions, encrypted with one customer-managed KMS key, with point-in-time recovery,
 * deletion protection and RETAIN, so no deploy or stack deletion can lose credentials.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ConfigurationError } from '../common/errors';
import { Tables, type KeyAttribute, type TableKey, type TableSpec } from '../common/tables';

export interface TokenDataProps {
  /**
   * What happens to the tables and their key when they leave the stack. Both RETAIN policies
   * (`RETAIN`, `RETAIN_ON_UPDATE_OR_DELETE`) keep the tables' deletion protection on;
   * `DESTROY` (for test stacks) turns it off so the stack can delete them. `SNAPSHOT` is
   * refused with a `ConfigurationError` naming `removalPolicy`: neither a KMS key nor a
   * DynamoDB table can be snapshotted, so CloudFormation would refuse it at deploy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export type TollgateTables = { readonly [K in TableKey]: ITable };

export class TokenData extends Construct {
  readonly tables: TollgateTables;
  /** Encrypts every table (and, through it, their streams). */
  readonly encryptionKey: IKey;

  constructor(scope: Construct, id: string, props: TokenDataProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (removalPolicy === RemovalPolicy.SNAPSHOT) {
      throw new ConfigurationError(
        'Invalid Tollgate configuration: removalPolicy SNAPSHOT is not supported by the KMS key or the DynamoDB tables; use RETAIN, RETAIN_ON_UPDATE_OR_DELETE or (for test stacks) DESTROY',
        'removalPolicy',
      );
    }
    const key = new Key(this, 'TableKey', {
      description: 'Tollgate: encrypts the API-key, token, signing-key and revocation tables',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy,
    });
    this.encryptionKey = key;
    const entries = (Object.keys(Tables) as TableKey[]).map((name) => [name, this.table(Tables[name], key, removalPolicy)]);
    this.tables = Object.fromEntries(entries) as TollgateTables;
  }

  // `Table` rather than `TableV2`: TableV2 cannot render a customer-managed key in a
  // region-agnostic stack, and the app must synthesize offline without an account.
  private table(spec: TableSpec, key: Key, removalPolicy: RemovalPolicy): Table {
    const table = new Table(this, spec.id, {
      partitionKey: attribute(spec.partitionKey),
      sortKey: spec.sortKey && attribute(spec.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: spec.ttlAttribute,
      stream: spec.stream ? StreamViewType.NEW_AND_OLD_IMAGES : undefined,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      removalPolicy,
    });
    for (const index of spec.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        ...(typeof index.projection === 'string'
          ? { projectionType: index.projection === 'ALL' ? ProjectionType.ALL : ProjectionType.KEYS_ONLY }
          : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] }),
      });
    }
    return table;
  }
}

function attribute(key: KeyAttribute) {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}
