/**
 * Runs the CLI in-process with captured stdout/stderr and an isolated environment and
 * working directory, over real HTTP (the default fetch) unless a test injects another.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { runCli, type CliDeps } from '../../../cli/program';
import { tempDirs } from '../../support/temp-dirs';
import { startFakeApi, type FakeApi } from './fake-api';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CliOverrides = Partial<Omit<CliDeps, 'stdout' | 'stderr'>> & { readonly stdin?: string };

// Registered when a test file imports the harness: that file's afterAll removes every dir.
const scratch = tempDirs('tollgate-cli-');

/** A fresh empty working directory, removed with the importing test file's others. */
export function emptyDir(): string {
  return scratch('cwd-');
}

/** Lines of a table's rows as arrays of cells (split on runs of 2+ spaces). */
export function rows(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(/ {2,}/));
}

/** Writes `.local/state.json` the way `npm start` does. */
export function writeLocalState(cwd: string, state: Record<string, unknown>, dir = '.local'): void {
  mkdirSync(join(cwd, dir), { recursive: true });
  writeFileSync(join(cwd, dir, 'state.json'), JSON.stringify(state), { mode: 0o600 });
}

export async function tollgate(argv: readonly string[], overrides: CliOverrides = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const { stdin, ...deps } = overrides;
  const code = await runCli(argv, {
    env: {},
    cwd: emptyDir(),
    fetch: (input, init) => fetch(input, init),
    stdinIsTty: stdin === undefined,
    readStdin: async () => stdin ?? '',
    cloudFormation: () => {
      throw new Error('this test does not expect CloudFormation calls');
    },
    credentials: () => async () => {
      throw new Error('this test does not expect AWS credentials to be used');
    },
    ...deps,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

/** A CloudFormation client whose endpoint is a local stub. */
export function localCloudFormation(endpoint: string) {
  return (region: string | undefined) =>
    new CloudFormationClient({ region: region ?? 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIDCFN', secretAccessKey: 'cfn-secret' } });
}

/**
 * A fresh fake API per test (admin routes behind `adminToken`), and `run`, which points
 * the CLI at it with that token in the environment unless the test's own env overrides it.
 */
export function useFakeApi(adminToken: string): { readonly api: FakeApi; run(argv: readonly string[], overrides?: CliOverrides): Promise<CliRun> } {
  let current: FakeApi | undefined;
  beforeEach(async () => {
    current = await startFakeApi({ adminToken });
  });
  afterEach(() => current?.close());
  return {
    get api() {
      if (!current) throw new Error('the fake API runs only inside a test');
      return current;
    },
    run(argv, overrides = {}) {
      return tollgate([...argv, '--url', this.api.baseUrl], { ...overrides, env: { TOLLGATE_ADMIN_TOKEN: adminToken, ...overrides.env } });
    },
  };
}
