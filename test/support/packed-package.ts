/**
 * For the consumer tests of the installable packages (test/packages/): build one package,
 * pack it, and install the tarball offline into a fresh project outside the repository,
 * as a user would. Child processes run asynchronously, so a local stack living in the test's
 * process keeps serving while they run.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion without throwing on a non-zero exit. */
export async function exec(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

/** Runs a command that must succeed; its stdout. */
export async function ok(file: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await exec(file, args, cwd);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** One entry of `npm pack --json`. */
export interface PackEntry {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly { readonly path: string }[];
}

export interface InstalledPackage {
  /** `packages/<folder>` in the repository. */
  readonly packageDir: string;
  readonly packed: PackEntry;
  /** The fresh project the tarball is installed in. */
  readonly app: string;
}

/**
 * Builds `packages/<folder>` alone (the other package's test may be building and packing its
 * own at the same time), packs it into `packDir`, and installs the tarball with
 * `npm install --offline` into `app`, a new project with the given package.json fields.
 */
export async function buildPackAndInstall(
  folder: string,
  packDir: string,
  app: string,
  manifest: Readonly<Record<string, unknown>>,
): Promise<InstalledPackage> {
  const packageDir = join(REPO, 'packages', folder);
  await ok('npm', ['run', 'build', '--', folder], REPO);
  const [packed] = JSON.parse(await ok('npm', ['pack', '--json', '--pack-destination', packDir], packageDir)) as [PackEntry];
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ private: true, ...manifest }, null, 2)}\n`);
  await ok('npm', ['install', '--offline', '--no-audit', '--no-fund', join(packDir, packed.filename)], app);
  return { packageDir, packed, app };
}
