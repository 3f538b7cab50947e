/**
 * Reads a V8 CPU profile (`npm run bench -- --profile` writes one per suite to
 * bench/results/profiles/) and prints where the time went: self time per function, either
 * over the whole profile or only below a given frame (e.g. the authorizer's handler).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--within handler@authorize.ts] [--top 25]
 *
 * A frame is named `function@file` (file name without its directory); `--within` matches
 * the first frame whose name starts with the given text. Times are sampled wall time of
 * the main thread, so on a busy machine they include time the thread was descheduled.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileShare {
  readonly frame: string;
  readonly ms: number;
  /** Of the time considered (the whole profile, or below `within`). */
  readonly percent: number;
}

export function frameName(node: ProfileNode): string {
  const file = node.callFrame.url.split('/').pop() || '(native)';
  return `${node.callFrame.functionName || '(anonymous)'}@${file}`;
}

/** Self time per frame name, largest first; with `within`, only samples whose stack contains that frame. */
export function selfTimes(profile: CpuProfile, within?: string): { totalMs: number; shares: ProfileShare[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const under = (id: number) => {
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      if (frameName(byId.get(current)!).startsWith(within!)) return true;
    }
    return false;
  };
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (within !== undefined && !under(id)) return;
    const micros = profile.timeDeltas[i] ?? 0;
    total += micros;
    const name = frameName(byId.get(id)!);
    self.set(name, (self.get(name) ?? 0) + micros);
  });
  const shares = [...self].map(([frame, micros]) => ({ frame, ms: micros / 1000, percent: total ? (100 * micros) / total : 0 })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, shares };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { within: { type: 'string' }, top: { type: 'string', default: '25' } } });
  const top = Number(values.top);
  if (positionals.length !== 1 || !Number.isInteger(top) || top <= 0) {
    process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--within function@file] [--top N]\n');
    process.exitCode = 2;
    return;
  }
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;
  const { totalMs, shares } = selfTimes(profile, values.within);
  process.stdout.write(`${values.within ? `below ${values.within}: ` : ''}${totalMs.toFixed(0)} ms sampled\n`);
  for (const share of shares.slice(0, top))
    process.stdout.write(`${share.percent.toFixed(1).padStart(5)}%  ${share.ms.toFixed(1).padStart(8)} ms  ${share.frame}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
