/**
 * `tollgate scan` of a tree it cannot wholly read: an unreadable file or directory is one
 * `tollgate: <path>: <code>, not read` line on stderr (its path redacted), the rest is still
 * scanned, and the exit status is 4 when nothing was found in the rest (1 when a key was), so
 * CI never passes a tree the scan did not read; in a work tree, a `git ls-files` that fails
 * fails the scan (4). Outside a work tree, a name that is not UTF-8 is reported so too. The tests may run as root, for whom permissions do not stop a read:
 * the refusal is made where the scan meets it, at `node:fs`, and for a work tree by a `git`
 * first on PATH that warns as git does about a directory it cannot open, or fails.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { emptyDir, tollgate } from './harness';

/** A path holding this word cannot be opened or listed. */
const LOCKED = 'locked';
/** A path holding this word is gone when looked at (deleted after its directory was listed). */
const VANISHED = 'vanished';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const refuse = (path: unknown) => {
    if (String(path).includes(LOCKED)) throw Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES' });
  };
  return {
    ...fs,
    openSync: (...args: Parameters<typeof fs.openSync>) => {
      refuse(args[0]);
      return fs.openSync(...args);
    },
    readdirSync: ((...args: Parameters<typeof fs.readdirSync>) => {
      refuse(args[0]);
      return fs.readdirSync(...args);
    }) as typeof fs.readdirSync,
    lstatSync: ((...args: Parameters<typeof fs.lstatSync>) => {
      if (String(args[0]).includes(VANISHED)) {
        // As node:fs does: undefined for a missing entry when asked not to throw.
        if (args[1]?.throwIfNoEntry === false) return undefined;
        throw Object.assign(new Error(`ENOENT: no such file or directory, lstat '${String(args[0])}'`), { code: 'ENOENT' });
      }
      return fs.lstatSync(...args);
    }) as typeof fs.lstatSync,
  };
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function tree(): { cwd: string; named: string } {
  const cwd = emptyDir();
  // Key-shaped, its checksum broken: no finding, but redacted all the same.
  const key = generateApiKey().apiKey;
  const named = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
  mkdirSync(join(cwd, `${LOCKED}-dir`));
  writeFileSync(join(cwd, `${LOCKED}-dir`, 'a.txt'), 'x\n');
  writeFileSync(join(cwd, `${LOCKED}-${named}.txt`), 'x\n');
  writeFileSync(join(cwd, 'ok.txt'), 'nothing here\n');
  return { cwd, named };
}

describe('tollgate scan of a tree it cannot wholly read', () => {
  it('reports an unreadable file and an unreadable directory on stderr, scans the rest, and exits 4 when it found nothing there', async () => {
    const { cwd, named } = tree();
    const run = await tollgate(['scan', '.'], { cwd });
    expect(run.code).toBe(4);
    expect(run.stderr.split('\n')).toEqual([
      `tollgate: ${LOCKED}-dir: EACCES, not read`,
      `tollgate: ${LOCKED}-tg_<redacted>.txt: EACCES, not read`,
      'tollgate: 2 file(s) or director(ies) could not be read (above): the scan is incomplete',
      '',
    ]);
    expect(run.stdout).toBe('No Tollgate API keys in 2 file(s). 2 file(s) or director(ies) could not be read.\n');
    const json = await tollgate(['--json', 'scan', '.'], { cwd });
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ unreadable: [`${LOCKED}-dir`, `${LOCKED}-tg_<redacted>.txt`], filesScanned: 2 });
    expect(run.stdout + run.stderr + json.stdout + json.stderr).not.toContain(named.slice(-20));
  });

  it('exits 4, not 0, when nothing was found and something was not read; 1 when a key was found in the rest', async () => {
    const cwd = emptyDir();
    mkdirSync(join(cwd, LOCKED));
    writeFileSync(join(cwd, 'ok.txt'), 'nothing here\n');
    const clean = await tollgate(['--json', 'scan', '.'], { cwd });
    expect(clean.code).toBe(4);
    expect(JSON.parse(clean.stdout)).toEqual({ findings: [], filesScanned: 1, bytesScanned: 13, unreadable: [LOCKED] });
    const key = generateApiKey().apiKey;
    writeFileSync(join(cwd, 'ok.txt'), `${key}\n`);
    const found = await tollgate(['scan', '.'], { cwd });
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/^1 Tollgate API key\(s\) in 1 file\(s\)\. 1 file\(s\) or director\(ies\) could not be read\. Revoke them/m);
  });

  it.skipIf(process.platform !== 'linux')(
    'outside a work tree, a file or directory whose name is not UTF-8 is reported as not read, never silently dropped',
    async () => {
      const cwd = emptyDir();
      const [hidden, inDir, control] = [generateApiKey().apiKey, generateApiKey().apiKey, generateApiKey().apiKey];
      // Linux names are bytes: 0xff is never UTF-8.
      const bad = (name: string, rest = '') => Buffer.concat([Buffer.from(join(cwd, name)), Buffer.from([0xff]), Buffer.from(rest)]);
      writeFileSync(bad('secret', '.env'), `TOLLGATE_API_KEY=${hidden}\n`);
      mkdirSync(bad('conf'));
      writeFileSync(bad('conf', '/app.env'), `TOLLGATE_API_KEY=${inDir}\n`);
      writeFileSync(join(cwd, 'ok.env'), 'nothing here\n');
      const notRead = [`tollgate: conf\uFFFD: the name is not UTF-8, not read`, `tollgate: secret\uFFFD.env: the name is not UTF-8, not read`];
      const clean = await tollgate(['scan', '.'], { cwd });
      expect(clean).toEqual({
        code: 4,
        stdout: 'No Tollgate API keys in 1 file(s). 2 file(s) or director(ies) could not be read.\n',
        stderr: [...notRead, 'tollgate: 2 file(s) or director(ies) could not be read (above): the scan is incomplete', ''].join('\n'),
      });
      writeFileSync(join(cwd, 'ok.env'), `${control}\n`);
      const found = await tollgate(['scan', '.'], { cwd });
      expect(found.code).toBe(1);
      expect(found.stdout).toMatch(/^ok\.env:1:1: Tollgate API key key_/);
      expect(found.stderr.split('\n').slice(0, 2)).toEqual(notRead);
      for (const key of [hidden, inDir, control]) expect(clean.stdout + clean.stderr + found.stdout + found.stderr).not.toContain(key.slice(-20));
    },
  );

  it('outside a work tree, an entry listed but gone when looked at is reported as not read', async () => {
    const cwd = emptyDir();
    writeFileSync(join(cwd, `${VANISHED}.txt`), 'x\n');
    writeFileSync(join(cwd, 'ok.txt'), 'nothing here\n');
    expect(await tollgate(['scan', '.'], { cwd })).toEqual({
      code: 4,
      stdout: 'No Tollgate API keys in 1 file(s). 1 file(s) or director(ies) could not be read.\n',
      stderr: `tollgate: ${VANISHED}.txt: ENOENT, not read\ntollgate: 1 file(s) or director(ies) could not be read (above): the scan is incomplete\n`,
    });
  });

  /** A work tree, and a `git` first on PATH that runs `onLsFiles` (shell) before a `git ls-files`, then the real git. */
  function workTreeWithGit(onLsFiles: string): string {
    const cwd = emptyDir();
    writeFileSync(join(cwd, 'ok.txt'), 'nothing here\n');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    execFileSync(realGit, ['init', '-q'], { cwd });
    const bin = emptyDir();
    writeFileSync(join(bin, 'git'), `#!/bin/sh\nif [ "$3" = ls-files ]; then ${onLsFiles}; fi\nexec ${realGit} "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    vi.stubEnv('PATH', `${bin}:${process.env.PATH ?? ''}`);
    return cwd;
  }

  it('in a git work tree, a failing git ls-files fails the scan (exit 4), never a walk that may miss tracked files', async () => {
    const cwd = workTreeWithGit('echo "fatal: index file corrupt" >&2; exit 128');
    expect(await tollgate(['scan', '.'], { cwd })).toEqual({
      code: 4,
      stdout: '',
      stderr: `tollgate: git ls-files failed in ${cwd}: fatal: index file corrupt\n`,
    });
  });

  it('in a git work tree, a directory git warns it could not open counts as not read', async () => {
    const cwd = workTreeWithGit(`echo "warning: could not open directory 'secret/': Permission denied" >&2`);
    const run = await tollgate(['scan', '.'], { cwd });
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      `tollgate: ${cwd}: git: warning: could not open directory 'secret/': Permission denied, not read\n` +
        'tollgate: 1 file(s) or director(ies) could not be read (above): the scan is incomplete\n',
    );
  });
});
