/**
 * The deployed bundles on the Node.js major they run on in AWS (`LAMBDA_NODE_MAJOR`), not
 * only on the Node.js that runs the tests: `npm start -- --bundled` with that Node.js first
 * on PATH, so npm, local mode and every function run on it, driven by `tollgate smoke`
 * (the authorizer, token, admin and fan-out functions; the rotation function runs at
 * start) and by a usage read (the metering function). Node.js itself comes from
 * `test/support/lambda-node.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_NODE_MAJOR } from '../../common/functions';
import { lambdaNode, type LambdaNode } from '../support/lambda-node';
import { killSpawned, startLocal, stopLocal, type Running } from '../support/local-process';
import { tollgate } from '../unit/cli/harness';

afterAll(killSpawned);

/** Bounds the wait for the metering function's first delivery (about one a second), never a measured speed. */
const USAGE_WAIT_MS = 30_000;

describe(`npm start --bundled on Node.js ${LAMBDA_NODE_MAJOR}, the functions' runtime in AWS`, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-runtime-'));
  let node: LambdaNode;
  let local: Running | undefined;

  beforeAll(async () => {
    node = lambdaNode();
    local = await startLocal(stateDir, true, { PATH: `${dirname(node.path)}:${process.env.PATH}` }, ['--bundled']);
  }, 180_000);

  afterAll(async () => {
    await stopLocal(local);
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it('runs the bundles as deployed, on that Node.js, and says so', () => {
    expect(local!.output()).toContain(`  functions      bundles as deployed, from ${join(stateDir, 'data', 'functions')}/`);
    expect(local!.output()).toContain(`  Node.js        ${node.version}, the major the functions run on in AWS\n`);
  });

  it('passes every smoke step, and meters the requests', async () => {
    const run = await tollgate(['smoke', '--url', local!.url, '--json'], { env: { TOLLGATE_ADMIN_TOKEN: local!.adminToken } });
    expect(run.stderr).toBe('');
    const results = JSON.parse(run.stdout) as { step: string; status: string; detail?: string }[];
    expect(results.filter((r) => r.status !== 'pass')).toEqual([]);
    expect(results).toHaveLength(9);
    expect(run.code).toBe(0);

    const clientId = /client (smoke-[0-9a-f]+)/.exec(results[0]!.detail ?? '')?.[1];
    expect(clientId).toBeDefined();
    const since = Math.floor(Date.now() / 1000) - 600;
    const waitedFrom = Date.now();
    let allowed = 0;
    while (allowed === 0 && Date.now() - waitedFrom < USAGE_WAIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const usage = await fetch(`${local!.url}/admin/clients/${clientId}/usage?from=${since}`, { headers: { Authorization: `Bearer ${local!.adminToken}` } });
      expect(usage.status).toBe(200);
      allowed = ((await usage.json()) as { totals: { allowed: number } }).totals.allowed;
    }
    expect(allowed).toBeGreaterThan(0);
  }, 120_000);
});
