import { describe, expect, it } from 'vitest';
import { GenerationalMap, tokenCacheKey, VerifiedTokenCache, type Cacheable } from '../../../lambda/core/authorizer/verified-token-cache';

interface Entry extends Cacheable {
  readonly name: string;
}
const entry = (name: string, validUntilMs = 10_000): Entry => ({ name, validUntilMs, cacheKey: '' });

describe('GenerationalMap', () => {
  it('never holds more than its capacity and always keeps the most recent half', () => {
    const map = new GenerationalMap<number>(10);
    for (let i = 0; i < 1000; i += 1) {
      map.set(`k${i}`, i);
      expect(map.size).toBeLessThanOrEqual(10);
      for (let j = Math.max(0, i - 4); j <= i; j += 1) expect(map.get(`k${j}`)).toBe(j);
    }
  });

  it('keeps entries that are read (approximate LRU) and drops the ones that are not', () => {
    const map = new GenerationalMap<string>(4);
    map.set('hot', 'h');
    for (let i = 0; i < 20; i += 1) {
      map.set(`cold${i}`, 'c');
      expect(map.get('hot')).toBe('h');
    }
    expect(map.get('cold0')).toBeUndefined();
  });

  it('deletes by key and by predicate in both generations', () => {
    const map = new GenerationalMap<number>(4);
    for (let i = 0; i < 4; i += 1) map.set(`k${i}`, i);
    map.delete('k0');
    expect(map.get('k0')).toBeUndefined();
    expect(map.deleteWhere((v) => v % 2 === 1)).toBe(2);
    expect(map.get('k2')).toBe(2);
    expect(map.size).toBe(1);
  });
});

describe('VerifiedTokenCache', () => {
  it('finds an entry by the exact token only', () => {
    const cache = new VerifiedTokenCache<Entry>(100);
    cache.set('token-a', entry('a'));
    expect(cache.get('token-a', 0)?.name).toBe('a');
    expect(cache.get('token-b', 0)).toBeUndefined();
    expect(cache.get('token-a ', 0)).toBeUndefined();
    expect(cache.get('Token-a', 0)).toBeUndefined();
  });

  it('stays exact when two tokens share the characters that key the recent map', () => {
    const cache = new VerifiedTokenCache<Entry>(100, 10);
    const tail = 'x'.repeat(40);
    cache.set(`first.${tail}`, entry('first'));
    cache.set(`second.${tail}`, entry('second'));
    expect(cache.get(`first.${tail}`, 0)?.name).toBe('first');
    expect(cache.get(`second.${tail}`, 0)?.name).toBe('second');
    expect(cache.get(`third.${tail}`, 0)).toBeUndefined();
  });

  it('keys the main map by SHA-256, so entries outlive the small recent-token map', () => {
    const cache = new VerifiedTokenCache<Entry>(1000, 2);
    for (let i = 0; i < 50; i += 1) cache.set(`token-${i}`, entry(`e${i}`));
    expect(cache.size).toBe(50);
    expect(cache.get('token-0', 0)?.name).toBe('e0');
    expect(cache.get('token-0', 0)?.cacheKey).toBe(tokenCacheKey('token-0'));
    expect(tokenCacheKey('token-0')).toHaveLength(32);
  });

  it('drops an entry once it is no longer valid, from both levels', () => {
    const cache = new VerifiedTokenCache<Entry>(100, 10);
    cache.set('t', entry('t', 5_000));
    expect(cache.get('t', 4_999)?.name).toBe('t');
    expect(cache.get('t', 5_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('is bounded by its capacity', () => {
    const cache = new VerifiedTokenCache<Entry>(100, 10);
    for (let i = 0; i < 1000; i += 1) cache.set(`token-${i}`, entry(`e${i}`));
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.get('token-999', 0)?.name).toBe('e999');
    expect(cache.get('token-0', 0)).toBeUndefined();
  });

  it('deletes single entries and entries selected by a predicate from both levels', () => {
    const cache = new VerifiedTokenCache<Entry>(100, 10);
    const a = entry('a');
    cache.set('ta', a);
    cache.set('tb', entry('b'));
    cache.set('tc', entry('c'));
    cache.delete('ta', a);
    expect(cache.get('ta', 0)).toBeUndefined();
    expect(cache.deleteWhere((e) => e.name === 'b')).toBe(1);
    expect(cache.get('tb', 0)).toBeUndefined();
    expect(cache.get('tc', 0)?.name).toBe('c');
  });
});
