/**
 * The operator API's core: create, list, show, roll and revoke API keys; revoke tokens and
 * clients; report and rotate the signing-key ring. Each revocation is ONE conditional write
 * whose `status` change to `revoked` the stream fan-out carries to every authorizer.
 */
import { CLIENT_ID_PATTERN } from '../../../common/setting-checks';
import { Defaults, Limits, SECONDS_PER_DAY } from '../../../common/defaults';
import { CredentialStatus } from '../../../common/credential-items';
import type { SigningKeyRecord } from '../../../common/signing-key-items';
import { TOKEN_ID_PATTERN } from '../../../common/tokens';
import {
  clientNotFound,
  CreateKeyBody,
  encodeCursor,
  keyNotFound,
  parseInput,
  parseListQuery,
  requireClientIdParameter,
  requireEmptyBody,
  requireKeyIdParameter,
  RollKeyBody,
} from './admin-input';
import { generateApiKey, type RandomBytes } from '../credentials/api-keys';
import { AuditAction, type AuditLog } from '../shared/audit';
import type { ClientUsage, UsageView } from './client-usage';
import {
  isPastExpiry,
  keyView,
  rollCarries,
  type ApiKeyStore,
  type ApiKeyView,
  type ClientStore,
  type KeyListCursor,
  type StoredApiKey,
  type TokenStore,
} from '../credentials/credentials';
import { Conflict, ErrorCode, NotFound, TemporarilyUnavailable } from '../shared/issuance-errors';
import type { RingSource } from '../issuance/issuing-key';

/** Starts a rotation the way the console or schedule would; throws `RotationFailed`. */
export interface RotationTrigger {
  rotate(): Promise<unknown>;
}

export interface AdminPorts {
  readonly apiKeys: ApiKeyStore;
  readonly clients: ClientStore;
  readonly tokens: TokenStore;
  /** The ring, read fresh (no cache): operators want the current state. */
  readonly ring: RingSource;
  readonly rotation: RotationTrigger;
  /** Per-client throttling: every new key (re)tries its client's usage-plan registration. */
  readonly usage: ClientUsage;
  readonly audit: AuditLog;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly random?: RandomBytes;
  /** The prefix new keys get (`apiKeyPrefix`); keys issued under an earlier one stay valid. @default `tg_` */
  readonly apiKeyPrefix?: string;
}

/** The one response that holds a secret: the new key, shown once. */
export interface IssuedKey {
  readonly apiKey: string;
  readonly key: ApiKeyView;
  /** The client's usage-plan registration; a failure there never fails the key. */
  readonly usage: UsageView;
}

export interface KeyList {
  readonly keys: readonly ApiKeyView[];
  readonly nextToken?: string;
}

/** A ring key as operators see it: state and timestamps, the KMS key ARN, no key material. */
export type SigningKeyView = Omit<SigningKeyRecord, 'publicKey' | 'version'>;

/** Refusal for a path id that cannot name an existing resource: no database read needed. */
const tokenNotFound = () => new NotFound(ErrorCode.tokenNotFound, 'No access token has this jti.');

export class Admin {
  constructor(private readonly ports: AdminPorts) {}

  /**
   * `random`: where the secret comes from. Under an Idempotency-Key it is derived from the key
   * (`core/admin/idempotency.ts`), so a re-run after an ambiguous failure creates this same key.
   */
  async createKey(clientIdParameter: string | undefined, body: unknown, random: RandomBytes | undefined = this.ports.random): Promise<IssuedKey> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const input = parseInput(CreateKeyBody, body, 'body');
    const nowSeconds = this.nowSeconds();
    const generated = generateApiKey(random, this.ports.apiKeyPrefix);
    const key: StoredApiKey = {
      keyId: generated.keyId,
      keyHash: generated.keyHash,
      clientId,
      scopes: [...new Set(input.scopes)],
      status: CredentialStatus.Active,
      description: input.description,
      metadata: input.metadata,
      createdAt: nowSeconds,
      expiresAt: input.expiresInDays === undefined ? undefined : nowSeconds + input.expiresInDays * SECONDS_PER_DAY,
      // Never-used keys must sort into the stale-key index too (activeByLastUsed).
      lastUsedAt: nowSeconds,
    };
    const outcome = await this.ports.apiKeys.create(key);
    if (outcome === 'client_revoked') {
      this.ports.audit.record({ action: AuditAction.keyCreate, outcome: 'failure', reason: ErrorCode.clientRevoked, clientId });
      throw new Conflict(ErrorCode.clientRevoked, 'This client is revoked and cannot get new keys.');
    }
    // An earlier run of the same idempotent request wrote it: answer with the key as stored.
    const stored = outcome === 'exists' ? await this.ports.apiKeys.get(key.keyId) : key;
    if (stored === undefined) throw keyNotFound();
    this.ports.audit.record({ action: AuditAction.keyCreate, outcome: outcome === 'exists' ? 'noop' : 'success', clientId, keyId: key.keyId });
    const usage = await this.ports.usage.afterKeyCreated(clientId);
    return { apiKey: generated.apiKey, key: keyView(stored, nowSeconds), usage };
  }

  async listKeys(clientIdParameter: string | undefined, query: Readonly<Record<string, string | undefined>> | null): Promise<KeyList> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const { limit, cursor } = parseListQuery(clientId, query);
    const page = await this.ports.apiKeys.listByClient(clientId, limit, cursor);
    const nowSeconds = this.nowSeconds();
    const keys = page.keys.map((key) => keyView(key, nowSeconds));
    return page.cursor ? { keys, nextToken: encodeCursor(page.cursor) } : { keys };
  }

  async showKey(keyId: string | undefined): Promise<ApiKeyView> {
    return keyView(await this.requireKey(keyId), this.nowSeconds());
  }

  /**
   * A successor with the same client, scopes, description and metadata (and the same
   * lifetime length, counted from now), metered quota and suspension in force
   * ({@link rollCarries}); the old key keeps working for the grace period.
   */
  async rollKey(keyId: string | undefined, body: unknown, random: RandomBytes | undefined = this.ports.random): Promise<IssuedKey> {
    const input = parseInput(RollKeyBody, body, 'body');
    const old = await this.requireKey(keyId);
    const nowSeconds = this.nowSeconds();
    const generated = generateApiKey(random, this.ports.apiKeyPrefix);
    // A re-run of the same idempotent roll (the successor is derived from the Idempotency-Key): the roll happened.
    if (old.rolledTo !== undefined && old.rolledTo === generated.keyId) {
      const successor = await this.ports.apiKeys.get(generated.keyId);
      if (successor !== undefined) {
        this.ports.audit.record({ action: AuditAction.keyRoll, outcome: 'noop', keyId: old.keyId, clientId: old.clientId, rolledTo: successor.keyId });
        return { apiKey: generated.apiKey, key: keyView(successor, nowSeconds), usage: await this.ports.usage.afterKeyCreated(old.clientId) };
      }
    }
    const refuse = (error: Conflict) => {
      this.ports.audit.record({ action: AuditAction.keyRoll, outcome: 'failure', reason: error.code, keyId: old.keyId, clientId: old.clientId });
      return error;
    };
    if (old.status !== CredentialStatus.Active || isPastExpiry(old, nowSeconds)) {
      throw refuse(new Conflict(ErrorCode.keyNotActive, 'Only an active, unexpired key can be rolled.'));
    }
    if (old.rolledTo !== undefined) throw refuse(new Conflict(ErrorCode.keyAlreadyRolled, `This key was already rolled to ${old.rolledTo}.`));
    const clientRevoked = () => refuse(new Conflict(ErrorCode.clientRevoked, 'This client is revoked and cannot get new keys.'));
    const client = await this.ports.clients.get(old.clientId);
    if (client?.status === CredentialStatus.Revoked) throw clientRevoked();

    const successor: StoredApiKey = {
      keyId: generated.keyId,
      keyHash: generated.keyHash,
      clientId: old.clientId,
      scopes: old.scopes,
      status: CredentialStatus.Active,
      description: old.description,
      metadata: old.metadata,
      createdAt: nowSeconds,
      expiresAt: old.expiresAt === undefined ? undefined : nowSeconds + (old.expiresAt - old.createdAt),
      lastUsedAt: nowSeconds,
      rolledFrom: old.keyId,
      ...rollCarries(old, nowSeconds),
    };
    const graceEnd = nowSeconds + (input.graceSeconds ?? Defaults.rollGraceSeconds);
    const oldExpiresAt = Math.min(old.expiresAt ?? graceEnd, graceEnd);
    const rolled = await this.ports.apiKeys.roll(successor, old, oldExpiresAt);
    // Revoked after it was read above: the transaction checked it again.
    if (rolled === 'client_revoked') throw clientRevoked();
    if (rolled === 'not_rollable') {
      throw refuse(
        new Conflict(
          ErrorCode.keyNotActive,
          'The key changed while it was being rolled; read it and roll it again, under a new Idempotency-Key if you sent one (the same key replays this answer).',
        ),
      );
    }
    this.ports.audit.record({ action: AuditAction.keyRoll, outcome: 'success', keyId: old.keyId, clientId: old.clientId, rolledTo: successor.keyId });
    const usage = await this.ports.usage.afterKeyCreated(old.clientId);
    return { apiKey: generated.apiKey, key: keyView(successor, nowSeconds), usage };
  }

  async revokeKey(keyIdParameter: string | undefined, body: unknown): Promise<void> {
    const keyId = requireKeyIdParameter(keyIdParameter);
    requireEmptyBody(body);
    const outcome = await this.ports.apiKeys.revoke(keyId, this.nowSeconds());
    this.auditRevoke(AuditAction.keyRevoke, outcome, { keyId });
    if (outcome === 'not_found') throw keyNotFound();
  }

  async revokeToken(jti: string | undefined, body: unknown): Promise<void> {
    if (jti === undefined || !TOKEN_ID_PATTERN.test(jti)) throw tokenNotFound();
    requireEmptyBody(body);
    const outcome = await this.ports.tokens.revoke(jti, this.nowSeconds());
    this.auditRevoke(AuditAction.tokenRevoke, outcome, { jti });
    if (outcome === 'not_found') throw tokenNotFound();
  }

  /**
   * The client record's own revocation is the one write the fan-out carries (every token
   * with this `sub` becomes invalid); marking its keys revoked and removing its usage key
   * from API Gateway afterwards is the clean-up, run on every call: an already-revoked
   * client gets it again. When marking a key revoked fails (or listing them does), the
   * answer is 503 once the clean-up has run, so the caller retries (a 5xx is not kept
   * under its Idempotency-Key) and the retry finishes it; the usage key's removal stays
   * best effort, audited ({@link ClientUsage.afterClientRevoked}).
   */
  async revokeClient(clientId: string | undefined, body: unknown): Promise<void> {
    if (clientId === undefined || !CLIENT_ID_PATTERN.test(clientId)) throw clientNotFound();
    requireEmptyBody(body);
    const nowSeconds = this.nowSeconds();
    const outcome = await this.ports.clients.revoke(clientId, nowSeconds);
    this.auditRevoke(AuditAction.clientRevoke, outcome, { clientId });
    if (outcome === 'not_found') throw clientNotFound();
    const unfinished = await this.revokeKeysOf(clientId, nowSeconds).then(
      () => undefined,
      (error: unknown) => error,
    );
    await this.ports.usage.afterClientRevoked(clientId);
    if (unfinished === undefined) return;
    this.ports.audit.warn('revoking the keys of a revoked client did not finish; a retry finishes it', {
      clientId,
      error: (unfinished as Error).name,
    });
    if (!(unfinished instanceof TemporarilyUnavailable)) throw unfinished;
    throw new TemporarilyUnavailable(
      'client_cleanup',
      unfinished.retryAfterSeconds,
      'The client is revoked (its tokens are refused), but marking its keys revoked did not finish; retry the same request after Retry-After to finish it.',
    );
  }

  async signingKeys(): Promise<{ keys: SigningKeyView[] }> {
    const records = await this.ports.ring.load();
    const keys = records.map(({ publicKey: _publicKey, version: _version, ...view }) => view);
    return { keys: keys.sort((a, b) => a.createdAt - b.createdAt) };
  }

  async rotateSigningKeys(body: unknown): Promise<unknown> {
    requireEmptyBody(body);
    try {
      const report = await this.ports.rotation.rotate();
      this.ports.audit.record({ action: AuditAction.signingKeysRotate, outcome: 'success' });
      return report;
    } catch (error) {
      this.ports.audit.record({ action: AuditAction.signingKeysRotate, outcome: 'failure', reason: (error as Error).name });
      throw error;
    }
  }

  /** Marks every active key of the client revoked; throws (after trying them all) the first failure. */
  private async revokeKeysOf(clientId: string, nowSeconds: number): Promise<void> {
    let cursor: KeyListCursor | undefined;
    let failure: unknown;
    do {
      const page = await this.ports.apiKeys.listByClient(clientId, Limits.adminPageSizeMax, cursor);
      const active = page.keys.filter((key) => key.status === CredentialStatus.Active);
      const results = await Promise.allSettled(active.map((key) => this.ports.apiKeys.revoke(key.keyId, nowSeconds)));
      results.forEach((result, index) => {
        const keyId = active[index]?.keyId;
        if (result.status === 'rejected') {
          this.ports.audit.warn('revoking a key of a revoked client failed', { clientId, keyId, error: (result.reason as Error).name });
          failure ??= result.reason;
        } else {
          this.auditRevoke(AuditAction.keyRevoke, result.value, { keyId, clientId });
        }
      });
      cursor = page.cursor;
    } while (cursor);
    if (failure !== undefined) throw failure;
  }

  private async requireKey(keyId: string | undefined): Promise<StoredApiKey> {
    const key = await this.ports.apiKeys.get(requireKeyIdParameter(keyId));
    if (!key) throw keyNotFound();
    return key;
  }

  private auditRevoke(
    action: AuditAction,
    outcome: 'revoked' | 'already_revoked' | 'not_found',
    ids: { keyId?: string; jti?: string; clientId?: string },
  ): void {
    const result = outcome === 'revoked' ? 'success' : outcome === 'already_revoked' ? 'noop' : 'failure';
    this.ports.audit.record({ action, outcome: result, ...(outcome === 'revoked' ? {} : { reason: outcome }), ...ids });
  }

  private nowSeconds(): number {
    return Math.floor(this.ports.now() / 1000);
  }
}
