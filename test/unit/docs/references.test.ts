/**
 * The repository explains itself: every reference in code and docs to a document of the
 * repository (`docs/x.md`, `README.md#section`, `BENCHMARKS.md`, relative markdown links)
 * points at a file that exists and, with an anchor, at a heading it has; nothing cites the
 * old external contract ("contract §N") or points outside the repository.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../../..');
const SKIP_DIRS = new Set(['node_modules', '.git', '.local', 'cdk.out', 'results', '.out', 'coverage']);
const SOURCE = /\.(ts|mts|mjs|js|md)$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP_DIRS.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : SOURCE.test(name) ? [path] : [];
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

const anchorsCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorsCache.get(file);
  if (!anchors) {
    anchors = new Set(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => slug(line.replace(/^#+ /, ''))),
    );
    anchorsCache.set(file, anchors);
  }
  return anchors;
}

interface Reference {
  readonly from: string;
  readonly target: string;
  readonly anchor?: string;
}

function references(file: string): Reference[] {
  const text = readFileSync(file, 'utf8');
  const from = relative(ROOT, file);
  const found: Reference[] = [];
  // Repository-rooted mentions in code and prose: docs/x.md, README.md, BENCHMARKS.md (with an optional anchor).
  for (const m of text.matchAll(/(?<![\w/.-])((?:docs\/[\w-]+|README|BENCHMARKS)\.md)(?:#([\w-]+))?/g)) {
    found.push({ from, target: join(ROOT, m[1]!), ...(m[2] && { anchor: m[2] }) });
  }
  // Relative markdown links in documents: [text](path#anchor) and [text](#anchor).
  if (file.endsWith('.md')) {
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]!;
      if (/^[a-z]+:/i.test(link)) continue;
      const [path, anchor] = link.split('#') as [string, string | undefined];
      found.push({ from, target: path === '' ? file : resolve(dirname(file), path), ...(anchor && { anchor }) });
    }
  }
  return found;
}

describe('references inside the repository', () => {
  // This file names the patterns it looks for.
  const all = files(ROOT).filter((file) => file !== __filename);

  it('cite no external contract and point nowhere outside the repository', () => {
    const outside = all.filter((file) => /[Cc]ontract §|CONTRACT\.md|STYLE\.md/.test(readFileSync(file, 'utf8'))).map((file) => relative(ROOT, file));
    expect(outside).toEqual([]);
  });

  it('name files that exist and headings they have', () => {
    const dangling = all.flatMap(references).filter(({ target, anchor }) => {
      if (!existsSync(target)) return true;
      return anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor);
    });
    expect(dangling.map((r) => `${r.from} -> ${relative(ROOT, r.target)}${r.anchor ? `#${r.anchor}` : ''}`)).toEqual([]);
  });
});
