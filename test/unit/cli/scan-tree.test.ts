import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '../../support/git';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { emptyDir, tollgate } from './harness';

const keyIdOfKey = (key: string) => keyIdOf(hashApiKey(key));

describe('tollgate scan of a git work tree', () => {
  it('finds a key in a committed file that .gitignore lists (git ignores only untracked files), and skips an untracked ignored one', async () => {
    const cwd = emptyDir();
    const [tracked, untracked] = [generateApiKey().apiKey, generateApiKey().apiKey];
    mkdirSync(join(cwd, 'src'));
    writeFileSync(join(cwd, '.gitignore'), '.env\n*.log\n');
    writeFileSync(join(cwd, '.env'), `TOLLGATE_API_KEY=${tracked}\n`);
    writeFileSync(join(cwd, 'src', 'debug.log'), `${untracked}\n`);
    git(cwd, 'init', '-q');
    git(cwd, 'add', '-f', '.env');
    const run = await tollgate(['--json', 'scan', '.'], { cwd });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      findings: [{ file: '.env', line: 1, column: 18, keyId: keyIdOfKey(tracked), prefix: 'tg_' }],
      filesScanned: 2,
      bytesScanned: expect.any(Number),
    });
    // A subdirectory is scanned as git sees it too: the root's *.log applies there.
    expect(await tollgate(['scan', 'src'], { cwd })).toEqual({ code: 0, stdout: 'No Tollgate API keys in 0 file(s).\n', stderr: '' });
    // Named explicitly, a file is scanned even if ignored.
    expect((await tollgate(['scan', 'src/debug.log'], { cwd })).code).toBe(1);
    expect(run.stdout + run.stderr).not.toContain(tracked);
  });

  it("says the scan is incomplete when git will not list a repository (another user's, a broken .git), instead of passing it quietly", async () => {
    const cwd = emptyDir();
    const key = generateApiKey().apiKey;
    writeFileSync(join(cwd, '.gitignore'), '.env\n');
    writeFileSync(join(cwd, '.env'), `KEY=${key}\n`);
    // What git answers for a repository it refuses, as for one whose .git points nowhere: exit 128.
    writeFileSync(join(cwd, '.git'), 'gitdir: /nonexistent/repository\n');
    const run = await tollgate(['--json', 'scan', '.'], { cwd });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(
      /^tollgate: [^\n]+: git will not list this repository \(fatal: .*safe\.directory\), so it was walked and committed files that \.gitignore lists were skipped, not read\n/,
    );
    expect(JSON.parse(run.stdout)).toMatchObject({ findings: [], unreadable: [expect.any(String)] });

    // The same one level down: a nested repository git refuses, scanned from a work tree above it.
    const top = emptyDir();
    const sub = join(top, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, '.gitignore'), '.env\n');
    writeFileSync(join(sub, '.env'), `KEY=${key}\n`);
    git(sub, 'init', '-q');
    git(sub, 'add', '-f', '.gitignore', '.env');
    git(sub, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'sub');
    git(top, 'init', '-q');
    // An embedded repository (a gitlink in the top's index), whose .git then goes bad.
    git(top, 'add', 'sub');
    rmSync(join(sub, '.git'), { recursive: true, force: true });
    writeFileSync(join(sub, '.git'), 'gitdir: /nonexistent/repository\n');
    const nested = await tollgate(['--json', 'scan', '.'], { cwd: top });
    expect(nested.code).toBe(4);
    expect(nested.stderr).toContain('git will not list this repository');
    // Inside a git directory there is no work tree to list: walked, no complaint.
    expect((await tollgate(['scan', '.git/hooks'], { cwd: top })).code).toBe(0);
  });

  it('prints a file name with control characters escaped, so a scanned tree cannot forge output lines or drive the terminal (JSON keeps it whole)', async () => {
    const cwd = emptyDir();
    const name = 'a\n::error file=x::all clear\n\u001b]0;pwned\u0007 b';
    writeFileSync(join(cwd, name), `${generateApiKey().apiKey}\n`);
    const text = await tollgate(['scan', '.'], { cwd });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^a\\x0a::error file=x::all clear\\x0a\\x1b\]0;pwned\\x07 b:1:1: Tollgate API key key_/);
    // Nothing but the line ends the CLI writes itself is a control character.
    expect([...text.stdout].filter((c) => c.charCodeAt(0) < 0x20 && c !== '\n')).toEqual([]);
    const json = await tollgate(['--json', 'scan', '.'], { cwd });
    expect((JSON.parse(json.stdout) as { findings: { file: string }[] }).findings[0]!.file).toBe(name);
  });

  it('scans a clone whose submodule was never checked out (an empty directory git lists), and a gitlink over a plain directory, without looping', async () => {
    const root = emptyDir();
    const [sub, superproject, clone] = [join(root, 'sub'), join(root, 'super'), join(root, 'clone')] as const;
    const [outside, inside] = [generateApiKey().apiKey, generateApiKey().apiKey];
    mkdirSync(sub);
    writeFileSync(join(sub, 'README'), 'sub\n');
    git(sub, 'init', '-q');
    git(sub, 'add', '.');
    git(sub, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'sub');
    mkdirSync(superproject);
    git(superproject, 'init', '-q');
    git(superproject, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'lib/sub');
    writeFileSync(join(superproject, 'config.env'), `KEY=${outside}\n`);
    git(superproject, 'add', '.');
    git(superproject, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'super');
    git(root, 'clone', '-q', superproject, clone);
    const run = await tollgate(['--json', 'scan', '.'], { cwd: clone });
    expect(run.code, run.stderr).toBe(1);
    expect((JSON.parse(run.stdout) as { findings: { file: string }[] }).findings.map((f) => f.file)).toEqual(['config.env']);
    // The empty submodule directory named on its own, and files dropped into it: walked, not listed again and again.
    expect((await tollgate(['scan', 'lib/sub'], { cwd: clone })).code).toBe(0);
    writeFileSync(join(clone, 'lib', 'sub', 'notes.txt'), `${inside}\n`);
    const within = await tollgate(['--json', 'scan', '.'], { cwd: clone });
    expect((JSON.parse(within.stdout) as { findings: { file: string }[] }).findings.map((f) => f.file)).toEqual(['config.env', 'lib/sub/notes.txt']);
  });

  it('reports a key in a file or directory name as a finding with its key id (a directory once), and prints every path redacted', async () => {
    const cwd = emptyDir();
    const [inFile, inDir, inContent] = [generateApiKey().apiKey, generateApiKey(undefined, 'acme_').apiKey, generateApiKey().apiKey];
    mkdirSync(join(cwd, `dir-${inDir}`));
    writeFileSync(join(cwd, `${inFile}.txt`), 'nothing\n');
    writeFileSync(join(cwd, `backup-${inFile}.env`), 'nothing\n');
    writeFileSync(join(cwd, `dir-${inDir}`, 'a.txt'), `${inContent}\n`);
    writeFileSync(join(cwd, `dir-${inDir}`, 'b.txt'), 'x\n');
    const json = await tollgate(['--json', 'scan', '.'], { cwd });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).findings).toEqual([
      { file: 'backup-tg_<redacted>.env', line: 1, column: 8, keyId: keyIdOfKey(inFile), prefix: 'tg_', inName: true },
      { file: 'dir-acme_<redacted>', line: 1, column: 5, keyId: keyIdOfKey(inDir), prefix: 'acme_', inName: true },
      { file: 'dir-acme_<redacted>/a.txt', line: 1, column: 1, keyId: keyIdOfKey(inContent), prefix: 'tg_' },
      { file: 'tg_<redacted>.txt', line: 1, column: 1, keyId: keyIdOfKey(inFile), prefix: 'tg_', inName: true },
    ]);
    const text = await tollgate(['scan', '.'], { cwd });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`dir-acme_<redacted>: Tollgate API key ${keyIdOfKey(inDir)} in this name, at 1:5 (prefix acme_)\n`);
    for (const key of [inFile, inDir, inContent]) expect(json.stdout + json.stderr + text.stdout + text.stderr).not.toContain(key.slice(-20));
  });
});
