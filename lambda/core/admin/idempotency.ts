/**
 * `Idempotency-Key` for admin mutations (issue #15, docs/api.md "Retrying safely"): a client
 * whose request timed out, or that got a 503, sends it again with the same key and gets the
 * first request's answer, and the mutation happens at most once.
 *
 * - The first request with a key claims it (a conditional write); it then runs, and its
 *   answer is stored if it is definitive (2xx or 4xx). A retry with the same key and the
 *   same request gets that answer back (`Idempotent-Replayed: true`), with nothing redone.
 * - The same key with a different request (method, route, path parameters or body) is
 *   refused with 422 `idempotency_key_reused`; while the first request still runs, a retry
 *   gets 409 `idempotency_key_in_use` with `Retry-After`.
 * - A 5xx (a dependency failed: the write may or may not have happened) is not stored: the
 *   claim is released and a retry runs the mutation again. Every mutation converges when run
 *   twice: revocations and limits are idempotent by nature, and the secret of a key created
 *   or rolled under an Idempotency-Key is derived from it (with a per-key random salt), so a
 *   re-run writes the very same key instead of a second one.
 *
 * The table never holds the Idempotency-Key: items are keyed by its SHA-256, and the stored
 * answer (a new key's secret included) is encrypted with AES-256-GCM under a key derived
 * from it with HKDF (RFC 5869), so a reader of the table learns no secret.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { DependencyBudget } from '../../../common/defaults';
import { IDEMPOTENCY_KEY_TTL_SECONDS } from '../../../common/credential-items';
import type { RandomBytes } from '../credentials/api-keys';
import { IdempotencyConflict, InvalidRequest } from '../shared/issuance-errors';

/** The header, as in the IETF httpapi draft "The Idempotency-Key HTTP Header Field". */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set on a replayed answer. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/**
 * Printable ASCII, 16 to 255 characters: long enough to be unguessable (a UUID is 36), as
 * it is the secret that protects the stored answer.
 */
/**
 * At least 22 characters: a random key of that length (a UUID v4, 22+ random base64url
 * characters) has about 128 bits, which is what protects the API key a create or roll
 * derives from it. A guessable key (`acme-create-0042`) would let anyone who can read the
 * table rebuild that API key, so short keys are refused; randomness cannot be checked here
 * and is the caller's part (docs/api.md).
 */
const KEY_PATTERN = /^[\x21-\x7e]{22,255}$/;
/**
 * How long a claim is held by the request that made it, beyond its dependency budget. Every
 * call the request makes is aborted when the budget is spent, so after budget + margin it
 * has answered (or its invocation is gone) and a retry may take the claim over. A claim is
 * also released at once when the request ends in a 5xx and DynamoDB still answers.
 */
export const IDEMPOTENCY_LOCK_MARGIN_MS = 1_000;

export interface IdempotencyRecord {
  readonly keyHash: string;
  readonly fingerprint: string;
  readonly state: 'in_progress' | 'done';
  /** Base64. */
  readonly salt: string;
  readonly lockedUntilMs?: number;
  readonly statusCode?: number;
  readonly response?: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface IdempotencyStore {
  /** Creates `record` unless a live one exists for its key; returns that one then. */
  claim(record: IdempotencyRecord, nowSeconds: number): Promise<{ readonly claimed: true } | { readonly claimed: false; readonly existing: IdempotencyRecord }>;
  /** Takes over an abandoned claim; false when another request took it first. */
  takeOver(keyHash: string, previousLockMs: number, lockedUntilMs: number): Promise<boolean>;
  complete(keyHash: string, statusCode: number, response: string): Promise<void>;
  /** Lets a retry take the claim over at once. */
  release(keyHash: string): Promise<void>;
}

/** An HTTP answer, as stored and replayed. */
export interface Answer {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string | number | boolean>>;
  readonly body: string;
}

/** What identifies the request under a key: a retry must send the same. */
export interface RequestIdentity {
  readonly method: string;
  readonly resource: string;
  readonly pathParameters: Readonly<Record<string, string | undefined>> | null;
  readonly body: string | null;
}

export interface IdempotencyPorts {
  readonly store: IdempotencyStore;
  /** Epoch ms. */
  readonly now: () => number;
  readonly random?: RandomBytes;
  readonly warn?: (message: string, details: Readonly<Record<string, unknown>>) => void;
}

/**
 * Runs `execute` at most once per key. `execute` gets the random source the mutation must
 * draw new secrets from (derived from the key, so a re-run draws the same), and returns
 * the answer; 5xx answers are not stored.
 */
export class Idempotency {
  constructor(private readonly ports: IdempotencyPorts) {}

  /** `budgetMs`: the request's dependency budget, which bounds how long it holds the claim. */
  async run(
    key: string | undefined,
    request: RequestIdentity,
    execute: (random?: RandomBytes) => Promise<Answer>,
    budgetMs: number = DependencyBudget.requestBudgetMs,
  ): Promise<Answer> {
    if (key === undefined) return execute();
    if (!KEY_PATTERN.test(key))
      throw new InvalidRequest(`The ${IDEMPOTENCY_KEY_HEADER} header must be 22 to 255 printable ASCII characters, random (a UUID v4 will do).`);
    const nowMs = this.ports.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const record: IdempotencyRecord = {
      keyHash: sha256(key),
      fingerprint: fingerprint(request),
      state: 'in_progress',
      salt: Buffer.from((this.ports.random ?? randomBytes)(32)).toString('base64'),
      lockedUntilMs: nowMs + budgetMs + IDEMPOTENCY_LOCK_MARGIN_MS,
      createdAt: nowSeconds,
      expiresAt: nowSeconds + IDEMPOTENCY_KEY_TTL_SECONDS,
    };
    const claim = await this.ports.store.claim(record, nowSeconds);
    let salt = record.salt;
    // The same salt: our own claim, written by an attempt whose answer was lost and retried by the SDK.
    if (!claim.claimed && claim.existing.salt !== record.salt) {
      const { existing } = claim;
      if (existing.fingerprint !== record.fingerprint) {
        throw new IdempotencyConflict(
          'idempotency_key_reused',
          `This ${IDEMPOTENCY_KEY_HEADER} was used for a different request; use a new key for a new request.`,
        );
      }
      if (existing.state === 'done') return replay(key, existing);
      const lockedUntil = existing.lockedUntilMs ?? 0;
      if (lockedUntil > nowMs || !(await this.ports.store.takeOver(record.keyHash, lockedUntil, record.lockedUntilMs!))) {
        throw new IdempotencyConflict(
          'idempotency_key_in_use',
          `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry after the Retry-After delay.`,
          Math.max(1, Math.ceil((lockedUntil - nowMs) / 1000)),
        );
      }
      salt = existing.salt;
    }
    return this.executeClaimed(key, record.keyHash, salt, execute);
  }

  private async executeClaimed(key: string, keyHash: string, salt: string, execute: (random?: RandomBytes) => Promise<Answer>): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await execute(derivedRandom(key, salt));
    } catch (error) {
      await this.release(keyHash);
      throw error;
    }
    if (answer.statusCode >= 500) {
      await this.release(keyHash);
      return answer;
    }
    try {
      await this.ports.store.complete(keyHash, answer.statusCode, seal(key, salt, answer));
    } catch (error) {
      // The mutation is done and its answer goes back now; a retry re-runs it, which converges.
      this.ports.warn?.('idempotency: the answer could not be stored', { error: (error as Error).name });
    }
    return answer;
  }

  private async release(keyHash: string): Promise<void> {
    try {
      await this.ports.store.release(keyHash);
    } catch (error) {
      // The claim then expires after IDEMPOTENCY_LOCK_MS.
      this.ports.warn?.('idempotency: the claim could not be released', { error: (error as Error).name });
    }
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Length-prefixed parts, so no two different requests share a fingerprint. */
export function fingerprint(request: RequestIdentity): string {
  const params = Object.entries(request.pathParameters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts = [request.method, request.resource, JSON.stringify(params), request.body ?? ''];
  return sha256(parts.map((part) => `${part.length}:${part}`).join('|'));
}

function derive(key: string, salt: string, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), Buffer.from(salt, 'base64'), info, length));
}

/** The same bytes for the same key and salt: a re-run creates the same API key. */
function derivedRandom(key: string, salt: string): RandomBytes {
  let counter = 0;
  return (size) => new Uint8Array(derive(key, salt, `tollgate idempotency random ${counter++}`, size));
}

function seal(key: string, salt: string, answer: Answer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(key, salt, 'tollgate idempotency answer', 32), iv);
  const plain = JSON.stringify({ headers: answer.headers ?? {}, body: answer.body });
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

function replay(key: string, record: IdempotencyRecord): Answer {
  const bytes = Buffer.from(record.response ?? '', 'base64');
  const decipher = createDecipheriv('aes-256-gcm', derive(key, record.salt, 'tollgate idempotency answer', 32), bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  const plain = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  const { headers, body } = JSON.parse(plain) as { headers: Record<string, string>; body: string };
  return { statusCode: record.statusCode ?? 200, headers: { ...headers, [REPLAYED_HEADER]: 'true' }, body };
}
