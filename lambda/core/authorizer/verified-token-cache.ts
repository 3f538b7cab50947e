/**
 * Per-instance cache of verified tokens: bounded, least-recently-used eviction, and each
 * entry dropped once it stops being valid.
 *
 * Two levels, both keyed by the exact token so only the very token that was verified can
 * hit its entry:
 * - the main map, keyed by the token's SHA-256 (32 bytes instead of 450–700 characters),
 *   so {@link VERIFIED_TOKEN_CACHE_CAPACITY} entries fit the memory budget;
 * - a small front map keyed by the token string itself, for the tokens seen most
 *   recently: a repeat request then costs one string-keyed lookup instead of a SHA-256.
 * Entries found here are candidates only: the caller still checks revocation and the
 * signing key on every hit.
 */
import { hash } from 'node:crypto';

/**
 * Entries per instance. Measured by bench/authorizer.ts (`--heap`): 100k cached tokens
 * stay under the 64 MB heap budget, and one Lambda instance rarely sees more distinct
 * live tokens within their lifetime (at most 3600 s, docs/api.md#credentials).
 */
export const VERIFIED_TOKEN_CACHE_CAPACITY = 100_000;
/** Tokens also kept under their full string: ~1 MB at most for 4 KB tokens, far less in practice. */
export const RECENT_TOKENS_CAPACITY = 256;

/** What the cache needs of an entry; kept on the entry itself to spare an object per token. */
export interface Cacheable {
  /** Epoch milliseconds from which the entry must not be used. */
  readonly validUntilMs: number;
  /** Owned by the cache: the entry's key in the main map. */
  cacheKey: string;
}

/** SHA-256 of a token as a 32-character one-byte string (`binary` = latin1): compact and exact. */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'binary');
}

/**
 * A bounded map with approximate LRU eviction in two generations (the scheme of
 * `quick-lru`): new and recently read entries go to the young map; when it is full it
 * becomes the old map and the previous old map is dropped whole. Evicting the oldest
 * entry of a single JS Map instead (`keys().next()` + `delete`) degrades badly: V8 leaves
 * deleted slots at the front of the table and every eviction's iterator walks them.
 * Holds at most `capacity` entries and always the `capacity / 2` most recently used.
 */
export class GenerationalMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private readonly generation: number;

  constructor(readonly capacity: number) {
    this.generation = Math.max(1, capacity >> 1);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): V | undefined {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const old = this.old.get(key);
    if (old !== undefined) {
      this.old.delete(key);
      this.add(key, old);
    }
    return old;
  }

  set(key: string, value: V): void {
    const before = this.young.size;
    if (before < this.generation) {
      // Room in the young map: insert first (one probe instead of `has` then `set`); a new
      // key must then leave the old map.
      this.young.set(key, value);
      if (this.young.size !== before) this.old.delete(key);
      return;
    }
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.add(key, value);
  }

  delete(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  deleteWhere(matches: (value: V) => boolean): number {
    let removed = 0;
    for (const map of [this.young, this.old]) {
      for (const [key, value] of map) {
        if (matches(value)) {
          map.delete(key);
          removed += 1;
        }
      }
    }
    return removed;
  }

  private add(key: string, value: V): void {
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}

/** Characters of a token's end that key the recent-token map (its signature: random, 192 bits). */
const RECENT_KEY_CHARS = 32;

interface Recent<T> {
  /** The whole token: a recent entry is only used when the presented token equals it. */
  readonly token: string;
  readonly entry: T;
}

export class VerifiedTokenCache<T extends Cacheable> {
  private readonly entries: GenerationalMap<T>;
  private readonly recent: GenerationalMap<Recent<T>>;
  /** The digest and recent-map key computed by the last missed `get`, reused by the `set` that usually follows. */
  private lastToken = '';
  private lastDigest = '';
  private lastTail = '';

  constructor(capacity: number = VERIFIED_TOKEN_CACHE_CAPACITY, recentCapacity: number = RECENT_TOKENS_CAPACITY) {
    this.entries = new GenerationalMap(capacity);
    this.recent = new GenerationalMap(recentCapacity);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The live entry for `token`; an expired one is removed and reported as absent. The
   * recent map is keyed by the token's last characters, because hashing a short key and
   * comparing the whole token once costs far less than hashing the whole token (V8 hashes
   * every character of a string Map key); the comparison keeps the lookup exact.
   */
  get(token: string, nowMs: number): T | undefined {
    const tail = token.slice(-RECENT_KEY_CHARS);
    const recent = this.recent.get(tail);
    let entry = recent !== undefined && recent.token === token ? recent.entry : undefined;
    if (entry === undefined) {
      entry = this.entries.get(this.digest(token));
      if (entry === undefined) {
        this.lastTail = tail;
        return undefined;
      }
      this.recent.set(tail, { token, entry });
    }
    if (entry.validUntilMs > nowMs) return entry;
    this.delete(token, entry);
    return undefined;
  }

  set(token: string, entry: T): void {
    entry.cacheKey = this.digest(token);
    this.entries.set(entry.cacheKey, entry);
    this.recent.set(token === this.lastToken ? this.lastTail : token.slice(-RECENT_KEY_CHARS), { token, entry });
  }

  delete(token: string, entry: T): void {
    const key = token.slice(-RECENT_KEY_CHARS);
    if (this.recent.get(key)?.token === token) this.recent.delete(key);
    this.entries.delete(entry.cacheKey);
  }

  /** Removes every entry `matches` selects (revocations); returns how many. */
  deleteWhere(matches: (entry: T) => boolean): number {
    this.recent.deleteWhere((recent) => matches(recent.entry));
    return this.entries.deleteWhere(matches);
  }

  private digest(token: string): string {
    if (token !== this.lastToken) {
      this.lastToken = token;
      this.lastDigest = tokenCacheKey(token);
      this.lastTail = token.slice(-RECENT_KEY_CHARS);
    }
    return this.lastDigest;
  }
}
