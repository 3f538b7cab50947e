/**
 * `lib/source-maps.ts` against Node's own reader of source maps (`module.SourceMap`, what
 * `--enable-source-maps` uses): after trimming, every position of the generated code maps
 * where it mapped before if that was Tollgate's code, and to its package's folder if it was
 * a dependency's. Random maps (fast-check) and a real function bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Functions } from '../../common/functions';
import { afterBuild } from '../../lib/build-function';
import { afterBuildCommand, esbuildOptions } from '../../lib/bundling';
import { dependencyPackage, withoutDependencyMappings, type RawSourceMap } from '../../lib/source-maps';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tollgate-source-maps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The test's own VLQ encoder, from the spec: 5 bits per digit, low bits first, sign in bit 0. */
function vlq(delta: number): string {
  let value = delta < 0 ? -delta * 2 + 1 : delta * 2;
  let text = '';
  do {
    const digit = value % 32;
    value = Math.floor(value / 32);
    text += BASE64[digit + (value > 0 ? 32 : 0)];
  } while (value > 0);
  return text;
}

/** A segment: its column, then source, line, column and, for some, name; or the column alone (unmapped). */
type Segment = [number] | [number, number, number, number] | [number, number, number, number, number];

function encode(lines: readonly Segment[][]): string {
  const last = [0, 0, 0, 0];
  return lines
    .map((segments) => {
      let column = 0;
      return segments
        .map((segment) => {
          let text = vlq(segment[0] - column);
          column = segment[0];
          for (let i = 1; i < segment.length; i += 1) {
            text += vlq(segment[i]! - last[i - 1]!);
            last[i - 1] = segment[i]!;
          }
          return text;
        })
        .join(',');
    })
    .join(';');
}

/** What a position means to Node: the original source and place, or nothing (`-`). */
function meaning(map: SourceMap, line: number, column: number): string {
  const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number; originalColumn?: number };
  return entry.originalSource === undefined ? '-' : `${entry.originalSource}:${entry.originalLine}:${entry.originalColumn}`;
}

const SOURCES = [
  'lambda/token/handler.ts',
  '../node_modules/@smithy/core/dist-es/index.js',
  'common/names.ts',
  'node_modules/zod/v4/x.js',
  '../node_modules/@smithy/core/dist-es/other.js',
];

/** What a position should mean after trimming, from what it meant before. */
function trimmed(meant: string): string {
  const folder = meant === '-' ? undefined : dependencyPackage(meant);
  return folder === undefined ? meant : `${folder}:0:0`;
}

const segmentsOfLine = fc.uniqueArray(fc.nat(60), { maxLength: 12 }).chain((columns) =>
  fc.tuple(
    ...[...columns]
      .sort((a, b) => a - b)
      .map((column) =>
        fc.oneof(
          fc.tuple(fc.nat(SOURCES.length - 1), fc.nat(40), fc.nat(80)).map(([source, line, col]): Segment => [column, source, line, col]),
          fc
            .tuple(fc.nat(SOURCES.length - 1), fc.nat(40), fc.nat(80), fc.nat(5))
            .map(([source, line, col, name]): Segment => [column, source, line, col, name]),
        ),
      ),
  ),
);

describe('withoutDependencyMappings', () => {
  // esbuild writes no one-field (unmapped) segment, and Node 20 reads one as the mapping before it, so these have none.
  it("maps every position as before when it was Tollgate's code, and to its package's folder when it was a dependency's", () => {
    fc.assert(
      fc.property(fc.array(segmentsOfLine, { minLength: 1, maxLength: 5 }), (lines) => {
        const map: RawSourceMap = { version: 3, sources: SOURCES, names: ['a', 'b', 'c', 'd', 'e', 'f'], mappings: encode(lines) };
        const before = new SourceMap(map as never);
        const after = new SourceMap(withoutDependencyMappings(map) as never);
        for (let line = 0; line <= lines.length; line += 1) {
          for (let column = 0; column <= 62; column += 1) {
            expect(meaning(after, line, column), `${line}:${column}`).toBe(trimmed(meaning(before, line, column)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("lists Tollgate's sources, then the packages' folders; merges a run of one package; keeps the other fields", () => {
    const segments: Segment[] = [[0, 0, 0, 0, 0], [5, 1, 2, 3], [9, 4, 7, 7], [12, 3, 1, 1], [20, 2, 3, 4], [22], [30, 1, 0, 0]];
    const map = { version: 3, sources: SOURCES, names: ['a'], mappings: encode([segments]), file: 'index.mjs', x: 1 };
    const { mappings, ...rest } = withoutDependencyMappings(map);
    const folders = ['../node_modules/@smithy/core/', 'node_modules/zod/'];
    expect(rest).toEqual({ version: 3, sources: ['lambda/token/handler.ts', 'common/names.ts', ...folders], names: ['a'], file: 'index.mjs', x: 1 });
    expect(mappings).toBe(encode([[[0, 0, 0, 0, 0], [5, 2, 0, 0], [12, 3, 0, 0], [20, 1, 3, 4], [22], [30, 2, 0, 0]]]));
  });

  it('rewrites nothing in a map without dependencies, however large its numbers', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.tuple(fc.nat(2 ** 40), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })), { maxLength: 6 }), { maxLength: 4 }), (lines) => {
        // Columns and lines as large as 2^40 and deltas of either sign: past where 32-bit shifts wrap.
        const segments = lines.map((line) => line.map(([column, at], i): Segment => [column + i, 0, Math.abs(at), column]));
        const mappings = encode(segments.map((line) => [...line].sort((a, b) => a[0] - b[0])));
        expect(withoutDependencyMappings({ version: 3, sources: ['lambda/a.ts'], mappings }).mappings).toBe(mappings);
      }),
    );
  });

  it.each([
    ['AAAAggggggggggA', 'source map mappings hold a number too large'],
    ['AA!A', 'source map mappings hold "!", not base64'],
    ['AAg', 'source map mappings end inside a number'],
    ['AA', 'a source map segment of 2 fields'],
    ['AAAAAA', 'a source map segment of 6 fields'],
    ['AKAA', 'a source map segment of source 5, of 5'],
    ['AAAAC', 'a source map segment of name 1, of 1'],
    ['D', 'a source map segment at a negative line or column'],
    ['AADA', 'a source map segment at a negative line or column'],
  ])('refuses malformed mappings %j: %s', (mappings, message) => {
    expect(() => withoutDependencyMappings({ version: 3, sources: SOURCES, names: ['a'], mappings })).toThrow(message);
  });

  it.each([
    [{ version: 2 }, 'a source map of version 2, not 3'],
    [{ sections: [] }, "an index map (sections), not a bundle's source map"],
    [{ sourcesContent: [] }, 'a source map with sourcesContent, which would not follow its renumbered sources'],
    [{ ignoreList: [1] }, 'a source map with ignoreList, which would not follow its renumbered sources'],
    [{ sources: [null] }, 'a source map whose sources are not all strings'],
    [{ names: [1] }, 'a source map whose names are not all strings'],
  ])('refuses a map it cannot rewrite faithfully: %j', (fields, message) => {
    expect(() => withoutDependencyMappings({ version: 3, sources: SOURCES, mappings: 'AAAA', ...fields } as RawSourceMap)).toThrow(message);
  });

  it("keeps only the names that Tollgate's code still uses, renumbered", () => {
    const segments: Segment[] = [
      [0, 1, 0, 0, 0],
      [4, 0, 1, 1, 2],
      [8, 3, 0, 0, 1],
      [12, 2, 5, 5, 2],
    ];
    const result = withoutDependencyMappings({ version: 3, sources: SOURCES, names: ['dep', 'zod', 'own'], mappings: encode([segments]) });
    expect(result.names).toEqual(['own']);
    const after = new SourceMap(result as never);
    expect(after.findEntry(0, 4)).toMatchObject({ originalSource: 'lambda/token/handler.ts', name: 'own' });
    expect(after.findEntry(0, 12)).toMatchObject({ originalSource: 'common/names.ts', originalLine: 5, name: 'own' });
  });

  it('runs as the afterBundling command through bash, whatever quotes, $ or backticks the path holds', () => {
    const folder = join(dir, `it's "odd" $HOME \`id\` a b`);
    mkdirSync(folder, { recursive: true });
    const outfile = join(folder, 'index.mjs');
    const map = {
      version: 3,
      sources: SOURCES,
      names: [],
      mappings: encode([
        [
          [0, 0, 0, 0],
          [5, 1, 2, 3],
          [9, 4, 7, 7],
        ],
      ]),
    };
    writeFileSync(`${outfile}.map`, JSON.stringify(map));
    execFileSync('bash', ['-c', afterBuildCommand(outfile)], { stdio: 'pipe' });
    expect(JSON.parse(readFileSync(`${outfile}.map`, 'utf8'))).toEqual(withoutDependencyMappings(map));
  });

  it("trims a real function's map: a dependency maps to its package's folder, Tollgate's code as before", async () => {
    const outfile = join(dir, 'token', 'index.mjs');
    await build({ ...esbuildOptions(), entryPoints: [join(ROOT, Functions.token.entry)], outfile, logLevel: 'silent' });
    const untrimmed = readFileSync(`${outfile}.map`, 'utf8');
    afterBuild(outfile);
    const before = new SourceMap(JSON.parse(untrimmed));
    const after = new SourceMap(JSON.parse(readFileSync(`${outfile}.map`, 'utf8')));
    const code = readFileSync(outfile, 'utf8').split('\n');
    let own = 0;
    let dependency = 0;
    for (const [line, text] of code.entries()) {
      for (let column = 0; column < text.length; column += 97) {
        const was = meaning(before, line, column);
        if (was !== '-' && dependencyPackage(was) !== undefined) dependency += 1;
        else if (was !== '-') own += 1;
        expect(meaning(after, line, column)).toBe(trimmed(was));
      }
    }
    expect(own).toBeGreaterThan(100);
    expect(dependency).toBeGreaterThan(own);
    expect(statSync(`${outfile}.map`).size).toBeLessThan(untrimmed.length / 2);
  }, 60_000);
});
