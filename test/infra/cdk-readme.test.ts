/**
 * packages/cdk/README.md against the package's entry point (`lib/index.ts`): it lists every
 * stack output key the constructs may add, and names everything the package exports.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as entry from '../../lib/index';

const README = readFileSync(resolve(__dirname, '../../packages/cdk/README.md'), 'utf8');
const mentioned = (name: string) => README.includes(`\`${name}\``);

describe('packages/cdk/README.md', () => {
  it('lists every reserved stack output key', () => {
    const keys = [...Object.values(entry.StackOutput), ...Object.values(entry.FUNCTION_NAME_OUTPUT), ...Object.values(entry.TABLE_NAME_OUTPUT)];
    expect(keys.filter((key) => !mentioned(key))).toEqual([]);
  });

  it('names every value the package exports', () => {
    expect(Object.keys(entry).filter((name) => !mentioned(name))).toEqual([]);
  });
});
