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

/**
 * Standard input: text, raw bytes, pieces of bytes as a pipe delivers them (any iterable,
 * a lazy generator for a large stream), or an error that reading it meets. Both readers see
 * it: the whole-text one (`token --api-key-stdin`) and the raw pieces (`scan`).
 */
export type StdinSource = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Error;

export type CliOverrides = Partial<Omit<CliDeps, 'stdout' | 'stderr'>> & { readonly stdin?: StdinSource };

async function* stdinPieces(source: StdinSource | undefined): AsyncGenerator<Uint8Array> {
  if (source === undefined) return;
  if (source instanceof Error) throw source;
  if (typeof source === 'string') yield Buffer.from(source, 'utf8');
  else if (source instanceof Uint8Array) yield source;
  else yield* source;
}

/** What `nodeDeps().readStdin` does: every piece, decoded as UTF-8. */
async function stdinText(source: StdinSource | undefined): Promise<string> {
  const pieces: Uint8Array[] = [];
  for await (const piece of stdinPieces(source)) pieces.push(piece);
  return Buffer.concat(pieces).toString('utf8');
}

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
    stdinIsPiped: stdin !== undefined,
    readStdin: () => stdinText(stdin),
    stdinBytes: () => stdinPieces(stdin),
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
