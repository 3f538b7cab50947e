/**
 * The Lambda functions: where each handler lives and what it may do to each table. The CDK
 * function constructs grant exactly this access and set the table-name variables; the
 * handlers read those variables (and nothing else of the table set) at cold start.
 *
 * Each function's table access lists the DynamoDB calls its adapters make (`lambda/adapters/`),
 * nothing more: a compromised function can do no more than its code already does. Change an
 * adapter's calls and this list together.
 */
import { ApiKeyAttr, ApiKeyIndex, ClientAttr, REVOCATION_ID_ATTR, SuspensionAttr } from './credential-items';
import type { TableKey } from './tables';

/**
 * Item-level DynamoDB actions. Never Scan (every read is a key lookup or a query, so a
 * leaked role cannot dump a table in one call), never the batch actions (no code calls
 * them). TransactWriteItems needs no action of its own: DynamoDB authorizes each Put,
 * Update, Delete or ConditionCheck inside it as that action (`ConditionCheckItem` for a
 * bare condition check, which reads the item and writes nothing).
 */
export type TableAction = 'GetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'ConditionCheckItem';

/** Actions that change items, and so need the table key's data-key family in KMS. */
export const WRITE_ACTIONS: readonly TableAction[] = ['PutItem', 'UpdateItem', 'DeleteItem'];

export interface TableAccess {
  /** Actions on the base table (not its indexes). */
  readonly actions: readonly TableAction[];
  /** Indexes the function queries (`dynamodb:Query` on each index ARN); no other index is reachable. */
  readonly queryIndexes?: readonly string[];
  /**
   * Restricts `UpdateItem` to requests that name only these top-level attributes (key,
   * update and condition expressions together, so the key attribute is listed too) and ask
   * for no return values (`dynamodb:Attributes`, `dynamodb:ReturnValues`).
   */
  readonly updateOnly?: readonly string[];
}

/**
 * The Node.js major every function runs on in AWS. The stack's Lambda runtime
 * (`nodejs<major>.x`, `lib/function.ts`) and the bundles' esbuild target (`lib/bundling.ts`) are
 * derived from it; the tests run the bundles on a Node.js of this major
 * (`test/lambda-runtime/`), and local mode's banner says when it runs on another.
 */
export const LAMBDA_NODE_MAJOR = 24;

/** Whether a Node.js version as `process.versions.node` gives it (`24.1.0`) is of {@link LAMBDA_NODE_MAJOR}. */
export function isLambdaNodeMajor(version: string): boolean {
  return Number(version.split('.')[0]) === LAMBDA_NODE_MAJOR;
}

/**
 * Every function's `NODE_OPTIONS`: stack traces name the TypeScript sources, through the maps
 * each bundle ships (`lib/bundling.ts`). Node reads a bundle's map as it loads the bundle, so
 * the benchmarks start the bundles with these options too.
 */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

export interface FunctionSpec {
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly entry: string;
  readonly tables: { readonly [K in TableKey]?: TableAccess };
  /** Tables whose DynamoDB stream invokes the function. */
  readonly streams?: readonly TableKey[];
  /** Its logs are the audit trail of operator actions (key creation, roll, revocation): kept a year, not a month. */
  readonly auditLog?: boolean;
}

export const Functions = {
  authorizer: {
    entry: 'lambda/authorizer/handler.ts',
    // The ring (signing-key-store Query) and the feed (revocation-feed-reader Query).
    tables: { signingKeys: { actions: ['Query'] }, revocations: { actions: ['Query'] } },
  },
  token: {
    entry: 'lambda/token/handler.ts',
    tables: {
      // api-key-store: GetItem of the presented key, then `SET lastUsedAt` conditional on
      // keyId and lastUsedAt. Nothing else: this internet-facing function can neither
      // create nor un-revoke nor re-scope a key, nor list keys through an index.
      apiKeys: { actions: ['GetItem', 'UpdateItem'], updateOnly: [ApiKeyAttr.keyId, ApiKeyAttr.lastUsedAt] },
      clients: { actions: ['GetItem'] },
      // token-store: the issued token's record, and a client's revocation of its own token.
      tokens: { actions: ['PutItem', 'UpdateItem'] },
      signingKeys: { actions: ['Query'] },
    },
  },
  admin: {
    entry: 'lambda/admin/handler.ts',
    tables: {
      // Show (GetItem), create and roll (transactional Put and Update), revoke (Update), list by client.
      apiKeys: { actions: ['GetItem', 'PutItem', 'UpdateItem'], queryIndexes: [ApiKeyIndex.byClient] },
      // Read, upsert with the first key, revoke, limits and usage registration: all Get or Update;
      // a roll's transaction checks the client is still active (ConditionCheck).
      clients: { actions: ['GetItem', 'UpdateItem', 'ConditionCheckItem'] },
      // Revoke only.
      tokens: { actions: ['UpdateItem'] },
      signingKeys: { actions: ['Query'] },
      // idempotency-store: claim (conditional Put), read a claim, take over or complete it (conditional Update).
      idempotency: { actions: ['GetItem', 'PutItem', 'UpdateItem'] },
      // usage-store's reader: one series, or one period's top index.
      usage: { actions: ['Query'] },
    },
    auditLog: true,
  },
  fanout: {
    entry: 'lambda/fanout/handler.ts',
    // revocation-feed-writer: entry and marker Puts, a re-stamp deletes the late entry it moves,
    // and a redelivered revocation reads its marker (where the entry is).
    tables: { revocations: { actions: ['GetItem', 'PutItem', 'DeleteItem'] } },
    streams: ['apiKeys', 'clients', 'tokens', 'signingKeys'],
  },
  leaks: {
    entry: 'lambda/leaks/handler.ts',
    tables: {
      // leak-store: GetItem of the reported key; the admin API's conditional revoke
      // (status, revokedAt, REMOVE activePartition) or, for a `notify` client, the
      // leakReportedAt marker, each with the report's leakReportId and leakUnannounced (cleared
      // once announced). This public function can neither create nor re-scope a key (its
      // UpdateItem can set no other attribute), nor list keys. IAM limits the attributes, not
      // their values: that it never sets `status` back to active is its code's part.
      apiKeys: {
        actions: ['GetItem', 'UpdateItem'],
        updateOnly: [
          ApiKeyAttr.keyId,
          ApiKeyAttr.status,
          ApiKeyAttr.revokedAt,
          ApiKeyAttr.activePartition,
          ApiKeyAttr.leakReportedAt,
          ApiKeyAttr.leakReportId,
          ApiKeyAttr.leakUnannounced,
        ],
      },
      // The client's leakResponse (one projected GetItem).
      clients: { actions: ['GetItem'] },
    },
    auditLog: true,
  },
  rotation: {
    entry: 'lambda/rotation/handler.ts',
    tables: {
      // signing-key-store: the ring Query, conditional Puts and Updates, pruning of deleted keys.
      signingKeys: { actions: ['Query', 'PutItem', 'UpdateItem', 'DeleteItem'] },
      // api-key-hygiene: the two sparse hygiene indexes only (they project clientId, never keyHash).
      apiKeys: { actions: [], queryIndexes: [ApiKeyIndex.activeByExpiry, ApiKeyIndex.activeByLastUsed] },
    },
  },
  metering: {
    entry: 'lambda/metering/handler.ts',
    tables: {
      // usage-store: the batch transactions (each action authorized as UpdateItem; credits add to the client record) and the
      // quota and anomaly reads; usage-anomaly-store: the baseline (GetItem, UpdateItem).
      usage: { actions: ['GetItem', 'Query', 'UpdateItem'] },
      // usage-quota-store and usage-anomaly-store: the quota and policy reads, and the
      // suspension write, which may name only the suspension and its condition on status (IAM
      // counts a condition's attributes as named; that it never writes `status` is the code's part).
      clients: {
        actions: ['GetItem', 'UpdateItem'],
        updateOnly: [ClientAttr.clientId, ...Object.values(SuspensionAttr), ClientAttr.status, ClientAttr.creditsUsed],
      },
      // usage-anomaly-store: the anomaly response `revoke`, the revocation write of an API key, with its own revocationId
      // (only the flagged client's own keys: read first, GetItem, so the write need not name clientId);
      // usage-quota-store: a key's quota read (GetItem) and its own suspension (a per-key quota
      // used up), which names only the suspension and its condition on status. Nothing else.
      apiKeys: {
        actions: ['GetItem', 'UpdateItem'],
        updateOnly: [
          ApiKeyAttr.keyId,
          ApiKeyAttr.status,
          ApiKeyAttr.revokedAt,
          ApiKeyAttr.activePartition,
          REVOCATION_ID_ATTR,
          ...Object.values(SuspensionAttr),
        ],
      },
    },
    // Its anomaly flags (and the suspensions they cause) are audit lines.
    auditLog: true,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof Functions;
