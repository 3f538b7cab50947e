/**
 * DynamoDB's wire format (`AttributeValue`, DynamoDB API Reference "AttributeValue") to
 * plain values and back, converting as `@aws-sdk/util-dynamodb`'s `unmarshall` does with
 * its defaults (pinned by a differential property test, test/unit/authorizer/attribute-values.test.ts):
 * numbers outside the safe integer range become `BigInt`, sets become `Set`s, binary
 * becomes `Uint8Array`. Only what the authorizer's reads need is marshalled: strings and
 * numbers in key conditions and start keys.
 */

import type { Item } from '../dynamodb-query';

export type AttributeValue = Readonly<Record<string, unknown>>;

export class AttributeValueError extends Error {
  override readonly name = 'AttributeValueError';
}

export function unmarshallItem(item: unknown): Item {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new AttributeValueError('an item is not a map of attribute values');
  const out: Item = {};
  for (const [name, value] of Object.entries(item)) out[name] = unmarshallValue(value);
  return out;
}

export function unmarshallValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) throw new AttributeValueError('an attribute value is not an object');
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new AttributeValueError('an attribute value has not exactly one type');
  const [type, v] = entries[0]!;
  switch (type) {
    case 'S':
      return expectString(v);
    case 'N':
      return number(expectString(v));
    case 'BOOL':
      if (typeof v !== 'boolean') throw new AttributeValueError('BOOL is not a boolean');
      return v;
    case 'NULL':
      return null;
    case 'B':
      return binary(v);
    case 'M':
      return unmarshallItem(v);
    case 'L':
      return expectArray(v).map(unmarshallValue);
    case 'SS':
      return new Set(expectArray(v).map(expectString));
    case 'NS':
      return new Set(expectArray(v).map((n) => number(expectString(n))));
    case 'BS':
      return new Set(expectArray(v).map(binary));
    default:
      throw new AttributeValueError(`unsupported attribute type ${type}`);
  }
}

/** Key-condition values and start keys: strings and numbers. */
export function marshallItem(item: Readonly<Record<string, string | number>>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(item)) out[name] = marshallValue(value);
  return out;
}

export function marshallValue(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number' && Number.isFinite(value)) return { N: String(value) };
  throw new AttributeValueError(`cannot marshall a ${typeof value} as a key value`);
}

/** As util-dynamodb: a finite number beyond the safe integer range is a BigInt (never a rounded number). */
function number(text: string): number | bigint {
  const value = Number(text);
  if ((value > Number.MAX_SAFE_INTEGER || value < Number.MIN_SAFE_INTEGER) && Number.isFinite(value)) {
    try {
      return BigInt(text);
    } catch {
      throw new AttributeValueError(`${text} can't be converted to BigInt`);
    }
  }
  return value;
}

function binary(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(expectString(value), 'base64'));
}

function expectString(value: unknown): string {
  if (typeof value !== 'string') throw new AttributeValueError('a string-typed attribute value is not a string');
  return value;
}

function expectArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new AttributeValueError('a list or set attribute value is not an array');
  return value;
}
