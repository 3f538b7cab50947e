/**
 * The files under a directory that git would not ignore: every `.gitignore` on the way down
 * applies to its own directory and below, with gitignore(5)'s rules — blank lines and `#`
 * comments skipped, `!` re-includes, a trailing `/` matches directories only, a `/` at the
 * start or in the middle anchors the pattern to the `.gitignore`'s directory, `*` and `?`
 * never match `/`, `**` spans directories, the last matching pattern wins, and nothing inside
 * an ignored directory can be re-included (git does not descend into it). `.git` itself is
 * never walked. A differential test compares the result with `git ls-files`.
 *
 * This walk is the fallback of `scan-files.ts` outside a git work tree (or without git):
 * inside one, git's own list is used, because git ignores only UNTRACKED files and a walk
 * cannot tell which files are tracked.
 */
import { isUtf8 } from 'node:buffer';
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';

interface Rule {
  readonly glob: Glob;
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  /** The directory of the `.gitignore` (relative to the walk root, posix, '' for the root). */
  readonly base: string;
}

/**
 * One element of a compiled glob. A pattern is matched by simulating all its positions at
 * once over the path (an NFA), so the time is linear in the path's length whatever the
 * pattern: a regular expression with one backtracking `[^/]*` per `*` takes exponential time
 * on `*a*a*a…*b` against `aaa…` (a `.gitignore` in a scanned tree is untrusted input).
 */
type Token =
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'one' }
  | { readonly kind: 'class'; readonly test: (char: string) => boolean }
  /** `*`: any run of characters but `/`. */
  | { readonly kind: 'star' }
  /** A trailing `/**`'s `**`: anything. */
  | { readonly kind: 'rest' }
  /** `**` followed by `/` (or the implicit lead of an unanchored pattern): zero or more whole directories. */
  | { readonly kind: 'dirs' };
type Glob = readonly Token[];

/** Rules of one `.gitignore` text; `base` is its directory relative to the walk root. */
export function parseGitignore(text: string, base: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = trimTrailingSpaces(raw);
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
    const body = compileGlob(line);
    rules.push({ glob: anchored ? body : [{ kind: 'dirs' }, ...body], negated, directoryOnly, base });
  }
  return rules;
}

/**
 * gitignore(5): "Trailing spaces are ignored unless they are quoted with backslash". Spaces
 * only, as git's `trim_trailing_spaces` does: a trailing tab is part of the pattern
 * (`*.env<TAB>` does not match `x.env`), and a backslash quotes whatever follows it.
 */
function trimTrailingSpaces(line: string): string {
  let lastSpace: number | undefined;
  for (let i = 0; i < line.length; i += 1) {
    if (line[i] === ' ') lastSpace ??= i;
    else {
      if (line[i] === '\\') i += 1;
      lastSpace = undefined;
    }
  }
  return lastSpace === undefined ? line : line.slice(0, lastSpace);
}

/** One gitignore glob, compiled for {@link globMatches} over a posix path relative to the rule's base. */
function compileGlob(glob: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
        if (atStart && atEnd) {
          if (i + 2 === glob.length) {
            // Trailing `/**`: everything inside (not the directory itself).
            out.push({ kind: 'rest' });
          } else {
            // `**/`: zero or more directories.
            out.push({ kind: 'dirs' });
            i += 1;
          }
          i += 1;
          continue;
        }
        // Other consecutive asterisks are ordinary ones.
        while (glob[i + 1] === '*') i += 1;
      }
      out.push({ kind: 'star' });
    } else if (char === '?') {
      out.push({ kind: 'one' });
    } else if (char === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out.push({ kind: 'char', char: '[' });
        continue;
      }
      out.push({ kind: 'class', test: characterClass(glob.slice(i + 1, close)) });
      i = close;
    } else if (char === '\\' && i + 1 < glob.length) {
      i += 1;
      out.push({ kind: 'char', char: glob[i]! });
    } else {
      out.push({ kind: 'char', char });
    }
  }
  return out;
}

/** A bracket expression's test of ONE character (so a regular expression is safe here); never `/`, as in git's wildmatch. */
function characterClass(set: string): (char: string) => boolean {
  const source = set.startsWith('!') ? `^${set.slice(1)}` : set;
  let regex: RegExp;
  try {
    regex = new RegExp(`^[${source.replace(/\\/g, '\\\\')}]$`);
  } catch {
    // A malformed class (a range out of order) matches nothing.
    return () => false;
  }
  return (char) => char !== '/' && regex.test(char);
}

/**
 * Whether `glob` matches the whole of `path`: every position the pattern can be at is
 * tracked at once (`here`: at token i; `inside`: within a `dirs` token's directories), one
 * pass per character of the path.
 */
function globMatches(glob: Glob, path: string): boolean {
  const size = glob.length + 1;
  let here = new Uint8Array(size);
  let inside = new Uint8Array(size);
  here[0] = 1;
  close(glob, here);
  for (const char of path) {
    const nextHere = new Uint8Array(size);
    const nextInside = new Uint8Array(size);
    for (let i = 0; i < glob.length; i += 1) {
      const token = glob[i]!;
      if (token.kind === 'dirs') {
        if (here[i] || inside[i]) {
          nextInside[i] = 1;
          if (char === '/') nextHere[i + 1] = 1;
        }
        continue;
      }
      if (!here[i]) continue;
      if (token.kind === 'char') {
        if (char === token.char) nextHere[i + 1] = 1;
      } else if (token.kind === 'one') {
        if (char !== '/') nextHere[i + 1] = 1;
      } else if (token.kind === 'class') {
        if (token.test(char)) nextHere[i + 1] = 1;
      } else if (token.kind === 'star') {
        if (char !== '/') nextHere[i] = 1;
      } else {
        nextHere[i] = 1;
      }
    }
    close(glob, nextHere);
    here = nextHere;
    inside = nextInside;
  }
  return here[glob.length] === 1;
}

/** Adds the positions reachable without reading a character: past a `*`, a trailing `**` or zero directories. */
function close(glob: Glob, here: Uint8Array): void {
  for (let i = 0; i < glob.length; i += 1) {
    const kind = glob[i]!.kind;
    if (here[i] && (kind === 'star' || kind === 'rest' || kind === 'dirs')) here[i + 1] = 1;
  }
}

/** Whether the last rule that matches `path` (posix, relative to the walk root) ignores it. */
export function isIgnored(rules: readonly Rule[], path: string, isDirectory: boolean): boolean {
  let ignored = false;
  for (const rule of rules) {
    if (rule.directoryOnly && !isDirectory) continue;
    if (rule.base !== '' && !path.startsWith(`${rule.base}/`)) continue;
    const local = rule.base === '' ? path : path.slice(rule.base.length + 1);
    if (globMatches(rule.glob, local)) ignored = !rule.negated;
  }
  return ignored;
}

/**
 * Every file under `root` git would not ignore, in a stable order; symbolic links are not
 * followed (git records the link, not its target).
 */
export function* walkFiles(root: string, unreadable: Unreadable = () => {}): Generator<string> {
  yield* walk(root, '', [], unreadable);
}

/** Told of a directory that could not be listed or an entry that could not be looked at (the caller must not call the walk complete). */
export type Unreadable = (path: string, error: unknown) => void;

/**
 * A file name's bytes as a string, or undefined (and reported) when they are not UTF-8: decoded,
 * its bad bytes would become U+FFFD, a name no file has, so it cannot be opened by name here.
 */
export function fileName(bytes: Buffer, dir: string, unreadable: Unreadable): string | undefined {
  const name = bytes.toString('utf8');
  if (isUtf8(bytes)) return name;
  unreadable(join(dir, name), new Error('the name is not UTF-8'));
  return undefined;
}

function* walk(root: string, dir: string, inherited: readonly Rule[], unreadable: Unreadable): Generator<string> {
  const absolute = dir === '' ? root : join(root, ...dir.split('/'));
  let raw: Buffer[];
  try {
    raw = readdirSync(absolute, { encoding: 'buffer' });
  } catch (error) {
    unreadable(absolute, error);
    return;
  }
  // A name that is not UTF-8 is reported, as in a work tree.
  const entries: string[] = [];
  for (const bytes of raw.sort(Buffer.compare)) {
    const name = fileName(bytes, absolute, unreadable);
    if (name !== undefined) entries.push(name);
  }
  entries.sort();
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
    let stat: Stats;
    try {
      stat = lstatSync(join(absolute, name));
    } catch (error) {
      // A directory that can be listed but not searched (r without x), or an entry gone since it was listed.
      unreadable(join(absolute, name), error);
      continue;
    }
    if (stat.isSymbolicLink()) continue;
    const isDirectory = stat.isDirectory();
    if (isIgnored(rules, path, isDirectory)) continue;
    if (isDirectory) yield* walk(root, path, rules, unreadable);
    else if (stat.isFile()) yield join(root, ...path.split('/'));
  }
}

/** A path for printing: relative to `cwd` when inside it, with `/` separators. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return (rel === '' || rel.startsWith('..') ? path : rel).split(sep).join('/');
}
