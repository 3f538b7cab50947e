/**
 * For the consumer tests of the installable packages (test/packages/): build one package,
 * pack it, and install the tarball offline into a fresh project outside the repository,
 * as a user would. Child processes run asynchronously, so a local stack living in the test's
 * process keeps serving while they run.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
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
  readonly integrity: string;
  readonly files: readonly { readonly path: string }[];
}

export interface InstalledPackage {
  /** `packages/<folder>` in the repository. */
  readonly packageDir: string;
  readonly packed: PackEntry;
  /** The fresh project the tarball is installed in. */
  readonly app: string;
}

interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly [field: string]: unknown;
}

/**
 * A package-lock.json for a project depending on `names` at the versions this repository
 * locks: their entries and everything they need, copied from the repository's lockfile
 * (hoisted as there). npm's cache holds the tarballs of the repository's lockfile, not
 * necessarily the registry metadata a resolution by name needs, so the fixture installs from
 * a lockfile, offline, as `npm ci` does.
 */
export function lockfileFor(
  projectName: string,
  names: readonly string[],
  /** Further packages, by name, with their lockfile entry (a `file:` tarball's version, resolved and integrity). */
  extra: Readonly<Record<string, LockEntry & { readonly resolved: string }>> = {},
): { dependencies: Record<string, string>; lockfile: string } {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {};
  /** Node's lookup from the folder at `from`: its own node_modules, then each parent's. */
  const locate = (from: string, name: string): string | undefined => {
    for (let at = from; ; at = at.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const path = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (lock.packages[path]) return path;
      if (!at) return undefined;
    }
  };
  const pending = names.map((name) => {
    const path = locate('', name);
    if (!path) throw new Error(`${name} is not in the repository's lockfile`);
    return path;
  });
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (packages[path]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock.packages[path]!;
    packages[path] = entry;
    const optionalPeers = Object.entries(entry.peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta.optional)
      .map(([name]) => name);
    const needed = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers.includes(name)),
    ];
    for (const name of needed) {
      const found = locate(path, name);
      if (found) pending.push(found);
      else if (!entry.optionalDependencies?.[name]) throw new Error(`${path} needs ${name}, which the repository's lockfile does not hold`);
    }
  }
  const dependencies = Object.fromEntries(names.map((name) => [name, lock.packages[locate('', name)!]!.version!]));
  for (const [name, entry] of Object.entries(extra)) {
    dependencies[name] = entry.resolved;
    packages[`node_modules/${name}`] = entry;
  }
  const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  const lockfile = { name: projectName, lockfileVersion: 3, requires: true, packages: { '': { name: projectName, dependencies }, ...sorted } };
  return { dependencies, lockfile: `${JSON.stringify(lockfile, null, 2)}\n` };
}

/**
 * Builds `packages/<folder>` alone (the other package's test may be building and packing its
 * own at the same time), packs it into `packDir`, and installs the tarball with
 * `npm install --offline` into `app`, a new project with the given package.json fields.
 * With `withLocked`, the project also depends on those packages at the repository's locked
 * versions, and the tarball and they are installed from a lockfile with `npm ci --offline`.
 */
export async function buildPackAndInstall(
  folder: string,
  packDir: string,
  app: string,
  manifest: Readonly<Record<string, unknown>>,
  /** Packages the project depends on too, at the repository's locked versions (see {@link lockfileFor}). */
  withLocked: readonly string[] = [],
): Promise<InstalledPackage> {
  const packageDir = join(REPO, 'packages', folder);
  await ok('npm', ['run', 'build', '--', folder], REPO);
  const [packed] = JSON.parse(await ok('npm', ['pack', '--json', '--pack-destination', packDir], packageDir)) as [PackEntry];
  const tarball = join(packDir, packed.filename);
  if (withLocked.length === 0) {
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ private: true, ...manifest }, null, 2)}\n`);
    await ok('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], app);
    return { packageDir, packed, app };
  }
  // The tarball goes into the lockfile too: `npm install <tarball>` would resolve its peer
  // dependencies by name, which needs registry metadata the cache may not hold.
  const { name, version, license, peerDependencies, engines } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const spec = `file:${relative(app, tarball).split(sep).join('/')}`;
  const locked = lockfileFor(String(manifest.name), withLocked, {
    [name]: { version, resolved: spec, integrity: packed.integrity, license, peerDependencies, engines },
  });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ private: true, ...manifest, dependencies: locked.dependencies }, null, 2)}\n`);
  writeFileSync(join(app, 'package-lock.json'), locked.lockfile);
  await ok('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
  return { packageDir, packed, app };
}
