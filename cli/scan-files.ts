/**
 * The files `tollgate scan` reads under a directory, as git sees them. Inside a git work tree
 * the list is git's own (`git ls-files --cached --others --exclude-standard`): every tracked
 * file, even one a `.gitignore` lists (git ignores only untracked files, so a key in a
 * committed `.env` added with `git add -f` is in the repository), and every untracked file
 * not ignored. Outside a work tree, or when git cannot be run, `.gitignore` files are applied
 * by `walkFiles`, which sees every file as untracked.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, realpathSync, type Stats, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { CliError, ExitCode } from './errors';
import { fileName, type Unreadable, walkFiles } from './gitignore';

/** How long one git command may take before the scan gives up on it (a huge repository lists in seconds). */
const GIT_TIMEOUT_MS = 120_000;
/** Room for git's list: a million paths of 500 bytes. */
const GIT_MAX_BUFFER = 512 * 1024 * 1024;

export type FileSource = 'git' | 'walk';

/** Git, inside a work tree, failed to list it: the scan cannot know what it missed (exit 4, never 0). */
export class GitListingFailed extends CliError {
  readonly exitCode = ExitCode.internal;
}

interface GitRun {
  readonly ok: boolean;
  readonly stdout: Buffer;
  /** What git said on stderr: a warning on success (`could not open directory 'x/'`), the reason on failure. */
  readonly stderr: string;
}

/**
 * Variables that point git at a repository other than the one `cwd` is in: a git hook runs
 * with `GIT_DIR` (and `GIT_INDEX_FILE`) set, and with `GIT_DIR` alone git takes `cwd` for the
 * top of the work tree, so a subdirectory's list would name files that are not there.
 */
const REPOSITORY_VARIABLES = /^GIT_(DIR|WORK_TREE|INDEX_FILE|COMMON_DIR|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE|PREFIX)$/;

/** The git found for each PATH value (it is looked up once, not per directory). */
const gitPaths = new Map<string, string | undefined>();

/**
 * The absolute path of git, from PATH's absolute entries only; undefined when none holds an
 * executable regular file `git` (`git.exe` on Windows). Git runs with the scanned directory as
 * its working directory, and a bare `git` would be looked up there too: on Linux through an
 * empty or relative PATH entry (`PATH=":$PATH"`), on Windows always (libuv searches the working
 * directory first), so a `git` planted in the scanned tree would run.
 */
function gitPath(): string | undefined {
  const path = process.env.PATH ?? '';
  if (!gitPaths.has(path)) {
    const name = process.platform === 'win32' ? 'git.exe' : 'git';
    const dirs = path.split(delimiter).filter((dir) => dir !== '' && isAbsolute(dir));
    gitPaths.set(
      path,
      dirs.map((dir) => join(dir, name)).find((file) => isExecutableFile(file)),
    );
  }
  return gitPaths.get(path);
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Runs git (by absolute path, {@link gitPath}) in `cwd` with no shell and a timeout, finding
 * the repository from `cwd` alone; `-c core.fsmonitor=false` so that a scanned repository's
 * own config cannot make git run a command of its choosing (an fsmonitor hook runs on
 * `ls-files`). Undefined when git is not found.
 */
function git(cwd: string, args: readonly string[]): GitRun | undefined {
  const executable = gitPath();
  if (executable === undefined) return undefined;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !REPOSITORY_VARIABLES.test(name)));
  const run = spawnSync(executable, ['-c', 'core.fsmonitor=false', ...args], {
    cwd,
    env,
    timeout: GIT_TIMEOUT_MS,
    maxBuffer: GIT_MAX_BUFFER,
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  const stderr = run.stderr?.toString('utf8').trim() ?? '';
  if (run.error) return { ok: false, stdout: Buffer.alloc(0), stderr: run.error.message };
  if (run.signal) return { ok: false, stdout: Buffer.alloc(0), stderr: `stopped (${run.signal}) after ${GIT_TIMEOUT_MS / 1000} s` };
  return { ok: run.status === 0, stdout: run.stdout, stderr };
}

/** Where `dir` is in its git work tree: the tree's top and `dir` relative to it ('' at the top); undefined outside one, inside `.git`, or without git. */
function workTreeOf(dir: string): { top: string; prefix: string } | undefined {
  // Exit 128: not a repository, or one git refuses (another user's, not in safe.directory).
  const run = git(dir, ['rev-parse', '--is-inside-work-tree', '--show-toplevel', '--show-prefix']);
  const [inside, top, prefix] = run?.ok ? run.stdout.toString('utf8').split('\n') : [];
  return inside === 'true' && top ? { top, prefix: (prefix ?? '').replace(/\/$/, '') } : undefined;
}

/**
 * Whether git ignores the directory `prefix` of the work tree at `top` (a directory named
 * explicitly: the user asked for it, as for a file). Asked from the top with the directory's
 * path: asked as `.` from inside, `deep/**` would count `deep` itself as ignored.
 */
function ignoredByGit(top: string, prefix: string): boolean {
  return prefix !== '' && git(top, ['check-ignore', '-q', '--', prefix])?.ok === true;
}

/**
 * Every file to scan under `root` (absolute paths, in a stable order) and where the list came
 * from. A directory git ignores, named explicitly, is walked with its own `.gitignore` files.
 * A path git lists that is not a regular file is skipped: a tracked file deleted from the
 * work tree, a symbolic link (git records the link, not its target), a path through a
 * directory that is now a symbolic link. A submodule (git lists
 * its directory) is listed by its own git; one never checked out, by the walk. Whatever git warns about while listing (a
 * directory it could not open) and a name that is not UTF-8 (it cannot be opened by name
 * here) go to `unreadable`.
 */
export function listFiles(root: string, unreadable: Unreadable = () => {}): { files: string[]; source: FileSource } {
  const walked = () => ({ files: [...walkFiles(root, unreadable)], source: 'walk' as const });
  const tree = workTreeOf(root);
  if (tree === undefined) {
    // A repository git refuses or cannot read: the walk applies .gitignore to committed files too, so say the scan is incomplete.
    const refused = refusedRepository(root);
    if (refused !== undefined) unreadable(root, new Error(refused));
    return walked();
  }
  if (ignoredByGit(tree.top, tree.prefix)) return walked();
  const listing = git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  if (listing === undefined) return walked();
  // Printed through the CLI's failure line, which redacts keys in the path.
  if (!listing.ok) throw new GitListingFailed(`git ls-files failed in ${root}: ${listing.stderr.split('\n')[0]}`);
  for (const line of listing.stderr.split('\n').filter(Boolean)) unreadable(root, new Error(`git: ${line}`));
  const files: string[] = [];
  const realRoot = realpathSync.native(root);
  for (const path of namesOf(listing.stdout, root, unreadable)) {
    const absolute = join(root, ...path.split('/'));
    const stat = inTree(absolute, join(realRoot, ...path.split('/')), unreadable);
    if (stat?.isFile()) files.push(absolute);
    else if (stat?.isDirectory()) files.push(...(isWorkTreeTop(absolute) ? listFiles(absolute, unreadable).files : walkedSubmodule(absolute, unreadable)));
  }
  return { files, source: 'git' };
}

/**
 * A directory git lists that is no work tree's top: a submodule never checked out (walked),
 * or one whose own git refuses it (another user's, a broken `.git`: walked, and reported as
 * not fully read, as {@link listFiles} reports a refused root).
 */
function walkedSubmodule(dir: string, unreadable: Unreadable): string[] {
  if (existsSync(join(dir, '.git'))) {
    const refused = refusedRepository(dir);
    if (refused !== undefined) unreadable(dir, new Error(refused));
  }
  return [...walkFiles(dir, unreadable)];
}

/**
 * Why git would not list `dir` although it is in a repository (a `.git` in it or above it):
 * another user's repository not in `safe.directory`, git not found, a broken `.git`.
 * Undefined outside any repository.
 */
function refusedRepository(dir: string): string | undefined {
  // Outside any repository (the usual walk) this costs no git process.
  for (let current = dir; !existsSync(join(current, '.git')); current = dirname(current)) {
    if (dirname(current) === current) return undefined;
  }
  const run = git(dir, ['rev-parse', '--is-inside-git-dir']);
  // Inside the git directory itself (`.git/hooks`) there is no work tree to list: a plain walk.
  if (run?.ok && run.stdout.toString('utf8').trim() === 'true') return undefined;
  const why = run === undefined ? 'git is not found in PATH' : run.stderr.split('\n')[0] || 'not a work tree';
  return `git will not list this repository (${why}; for another user's repository, add it to safe.directory), so it was walked and committed files that .gitignore lists were skipped`;
}

/**
 * Whether `dir` is the top of a work tree of its own (a checked-out submodule, a nested
 * repository), which its own git lists. A submodule never checked out is a plain directory
 * of the superproject, which lists it as `./` from inside: it is walked instead.
 */
function isWorkTreeTop(dir: string): boolean {
  return workTreeOf(dir)?.prefix === '';
}

/**
 * What `absolute` is, when no part of it below the scanned root is a symbolic link (its real
 * path is `expected`, the root's real path and the listed path); undefined otherwise, or when
 * it is gone. Git lists a tracked `a/credentials` even after the directory `a` was replaced
 * by a link to elsewhere, and reading through it would read outside the tree: the walk never
 * follows a link, so such a path is skipped as the walk skips a link, unreported.
 */
function inTree(absolute: string, expected: string, unreadable: Unreadable): Stats | undefined {
  try {
    if (realpathSync.native(absolute) !== expected) return undefined;
    return lstatSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') unreadable(absolute, error);
    return undefined;
  }
}

/** The NUL-separated names of a `git ls-files -z`, once each (an unmerged file is listed per stage), sorted. */
function namesOf(listing: Buffer, root: string, unreadable: Unreadable): string[] {
  const names = new Set<string>();
  for (let start = 0; start < listing.length; ) {
    const end = listing.indexOf(0, start);
    const raw = listing.subarray(start, end === -1 ? listing.length : end);
    start = end === -1 ? listing.length : end + 1;
    const name = fileName(raw, root, unreadable);
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}
