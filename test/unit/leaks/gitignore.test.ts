/**
 * The directory walk of `tollgate scan` against git itself: on trees with random files and
 * random .gitignore files (nested, negations, anchors, directory-only patterns, `**`), the
 * files it yields are exactly `git ls-files --others --exclude-standard` (every file
 * untracked, so that lists what git does not ignore).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { walkFiles } from '../../../cli/gitignore';
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
  ),
  path,
);
const gitignore = fc.array(pattern, { maxLength: 6 }).map((lines) => `${lines.join('\n')}\n`);

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
      fc.property(
        fc.array(path, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.constantFrom('', 'a', 'deep', 'a/b', 'build'), gitignore), { maxLength: 3 }),
        (files, ignores) => {
          const root = build(files, ignores);
          if (root === undefined) return;
          execFileSync('git', ['init', '-q'], { cwd: root });
          const git = execFileSync('git', ['-c', 'core.excludesFile=/dev/null', 'ls-files', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
            .split('\n')
            .filter(Boolean)
            .sort();
          const ours = [...walkFiles(root)].map((file) => relative(root, file).split('\\').join('/')).sort();
          expect(ours).toEqual(git);
        },
      ),
      { numRuns: 150 },
    );
  });
});
