/**
 * What `listFiles` (the files `tollgate scan` reads in a directory) runs and reads when the
 * scanned tree is hostile: a `git` planted in it never runs, whatever PATH holds (an empty or
 * a relative entry is looked up from the scanned directory), and git still lists the tree.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listFiles } from '../../../cli/scan-files';
import { tempDirs } from '../../support/temp-dirs';

const scratch = tempDirs('tollgate-scan-files-');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });
const relativeTo = (root: string, files: Iterable<string>) => [...files].map((file) => relative(root, file).split('\\').join('/')).sort();

afterEach(() => {
  vi.unstubAllEnvs();
});

/** A work tree with a committed file and, at `plantedAt`, a `git` that writes `marker` and fails. */
function plantedGit(plantedAt: string): { root: string; marker: string } {
  const root = scratch('planted-');
  const marker = join(scratch('marker-'), 'ran');
  writeFileSync(join(root, 'a.txt'), 'x');
  git(root, 'init', '-q');
  git(root, 'add', 'a.txt');
  mkdirSync(join(root, plantedAt), { recursive: true });
  writeFileSync(join(root, plantedAt, 'git'), `#!/bin/sh\necho ran > '${marker}'\nexit 1\n`);
  chmodSync(join(root, plantedAt, 'git'), 0o755);
  return { root, marker };
}

describe.skipIf(process.platform === 'win32')('listFiles never runs a git from the scanned tree', () => {
  it('with an empty PATH entry first (PATH=":$PATH"), the planted git does not run and the real git lists the tree', () => {
    const { root, marker } = plantedGit('');
    vi.stubEnv('PATH', `:${process.env.PATH ?? ''}`);
    const listed = listFiles(root);
    expect(existsSync(marker)).toBe(false);
    expect(listed.source).toBe('git');
    expect(relativeTo(root, listed.files)).toEqual(['a.txt', 'git']);
  });

  it('a relative PATH entry is ignored (bin/ under the scanned directory)', () => {
    const { root, marker } = plantedGit('bin');
    vi.stubEnv('PATH', `bin:./bin:${process.env.PATH ?? ''}`);
    const listed = listFiles(root);
    expect(existsSync(marker)).toBe(false);
    expect(listed.source).toBe('git');
    expect(relativeTo(root, listed.files)).toEqual(['a.txt', 'bin/git']);
  });

  it('with no git on an absolute PATH entry, the directory is walked (as without git)', () => {
    const { root, marker } = plantedGit('');
    vi.stubEnv('PATH', '.:bin:');
    const listed = listFiles(root);
    expect(existsSync(marker)).toBe(false);
    expect(listed.source).toBe('walk');
    expect(relativeTo(root, listed.files)).toEqual(['a.txt', 'git']);
  });
});
