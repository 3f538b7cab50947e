/**
 * The files under a directory that git would not ignore: every `.gitignore` on the way down
 * applies to its own directory and below, with gitignore(5)'s rules — blank lines and `#`
 * comments skipped, `!` re-includes, a trailing `/` matches directories only, a `/` at the
 * start or in the middle anchors the pattern to the `.gitignore`'s directory, `*` and `?`
 * never match `/`, `**` spans directories, the last matching pattern wins, and nothing inside
 * an ignored directory can be re-included (git does not descend into it). `.git` itself is
 * never walked. A differential test compares the result with `git ls-files`.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

interface Rule {
  readonly regex: RegExp;
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  /** The directory of the `.gitignore` (relative to the walk root, posix, '' for the root). */
  readonly base: string;
}

/** Rules of one `.gitignore` text; `base` is its directory relative to the walk root. */
export function parseGitignore(text: string, base: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    // Trailing spaces are ignored unless escaped with a backslash.
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    let negated = false;
    if (line.startsWith('!')) {
      negated = true;
      line = line.slice(1);
    } else if (line.startsWith('\\#') || line.startsWith('\\!')) {
      line = line.slice(1);
    }
    let directoryOnly = false;
    if (line.endsWith('/') && !line.endsWith('\\/')) {
      directoryOnly = true;
      line = line.slice(0, -1);
    }
    if (line === '') continue;
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    const body = globToRegex(line);
    rules.push({ regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`), negated, directoryOnly, base });
  }
  return rules;
}

/** One gitignore glob as a regular expression over a posix path relative to the rule's base. */
function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
        if (atStart && atEnd) {
          if (i + 2 === glob.length) {
            // Trailing `/**`: everything inside (not the directory itself).
            out += '.*';
          } else {
            // `**/`: zero or more directories.
            out += '(?:.*/)?';
            i += 1;
          }
          i += 1;
          continue;
        }
        // Other consecutive asterisks are ordinary ones.
        while (glob[i + 1] === '*') i += 1;
      }
      out += '[^/]*';
    } else if (char === '?') {
      out += '[^/]';
    } else if (char === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, close);
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      out += `[${set.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else if (char === '\\' && i + 1 < glob.length) {
      i += 1;
      out += escapeRegex(glob[i]!);
    } else {
      out += escapeRegex(char);
    }
  }
  return out;
}

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char;
}

/** Whether the last rule that matches `path` (posix, relative to the walk root) ignores it. */
export function isIgnored(rules: readonly Rule[], path: string, isDirectory: boolean): boolean {
  let ignored = false;
  for (const rule of rules) {
    if (rule.directoryOnly && !isDirectory) continue;
    if (rule.base !== '' && !path.startsWith(`${rule.base}/`)) continue;
    const local = rule.base === '' ? path : path.slice(rule.base.length + 1);
    if (rule.regex.test(local)) ignored = !rule.negated;
  }
  return ignored;
}

/**
 * Every file under `root` git would not ignore, in a stable order; symbolic links are not
 * followed (git records the link, not its target).
 */
export function* walkFiles(root: string): Generator<string> {
  yield* walk(root, '', []);
}

function* walk(root: string, dir: string, inherited: readonly Rule[]): Generator<string> {
  const absolute = dir === '' ? root : join(root, ...dir.split('/'));
  let entries: string[];
  try {
    entries = readdirSync(absolute).sort();
  } catch {
    return;
  }
  let rules = inherited;
  if (entries.includes('.gitignore')) {
    try {
      rules = [...inherited, ...parseGitignore(readFileSync(join(absolute, '.gitignore'), 'utf8'), dir)];
    } catch {
      // An unreadable .gitignore ignores nothing, as in git.
    }
  }
  for (const name of entries) {
    if (name === '.git') continue;
    const path = dir === '' ? name : `${dir}/${name}`;
    const stat = lstatSync(join(absolute, name), { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) continue;
    const isDirectory = stat.isDirectory();
    if (isIgnored(rules, path, isDirectory)) continue;
    if (isDirectory) yield* walk(root, path, rules);
    else if (stat.isFile()) yield join(root, ...path.split('/'));
  }
}

/** A path for printing: relative to `cwd` when inside it, with `/` separators. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return (rel === '' || rel.startsWith('..') ? path : rel).split(sep).join('/');
}
