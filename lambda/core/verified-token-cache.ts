/**
 * Per-instance cache of verified tokens: bounded, least-recently-used eviction, and each
 * entry dropped once it stops being valid. Keys are SHA-256 digests of the whole token
 * (see `tokenCacheKey`), never a part of it, so only the very token that was verified
 * can hit its entry; digests also keep 100k entries small (a token is 450–700 bytes).
 */
import { hash } from 'node:crypto';

/**
 * Entries per instance. Measured by bench/authorizer.ts: 100k cached tokens stay under
 * the 64 MB heap budget, and one Lambda instance rarely sees more distinct live tokens
 * within their lifetime (at most 3600 s, contract §1.2).
 */
export const VERIFIED_TOKEN_CACHE_CAPACITY = 100_000;

/** What the cache needs of an entry; kept on the entry itself to spare an object per token. */
export interface Cacheable {
  /** Epoch milliseconds from which the entry must not be used. */
  readonly validUntilMs: number;
  /** Owned by the cache: insertion counter at the entry's last (re)insertion. */
  lruStamp: number;
}

/** Cache key of a token: its SHA-256 as a 32-character one-byte string (`binary` = latin1) (compact and exact). */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'binary');
}

export class VerifiedTokenCache<T extends Cacheable> {
  private readonly entries = new Map<string, T>();
  private counter = 0;

  constructor(readonly capacity: number = VERIFIED_TOKEN_CACHE_CAPACITY) {}

  get size(): number {
    return this.entries.size;
  }

  /** The live entry for `key`; an expired one is removed and reported as absent. */
  get(key: string, nowMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.validUntilMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    // A Map iterates in insertion order, so re-inserting makes an entry the youngest. Doing
    // that only for entries in the older half keeps eviction close to LRU while a hot
    // entry costs no Map writes per hit.
    if (this.counter - entry.lruStamp > this.capacity >> 1) {
      this.entries.delete(key);
      entry.lruStamp = ++this.counter;
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    value.lruStamp = ++this.counter;
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.evictOldest();
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Removes every entry `matches` selects (revocations); returns how many. */
  deleteWhere(matches: (value: T) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (matches(entry)) {
        this.entries.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  clear(): void {
    this.entries.clear();
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
