/**
 * IAM condition blocks the grants share. A multivalued context key (`aws:TagKeys`,
 * `events:source`, `dynamodb:Attributes`) needs a set operator, and `ForAllValues` over an
 * absent key is true (IAM User Guide, "Multivalued context keys"): a request that carries no
 * value at all would pass unless a `Null` check requires the key.
 */

/** Every value of the multivalued `key` is one of `values`, and the request carries the key. */
export function onlyValues(key: string, values: readonly string[]): { 'ForAllValues:StringEquals': Record<string, string[]>; Null: Record<string, string> } {
  return { 'ForAllValues:StringEquals': { [key]: [...values] }, Null: { [key]: 'false' } };
}
