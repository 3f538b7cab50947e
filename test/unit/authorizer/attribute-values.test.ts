/**
 * DynamoDB's wire format decoded as the SDK's `unmarshall` (`@aws-sdk/util-dynamodb`) does
 * it, for any attribute value (a differential property test), and refused when it is not
 * an attribute value at all.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeValueError, marshallItem, unmarshallItem } from '../../../lambda/adapters/dynamodb-http/attribute-values';

const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string().map((S) => ({ S })),
    numberText.map((N) => ({ N })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.constant({ NULL: true }),
    fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 4 }).map((SS) => ({ SS })),
    fc.uniqueArray(fc.integer().map(String), { minLength: 1, maxLength: 4 }).map((NS) => ({ NS })),
    fc.array(tie('value'), { maxLength: 3 }).map((L) => ({ L })),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie('value'), { maxKeys: 3 }).map((M) => ({ M })),
  ),
}));

describe('unmarshallItem', () => {
  it('decodes any item as the SDK does', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), value, { maxKeys: 5 }), (item) => {
        let expected: unknown;
        try {
          expected = unmarshall(item as never);
        } catch {
          // The SDK refuses a number it can neither represent exactly nor as a BigInt (`-1e+21`): so do we.
          expect(() => unmarshallItem(item)).toThrow(AttributeValueError);
          return;
        }
        expect(unmarshallItem(item)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes binary from the base64 of the JSON protocol', () => {
    expect(unmarshallItem({ b: { B: 'AAEC' }, bs: { BS: ['/w=='] } })).toEqual({ b: new Uint8Array([0, 1, 2]), bs: new Set([new Uint8Array([255])]) });
  });

  it('refuses what is not an attribute value', () => {
    for (const item of [
      null,
      [],
      'x',
      { a: null },
      { a: {} },
      { a: { S: 'x', N: '1' } },
      { a: { X: 'y' } },
      { a: { S: 1 } },
      { a: { N: 1 } },
      { a: { BOOL: 'true' } },
      { a: { L: {} } },
      { a: { M: [] } },
      { a: { SS: 'x' } },
      { a: { N: '1e+21' } },
    ]) {
      expect(() => unmarshallItem(item), JSON.stringify(item)).toThrow(AttributeValueError);
    }
  });
});

describe('marshallItem', () => {
  it('encodes key strings and numbers, and nothing else', () => {
    expect(marshallItem({ p: 'ring', n: 42 })).toEqual({ p: { S: 'ring' }, n: { N: '42' } });
    expect(() => marshallItem({ n: Number.NaN })).toThrow(AttributeValueError);
    expect(() => marshallItem({ b: true as never })).toThrow(AttributeValueError);
  });
});
