/**
 * The functions' source maps without their dependencies' mappings. Each function bundles
 * the AWS SDK (`lib/bundling.ts`), and runs with `--enable-source-maps`, under which Node
 * decodes the whole map the first time an error's stack is read: with the SDK's mappings in
 * it that took 40–60 ms more, once per instance, on the first logged error (BENCHMARKS.md,
 * "Every function bundles its SDK"). Positions in Tollgate's own code keep their mapping.
 * A run of positions in one dependency maps to that package's folder, line 1, column 1, so
 * a stack frame there still names the package (`…/node_modules/@smithy/core/`); the map's
 * sources are Tollgate's files, then those folders, and its names those Tollgate's code
 * uses. (A segment of one field, "unmapped", would be
 * shorter, but Node 20 reads it as the mapping before it.)
 *
 * Run after every build of a function: `scripts/trim-source-map.mjs` is CDK's
 * `afterBundling` hook, and the package build, local mode and the benchmark call
 * `afterBuild` of `lib/build-function.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The fields of a version 3 source map this reads; the rest are kept as they are. */
export interface RawSourceMap {
  readonly version: number;
  readonly sources: readonly string[];
  readonly mappings: string;
  readonly [field: string]: unknown;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((char, value) => [char, value]));
const CONTINUE = 32;

/** The folder of the package `source` belongs to (up to `node_modules/<name>/`), or undefined for Tollgate's own code. */
export function dependencyPackage(source: string): string | undefined {
  return /^(?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+\//.exec(source)?.[0];
}

/** One segment's fields, each a VLQ-decoded delta, as the spec lays them out. */
function decodeSegment(text: string): number[] {
  const fields: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = DIGIT.get(char);
    if (digit === undefined) throw new Error(`source map mappings hold "${char}", not base64`);
    // Arithmetic, not bit shifts: those wrap at 32 bits.
    value += (digit % CONTINUE) * 2 ** shift;
    if (digit & CONTINUE) {
      shift += 5;
      if (shift > 45) throw new Error('source map mappings hold a number too large');
      continue;
    }
    const magnitude = Math.floor(value / 2);
    fields.push(value % 2 === 1 ? -magnitude : magnitude);
    value = 0;
    shift = 0;
  }
  if (shift !== 0) throw new Error('source map mappings end inside a number');
  return fields;
}

function encodeField(delta: number): string {
  let value = delta < 0 ? -delta * 2 + 1 : delta * 2;
  let text = '';
  do {
    let digit = value % CONTINUE;
    value = Math.floor(value / CONTINUE);
    if (value > 0) digit |= CONTINUE;
    text += BASE64[digit];
  } while (value > 0);
  return text;
}

/** Fields this does not renumber, which would point at the wrong sources after it. */
const INDEXED_BY_SOURCE = ['sourcesContent', 'ignoreList', 'x_google_ignoreList'];

function checkedMap(map: RawSourceMap): readonly string[] {
  if (map.version !== 3) throw new Error(`a source map of version ${String(map.version)}, not 3`);
  if ('sections' in map) throw new Error("an index map (sections), not a bundle's source map");
  const indexed = INDEXED_BY_SOURCE.filter((field) => field in map);
  if (indexed.length) throw new Error(`a source map with ${indexed.join(', ')}, which would not follow its renumbered sources`);
  if (!Array.isArray(map.sources) || !map.sources.every((source) => typeof source === 'string'))
    throw new Error('a source map whose sources are not all strings');
  const names = map.names ?? [];
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) throw new Error('a source map whose names are not all strings');
  return names as string[];
}

/**
 * `map` with every segment that points into a dependency pointing at that package's folder
 * instead, and runs of such segments of one package merged into their first: a position
 * maps to the segment at or before it. `sources` keeps Tollgate's own files, in their
 * order, then the packages' folders; `names` keeps the names Tollgate's code still uses.
 */
export function withoutDependencyMappings(map: RawSourceMap): RawSourceMap {
  const oldNames = checkedMap(map);
  const own = map.sources.filter((source) => dependencyPackage(source) === undefined);
  const sources = [...own];
  const index = new Map<string, number>();
  const target = map.sources.map((source) => {
    const folder = dependencyPackage(source) ?? source;
    let at = index.get(folder);
    if (at === undefined) {
      at = folder === source ? own.indexOf(source) : sources.push(folder) - 1;
      index.set(folder, at);
    }
    return { at, dependency: folder !== source };
  });
  const names: string[] = [];
  const nameAt = new Map<number, number>();
  const renamed = (old: number) => {
    let at = nameAt.get(old);
    if (at === undefined) {
      at = names.push(oldNames[old]!) - 1;
      nameAt.set(old, at);
    }
    return at;
  };
  // Absolute values read so far and last written: source, line, column, name (relative across lines).
  const read = [0, 0, 0, 0];
  const written = [0, 0, 0, 0];
  const lines = map.mappings.split(';').map((line) => {
    let readColumn = 0;
    let writtenColumn = 0;
    // Merged within a line only: readers differ on whether a mapping reaches past its line.
    let lastTarget: number | undefined;
    const out: string[] = [];
    for (const segment of line === '' ? [] : line.split(',')) {
      const fields = decodeSegment(segment);
      if (fields.length !== 1 && fields.length !== 4 && fields.length !== 5) throw new Error(`a source map segment of ${fields.length} fields`);
      readColumn += fields[0]!;
      for (let i = 1; i < fields.length; i += 1) read[i - 1]! += fields[i]!;
      if (readColumn < 0 || (fields.length > 1 && Math.min(read[1]!, read[2]!) < 0)) throw new Error('a source map segment at a negative line or column');
      let values: number[] = [];
      if (fields.length > 1) {
        const to = target[read[0]!];
        if (to === undefined) throw new Error(`a source map segment of source ${read[0]}, of ${map.sources.length}`);
        if (fields.length === 5 && oldNames[read[3]!] === undefined) throw new Error(`a source map segment of name ${read[3]}, of ${oldNames.length}`);
        if (to.dependency && lastTarget === to.at) continue;
        values = to.dependency ? [to.at, 0, 0] : [to.at, read[1]!, read[2]!, ...(fields.length === 5 ? [renamed(read[3]!)] : [])];
        lastTarget = to.dependency ? to.at : undefined;
      } else {
        lastTarget = undefined;
      }
      let text = encodeField(readColumn - writtenColumn);
      writtenColumn = readColumn;
      for (const [i, value] of values.entries()) {
        text += encodeField(value - written[i]!);
        written[i] = value;
      }
      out.push(text);
    }
    return out.join(',');
  });
  return { ...map, sources, names, mappings: lines.join(';') };
}

/** Rewrites a source map file in place without its dependencies' mappings. */
export function trimSourceMapFile(file: string): void {
  const map = JSON.parse(readFileSync(file, 'utf8')) as RawSourceMap;
  writeFileSync(file, JSON.stringify(withoutDependencyMappings(map)));
}
