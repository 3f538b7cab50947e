/**
 * Near misses of a known name (a setting, a config key): the same letters in another case,
 * or one or two typos. Where a misspelled name would otherwise be ignored silently, the
 * refusal names the one that was meant.
 */

/** The candidate `name` is a near miss of; candidates shorter than `minLength` only match case-insensitively. */
export function nearMiss<T extends string>(name: string, candidates: readonly T[], minLength: number): T | undefined {
  const lower = name.toLowerCase();
  return candidates.find((candidate) => {
    const target = candidate.toLowerCase();
    return lower === target || (target.length >= minLength && editDistance(lower, target) <= 2);
  });
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
