/**
 * The files `tollgate scan` reads, against git itself. The fallback walk: on trees with random
 * files and random .gitignore files (nested, negations, anchors, directory-only patterns,
 * `**`, runs of `*`, trailing spaces and tabs), the files it yields are exactly `git
 * ls-files --others --exclude-standard` (every file untracked, so that lists what git does
 * not ignore), and a pattern that makes a backtracking matcher take exponential time is
 * matched in one pass.
 * In a work tree: with some ignored files tracked (`git add -f`), `listFiles` yields every
 * tracked file as well, from the root or from a subdirectory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { git, relativeTo } from '../../support/git';
import { isIgnored, parseGitignore, walkFiles } from '../../../cli/gitignore';
import { listFiles } from '../../../cli/scan-files';
import { tempDirs } from '../../support/temp-dirs';

const scratch = tempDirs('tollgate-gitignore-');

const name = fc.constantFrom('a', 'b', 'build', 'dist', 'x.log', 'keep.log', 'y.txt', 'node_modules', 'deep', '.env', 'z.ts');
const path = fc.array(name, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const pattern = fc.oneof(
  fc.constantFrom(
    '*.log',
    '!keep.log',
    'build/',
    '/dist',
    'node_modules',
    'deep/**',
    '**/b',
    'a/**/z.ts',
    '.env',
    '!.env',
    'a/*',
    '# comment',
    '',
    '*.t?t',
    '[ab]',
    '!a',
    'dist/',
    '/a/b',
    '*a*',
    '*.*',
    'b*d*',
    '*e*e*p',
    '**/deep/*',
    '?',
    // Git trims trailing spaces only: a tab stays part of the pattern, an escaped space too.
    '*.env\t',
    '*.log  ',
    '.env\\ ',
  ),
  path,
);
const gitignore = fc.array(pattern, { maxLength: 6 }).map((lines) => `${lines.join('\n')}\n`);
/** What {@link build} takes: the tree's files, and `.gitignore` files in some of its directories. */
const treeFiles = fc.array(path, { minLength: 1, maxLength: 12 });
const treeIgnores = fc.array(fc.tuple(fc.constantFrom('', 'a', 'deep', 'a/b', 'build'), gitignore), { maxLength: 3 });

function build(files: readonly string[], ignores: ReadonlyArray<readonly [string, string]>): string | undefined {
  const root = scratch('tree-');
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    // A path used as a file cannot also be a directory.
    for (let i = 1; i < parts.length; i += 1) dirs.add(parts.slice(0, i).join('/'));
  }
  if (files.some((file) => dirs.has(file))) return undefined;
  for (const file of new Set(files)) {
    mkdirSync(join(root, ...file.split('/').slice(0, -1)), { recursive: true });
    writeFileSync(join(root, file), 'x');
  }
  for (const [dir, text] of ignores) {
    if (dir !== '' && !dirs.has(dir)) continue;
    writeFileSync(join(root, dir, '.gitignore'), text);
  }
  return root;
}

describe('walkFiles respects .gitignore as git does', () => {
  it('yields exactly the files git ls-files --others --exclude-standard lists', () => {
    fc.assert(
      fc.property(treeFiles, treeIgnores, (files, ignores) => {
        const root = build(files, ignores);
        if (root === undefined) return;
        git(root, 'init', '-q');
        const listed = git(root, '-c', 'core.excludesFile=/dev/null', 'ls-files', '--others', '--exclude-standard').split('\n').filter(Boolean).sort();
        expect(relativeTo(root, walkFiles(root))).toEqual(listed);
      }),
      { numRuns: 150 },
    );
  });

  it('matches a pattern of many stars in one pass: *a*a*…*b against a long run of a (no match), and the same run ending in b (a match)', () => {
    const rules = parseGitignore('*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n', '');
    expect(isIgnored(rules, 'a'.repeat(80), false)).toBe(false);
    expect(isIgnored(rules, `${'a'.repeat(80)}b`, false)).toBe(true);
    expect(isIgnored(rules, `d/${'a'.repeat(80)}b`, false)).toBe(true);
    // And the walk of such a tree yields what git lists.
    const root = scratch('stars-');
    writeFileSync(join(root, '.gitignore'), '*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n');
    writeFileSync(join(root, 'a'.repeat(80)), 'x');
    writeFileSync(join(root, `${'a'.repeat(80)}b`), 'x');
    git(root, 'init', '-q');
    expect(relativeTo(root, walkFiles(root))).toEqual(['.gitignore', 'a'.repeat(80)]);
  });
});

describe('walkFiles trims a pattern as git does', () => {
  it('drops unescaped trailing spaces only: *.env<TAB> matches no x.env, *.log<SPACES> matches a.log, keep\\<SPACE> matches "keep "', () => {
    const root = scratch('trailing-');
    writeFileSync(join(root, '.gitignore'), '*.env\t\n*.log  \nkeep\\ \n');
    for (const file of ['x.env', 'x.env\t', 'a.log', 'keep', 'keep ']) writeFileSync(join(root, file), 'x');
    git(root, 'init', '-q');
    const listed = git(root, '-c', 'core.excludesFile=/dev/null', 'ls-files', '--others', '--exclude-standard', '-z').split('\0').filter(Boolean).sort();
    expect(listed).toEqual(['.gitignore', 'keep', 'x.env']);
    expect(relativeTo(root, walkFiles(root))).toEqual(listed);
  });
});

/**
 * A hang guard, not a speed: the first property below runs a few hundred git processes,
 * about 5 s on a quiet 2-core machine, and once took over 30 s (vitest's default) while the
 * machine ran other suites beside it.
 */
const GIT_PROPERTY_TIMEOUT_MS = 120_000;

describe('listFiles in a git work tree: what git lists, tracked files that .gitignore lists included', { timeout: GIT_PROPERTY_TIMEOUT_MS }, () => {
  it('yields exactly git ls-files --cached --others --exclude-standard, from the root and from a subdirectory, with every force-added file', () => {
    fc.assert(
      fc.property(treeFiles, treeIgnores, fc.array(fc.nat(), { maxLength: 4 }), (files, ignores, tracked) => {
        const root = build(files, ignores);
        if (root === undefined) return;
        git(root, 'init', '-q');
        const forced = [...new Set(tracked.map((i) => files[i % files.length]!))];
        for (const file of forced) git(root, 'add', '-f', '--', file);
        const listed = (dir: string) => git(dir, 'ls-files', '--cached', '--others', '--exclude-standard').split('\n').filter(Boolean).sort();
        const { files: ours, source } = listFiles(root);
        expect(source).toBe('git');
        expect(relativeTo(root, ours)).toEqual(listed(root));
        expect(relativeTo(root, ours)).toEqual(expect.arrayContaining(forced));
        // A subdirectory git does not ignore (one it ignores, named explicitly, is walked whole).
        const top = files[0]!.split('/')[0]!;
        const ignoredTop = spawnSync('git', ['check-ignore', '-q', '--', top], { cwd: root }).status === 0;
        if (files[0]!.includes('/') && !ignoredTop) expect(relativeTo(join(root, top), listFiles(join(root, top)).files)).toEqual(listed(join(root, top)));
      }),
      { numRuns: 100 },
    );
  });

  it('a tracked .env that .gitignore lists is listed; the walk, which sees every file as untracked, would skip it', () => {
    const root = scratch('tracked-');
    writeFileSync(join(root, '.gitignore'), '.env\n');
    writeFileSync(join(root, '.env'), 'x');
    git(root, 'init', '-q');
    git(root, 'add', '-f', '.env');
    expect(relativeTo(root, listFiles(root).files)).toEqual(['.env', '.gitignore']);
    expect(relativeTo(root, walkFiles(root))).toEqual(['.gitignore']);
  });

  it('finds the repository from the directory, not from GIT_DIR as a git hook sets it (with which a subdirectory would be taken for the top)', () => {
    const root = scratch('hook-');
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.ts'), 'x');
    writeFileSync(join(root, 'src', 'debug.log'), 'x');
    writeFileSync(join(root, '.gitignore'), '*.log\n');
    git(root, 'init', '-q');
    git(root, 'add', 'src/a.ts');
    vi.stubEnv('GIT_DIR', join(root, '.git'));
    vi.stubEnv('GIT_INDEX_FILE', join(root, '.git', 'index'));
    try {
      expect(relativeTo(root, listFiles(join(root, 'src')).files)).toEqual(['src/a.ts']);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('outside a work tree, the walk', () => {
    const root = scratch('plain-');
    writeFileSync(join(root, '.gitignore'), '*.log\n');
    writeFileSync(join(root, 'x.log'), 'x');
    writeFileSync(join(root, 'y.txt'), 'x');
    expect(listFiles(root).source).toBe('walk');
    expect(relativeTo(root, listFiles(root).files)).toEqual(['.gitignore', 'y.txt']);
  });
});
