/**
 * The DynamoDB data model: one description per table that the CDK data construct, the
 * Lambda adapters and local mode all build from, so the three cannot drift. Each table's
 * attribute names and item codecs live beside it: `common/credential-items.ts` (API keys,
 * clients, tokens, idempotency), `common/signing-key-items.ts`, `common/revocation-feed.ts`
 * and `common/usage.ts`.
 *
 * Plain data only: this module imports neither aws-cdk-lib nor the AWS SDK.
 */
import { ApiKeyAttr, ApiKeyIndex, ClientAttr, IdempotencyAttr, TokenAttr } from './credential-items';
import { FeedAttr } from './revocation-feed';
import { SigningKeyAttr } from './signing-key-items';
import { UsageAttr } from './usage';

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSpec {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** `ALL`, `KEYS_ONLY`, or the non-key attributes to project (INCLUDE). */
  readonly projection: 'ALL' | 'KEYS_ONLY' | readonly string[];
}

export interface TableSpec {
  /** Stable logical name: CDK construct id, and the suffix of local table names. */
  readonly id: string;
  /** Environment variable through which a function learns the physical table name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute DynamoDB TTL deletes on (epoch seconds). */
  readonly ttlAttribute?: string;
  /** Whether the table emits a NEW_AND_OLD_IMAGES stream for the revocation fan-out. */
  readonly stream: boolean;
  readonly indexes: readonly IndexSpec[];
}

const S = (name: string): KeyAttribute => ({ name, type: 'S' });
const N = (name: string): KeyAttribute => ({ name, type: 'N' });

export const Tables = {
  apiKeys: {
    id: 'ApiKeys',
    envVar: 'TOLLGATE_API_KEYS_TABLE',
    partitionKey: S(ApiKeyAttr.keyId),
    ttlAttribute: ApiKeyAttr.expiresAt,
    stream: true,
    indexes: [
      {
        indexName: ApiKeyIndex.byClient,
        partitionKey: S(ApiKeyAttr.clientId),
        sortKey: N(ApiKeyAttr.createdAt),
        projection: 'ALL',
      },
      {
        indexName: ApiKeyIndex.activeByExpiry,
        partitionKey: S(ApiKeyAttr.activePartition),
        sortKey: N(ApiKeyAttr.expiresAt),
        projection: [ApiKeyAttr.clientId],
      },
      {
        indexName: ApiKeyIndex.activeByLastUsed,
        partitionKey: S(ApiKeyAttr.activePartition),
        sortKey: N(ApiKeyAttr.lastUsedAt),
        projection: [ApiKeyAttr.clientId],
      },
    ],
  },
  clients: {
    id: 'Clients',
    envVar: 'TOLLGATE_CLIENTS_TABLE',
    partitionKey: S(ClientAttr.clientId),
    stream: true,
    indexes: [],
  },
  tokens: {
    id: 'Tokens',
    envVar: 'TOLLGATE_TOKENS_TABLE',
    partitionKey: S(TokenAttr.jti),
    ttlAttribute: TokenAttr.purgeAt,
    stream: true,
    indexes: [],
  },
  signingKeys: {
    id: 'SigningKeys',
    envVar: 'TOLLGATE_SIGNING_KEYS_TABLE',
    partitionKey: S(SigningKeyAttr.ring),
    sortKey: S(SigningKeyAttr.kid),
    stream: true,
    indexes: [],
  },
  idempotency: {
    id: 'Idempotency',
    envVar: 'TOLLGATE_IDEMPOTENCY_TABLE',
    partitionKey: S(IdempotencyAttr.keyHash),
    ttlAttribute: IdempotencyAttr.expiresAt,
    stream: false,
    indexes: [],
  },
  revocations: {
    id: 'Revocations',
    envVar: 'TOLLGATE_REVOCATIONS_TABLE',
    partitionKey: S(FeedAttr.bucket),
    sortKey: S(FeedAttr.seq),
    ttlAttribute: FeedAttr.purgeAt,
    stream: false,
    indexes: [],
  },
  usage: {
    id: 'Usage',
    envVar: 'TOLLGATE_USAGE_TABLE',
    partitionKey: S(UsageAttr.series),
    sortKey: S(UsageAttr.period),
    ttlAttribute: UsageAttr.expiresAt,
    stream: false,
    indexes: [],
  },
} as const satisfies Record<string, TableSpec>;

export type TableKey = keyof typeof Tables;
export const ALL_TABLES: readonly TableSpec[] = Object.values(Tables);

/** Physical table names, as a function receives them through its environment. */
export type TableNames = { readonly [K in TableKey]: string };
