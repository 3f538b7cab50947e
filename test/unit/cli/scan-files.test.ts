import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { git, relativeTo } from '../../support/git';
import { listFiles } from '../../../cli/scan-files';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { tempDirs } from '../../support/temp-dirs';
import { tollgate } from './harness';

const scratch = tempDirs('tollgate-scan-files-');

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

describe.skipIf(process.platform === 'win32')('listFiles never reads through a symbolic link below the scanned directory', () => {
  it('a tracked a/credentials, after the directory a was replaced by a link to a directory outside the tree holding a key, is not read', async () => {
    const root = scratch('linked-');
    const outside = scratch('outside-');
    const key = generateApiKey().apiKey;
    writeFileSync(join(outside, 'credentials'), `TOLLGATE_API_KEY=${key}\n`);
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'credentials'), 'nothing\n');
    writeFileSync(join(root, 'b.txt'), 'x');
    git(root, 'init', '-q');
    git(root, 'add', '.');
    rmSync(join(root, 'a'), { recursive: true });
    symlinkSync(outside, join(root, 'a'));
    expect(git(root, 'ls-files', '--cached').split('\n')).toContain('a/credentials');
    expect(relativeTo(root, listFiles(root).files)).toEqual(['b.txt']);
    const run = await tollgate(['--json', 'scan', '.'], { cwd: root });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ findings: [], filesScanned: 1, bytesScanned: 1 });
    expect(run.stdout + run.stderr).not.toContain(key.slice(-20));
    // The scanned directory itself may be reached through a link: only links below it count.
    const viaLink = join(scratch('via-'), 'repo');
    symlinkSync(root, viaLink);
    expect(relativeTo(viaLink, listFiles(viaLink).files)).toEqual(['b.txt']);
  });
});
