/**
 * S2: `tollgate scan` over a generated 1 GB tree (1,024 files of 1 MiB of code-like text,
 * nested directories, a `.gitignore` that hides a tenth of them), on one core: the command's
 * own walk and matcher (`cli/gitignore.ts`, `cli/scan.ts`), in process CPU time and wall
 * time. The corpus holds real keys of several prefixes, keys glued to uppercase letters
 * (`UPPERtg_…`, which the scanner finds and the published regex, anchored on a word
 * boundary, does not: docs/leaks.md), base64-encoded keys in Basic headers and in env files
 * wrapped at 76 columns (found by the scanner's decoding only), lockfile-style base64 hashes long enough to be decoded, and
 * look-alikes (typos, right shape with a random tail); each must find exactly its own keys,
 * or the suite fails. Compared in the same run
 * with the published regular expression run over the same bytes (decoded as latin1, checksum
 * checked the same way), and with reading the files alone (the floor). The corpus is written
 * to a temporary directory and deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_KEY_PATTERN, BASE62_ALPHABET } from '../../common/tokens';
import { generateApiKey, isWellFormedApiKey } from '../../lambda/core/credentials/api-keys';
import { walkFiles } from '../../cli/gitignore';
import { findKeysInFile } from '../../cli/scan';
import { figure } from '../lib/figure';
import { runSuite } from '../lib/suite';

export interface ScanArgs {
  /** Corpus size in MiB (one file per MiB). */
  readonly mebibytes: number;
  readonly rounds: number;
}

const MIB = 1024 * 1024;
const PREFIXES = ['tg_', 'acme_', 'a1_', 'shop2024_'];

/** About 1 MiB of source-like lines: identifiers with underscores, numbers, base64 blobs and hashes, URLs. */
function template(seed: number): string[] {
  const lines: string[] = [];
  let size = 0;
  let i = seed;
  while (size < MIB) {
    i += 1;
    const blob = randomBytes(18 + (i % 30)).toString('base64');
    const line = [
      `  const user_${i}_name = process.env.APP_${i % 97}_VALUE ?? 'default_${i % 13}';`,
      `  await client.send(new PutItemCommand({ TableName: 'orders_${i}', Item: { id: { S: '${blob}' } } }));`,
      `  // https://example.com/docs/section_${i}#anchor_${i % 7}: see snake_case_identifiers_${i}`,
      `  "${blob}": ${i * 31}, "key_${i % 50}": "value_${blob.slice(0, 8)}",`,
      `      "integrity": "sha512-${randomBytes(64).toString('base64')}",`,
    ][i % 5]!;
    lines.push(line);
    size += line.length + 1;
  }
  return lines;
}

interface Corpus {
  readonly root: string;
  readonly bytes: number;
  /** Keys the scanner must find: the planted ones, those glued to uppercase letters and the base64-encoded ones. */
  readonly planted: number;
  /** Keys the published regex must find: the planted ones only. */
  readonly plantedForRegex: number;
}

function generate(mebibytes: number): Corpus {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-scan-bench-'));
  const templates = Array.from({ length: 8 }, (_, seed) => template(seed * 100_000));
  // Ignored directory: its files are never read, so they are not counted in the bytes scanned.
  writeFileSync(join(root, '.gitignore'), 'vendor/\n*.min.js\n');
  let bytes = 0;
  let planted = 0;
  let scannerOnly = 0;
  for (let file = 0; file < mebibytes; file += 1) {
    const ignored = file % 10 === 9;
    const dir = ignored ? join(root, 'vendor', `pkg${file % 7}`) : join(root, `src${file % 16}`, `mod${file % 5}`);
    mkdirSync(dir, { recursive: true });
    const lines = [...templates[file % templates.length]!];
    // Per file: two real keys, one glued to uppercase letters, two base64-encoded (one wrapped), and two look-alikes.
    for (let k = 0; k < 2; k += 1) {
      const { apiKey } = generateApiKey(undefined, PREFIXES[(file + k) % PREFIXES.length]);
      lines[(file * 7 + k * 1000) % lines.length] += ` token = "${apiKey}"`;
      if (!ignored) planted += 1;
    }
    const { apiKey } = generateApiKey();
    lines[(file * 11) % lines.length] += ` ${apiKey.slice(0, 20)}${apiKey[20] === 'Q' ? 'R' : 'Q'}${apiKey.slice(21)}`;
    lines[(file * 13) % lines.length] += ` tg_${Array.from(randomBytes(49), (b) => BASE62_ALPHABET[b % 62]).join('')}`;
    lines[(file * 17) % lines.length] += ` UPPER${apiKey}`;
    lines[(file * 19) % lines.length] += ` -H 'Authorization: Basic ${Buffer.from(`client-${file}:${generateApiKey().apiKey}`).toString('base64')}'`;
    // An env file as GNU base64 writes it: wrapped at 76 columns, the key split over two lines.
    const envFile = Buffer.from(`APP_ENV=production\nTOLLGATE_API_KEY=${generateApiKey().apiKey}\n`).toString('base64');
    lines[(file * 23) % lines.length] += `\n${envFile.replace(/(.{76})/g, '$1\n').trimEnd()}`;
    if (!ignored) scannerOnly += 3;
    const text = `${lines.join('\n')}\n`;
    writeFileSync(join(dir, `file${file}.ts`), text);
    if (!ignored) bytes += Buffer.byteLength(text);
  }
  return { root, bytes, planted: planted + scannerOnly, plantedForRegex: planted };
}

function timed(run: () => number): { cpuMs: number; wallMs: number; found: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const found = run();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started, found };
}

await runSuite<ScanArgs>(async ({ args, emit, progress, defer }) => {
  progress(`writing a ${args.mebibytes} MiB corpus`);
  const corpus = generate(args.mebibytes);
  defer(() => rmSync(corpus.root, { recursive: true, force: true }));
  const files = [...walkFiles(corpus.root)];
  const regex = new RegExp(API_KEY_PATTERN.source, 'g');

  const ours: number[] = [];
  const viaRegex: number[] = [];
  const readOnly: number[] = [];
  const wall: number[] = [];
  // One unreported warm-up round (JIT, page cache), then the rounds, interleaved.
  for (let round = 0; round <= args.rounds; round += 1) {
    const scan = timed(() => {
      let found = 0;
      for (const file of walkFiles(corpus.root)) found += findKeysInFile(file).length;
      return found;
    });
    if (scan.found !== corpus.planted) throw new Error(`scan found ${scan.found} keys, ${corpus.planted} were planted`);
    const regexScan = timed(() => {
      let found = 0;
      for (const file of files) for (const match of readFileSync(file).toString('latin1').matchAll(regex)) if (isWellFormedApiKey(match[0])) found += 1;
      return found;
    });
    if (regexScan.found !== corpus.plantedForRegex) throw new Error(`the regex found ${regexScan.found} keys, ${corpus.plantedForRegex} were planted`);
    const read = timed(() => {
      let total = 0;
      for (const file of files) total += readFileSync(file).length;
      return total;
    });
    if (round === 0) continue;
    const mb = corpus.bytes / 1e6;
    ours.push(mb / (scan.cpuMs / 1000));
    viaRegex.push(mb / (regexScan.cpuMs / 1000));
    readOnly.push(mb / (read.cpuMs / 1000));
    wall.push(scan.wallMs / 1000);
    progress(`round ${round}: ${Math.round(mb / (scan.cpuMs / 1000))} MB/s CPU, ${(scan.wallMs / 1000).toFixed(1)} s wall`);
  }
  const perGb = ours.map((rate) => 1000 / rate);
  emit(
    figure({
      id: 'S2',
      name: `tollgate scan of a ${Math.round(corpus.bytes / 1e6)} MB tree (${files.length} files), one core`,
      unit: 'MB/s (CPU)',
      samples: ours,
      comparison: {
        name: 'the published regex over the same bytes',
        unit: 'MB/s (CPU)',
        samples: viaRegex,
        pairedRatios: ours.map((rate, i) => rate / viaRegex[i]!),
      },
      target: { on: 'value', op: '>=', limit: 1000 / 30, text: '1 GB in well under a minute (≤ 30 s of CPU per GB)' },
      detail: {
        cpuSecondsPerGb: perGb,
        wallSeconds: wall,
        readOnlyMbPerCpuSecond: readOnly,
        keysPlanted: corpus.planted,
        files: files.length,
        bytes: corpus.bytes,
      },
    }),
  );
});
