/** Real git for tests that compare with it or build work trees, and paths as git prints them. */
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';

/** Runs git in `cwd` (no shell) and returns what it printed. */
export const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' });

/** `files` relative to `root`, with `/` separators, sorted: how `git ls-files` lists them. */
export const relativeTo = (root: string, files: Iterable<string>): string[] => [...files].map((file) => relative(root, file).split('\\').join('/')).sort();
