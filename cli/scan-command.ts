/**
 * `npx tollgate scan [paths…]`: finds Tollgate API keys (any prefix, checksum verified
 * offline) in files, directories (as git sees them: git's own list in a work tree, tracked
 * files included; `.gitignore` applied outside one) or standard
 * input, prints `file:line:column` and the key id (never the key), and exits 1 when it found
 * one. `--revoke` submits what it found to the deployment's `POST /leaks/revoke`.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { LeakLimits, LeakPath } from '../common/leaks';
import { API_KEY_BODY_CHARS, API_KEY_IN_TEXT_PATTERN, apiKeyPrefixProblem, DEFAULT_API_KEY_PREFIX } from '../common/tokens';
import { hashApiKey, keyIdOf } from '../lambda/core/credentials/api-keys';
import type { ApiHttp } from '../client/api-http';
import { CliError, ExitCode, UsageError } from './errors';
import { displayPath } from './gitignore';
import { findKeysInFile, findKeysInName, findKeysInStream, type FoundKey } from './scan';
import { holdsEncodedKey, printableName, redactKeys } from './scan-redact';
import { listFiles } from './scan-files';

export interface ScanIo {
  readonly cwd: string;
  /** Where a file or directory that cannot be read is reported (the scan goes on, and then fails). */
  readonly stderr: (text: string) => void;
  /** Whether standard input was sent something (`CliDeps.stdinIsPiped`): then, with no path, it is what is scanned. */
  readonly stdinIsPiped: boolean;
  /** Standard input's raw bytes, in pieces: scanned as they arrive, never held whole. */
  readonly stdinBytes: () => AsyncIterable<Uint8Array>;
  /** The deployment's key prefixes (`--prefix`; default `tg_`): how a key glued to a preceding character is read. */
  readonly prefixes?: readonly string[];
}

export interface ScanFinding {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly keyId: string;
  readonly prefix: string;
  /** Lowercase letters or digits glued before the key (the `n` of a JSON `\n`), read as not part of it. */
  readonly precededBy?: string;
  /** The key is in the name `file` ends with (a file's or a directory's); `line` and `column` count in `file`, the path printed. */
  readonly inName?: true;
  /** The key was base64-encoded; `line` and `column` are where its encoding starts. */
  readonly encoding?: 'base64';
}

export interface ScanResult {
  readonly findings: readonly ScanFinding[];
  readonly filesScanned: number;
  readonly bytesScanned: number;
  /** Files and directories that could not be read (absent when none): the scan is incomplete. */
  readonly unreadable?: readonly string[];
  /** `--revoke`: whether the endpoint took the keys (it answers 202 whatever they were); false when the submission failed. */
  readonly revokeSubmitted?: boolean;
}

const STDIN = '-';

/** Some file or directory could not be read, and no key was found in the rest: the scan is incomplete, so it fails (exit 4, never 0). */
export class ScanIncomplete extends CliError {
  readonly exitCode = ExitCode.internal;
}

/**
 * Scans `paths` (none: standard input when it is a pipe or a file, else the working
 * directory: a git hook's or a cron job's `/dev/null` is no input, and scanning it would
 * pass a tree with a key in it).
 */
export async function scan(paths: readonly string[], io: ScanIo): Promise<{ result: Omit<ScanResult, 'revokeSubmitted'>; keys: string[] }> {
  const targets = paths.length > 0 ? paths : [io.stdinIsPiped ? STDIN : '.'];
  const findings: ScanFinding[] = [];
  const keys = new Set<string>();
  const unreadable: string[] = [];
  let filesScanned = 0;
  let bytesScanned = 0;
  const named = Boolean(io.prefixes?.length);
  const prefixes = named ? io.prefixes! : [DEFAULT_API_KEY_PREFIX];
  const record = (file: string, one: FoundKey, inName?: true) => {
    findings.push({ file: redactKeys(file), ...reading(one, prefixes, named), ...(inName && { inName }) });
    // --revoke submits every reading of what matched, read this way or not.
    keys.add(one.key);
  };
  // A key in a directory's name is reported once, not for every file under it.
  const namesReported = new Set<string>();
  const recordName = (path: string) => {
    const bytes = Buffer.from(path, 'utf8');
    for (const one of findKeysInName(path)) {
      const slash = bytes.indexOf(0x2f, one.end);
      const name = bytes.subarray(0, slash === -1 ? bytes.length : slash).toString('utf8');
      if (namesReported.has(name)) continue;
      namesReported.add(name);
      record(name, one, true);
    }
  };
  const cannotRead = (path: string, error: unknown) => {
    const shown = redactKeys(displayPath(path, io.cwd));
    unreadable.push(shown);
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    io.stderr(`tollgate: ${printableName(shown)}: ${printableName(redactKeys(String(reason)))}, not read\n`);
  };
  for (const target of targets) {
    if (target === STDIN) {
      const { found, bytes } = await findKeysInStream(io.stdinBytes());
      filesScanned += 1;
      bytesScanned += bytes;
      for (const one of found) record('(stdin)', one);
      continue;
    }
    // A key given as a path (a paste into the wrong place), or its base64, is never echoed in an error. A path is
    // only looked up here, never sent: one that merely holds a key glued to other text is looked up like any other.
    const pasted = API_KEY_IN_TEXT_PATTERN.test(target) ? 'an API key' : holdsEncodedKey(target) ? 'a base64-encoded API key' : undefined;
    if (pasted) throw new UsageError(`that argument is ${pasted}, not a path; nothing was scanned. To scan text, pipe it in: … | npx tollgate scan`);
    const absolute = resolve(io.cwd, target);
    const stat = statSync(absolute, { throwIfNoEntry: false });
    if (!stat) throw new UsageError(`${target}: no such file or directory`);
    // A file named explicitly is scanned even if ignored: the user asked for it.
    const files = stat.isDirectory() ? listFiles(absolute, cannotRead).files : [absolute];
    for (const file of files) {
      const path = displayPath(file, io.cwd);
      recordName(path);
      filesScanned += 1;
      bytesScanned += statSync(file, { throwIfNoEntry: false })?.size ?? 0;
      try {
        for (const one of findKeysInFile(file)) record(path, one);
      } catch (error) {
        cannotRead(file, error);
      }
    }
  }
  const result = { findings, filesScanned, bytesScanned, ...(unreadable.length > 0 ? { unreadable } : {}) };
  return { result, keys: [...keys] };
}

/** A prefix that starts with two hex digits: what a `%` escape's tail glued to a key looks like. */
const HEX_PAIR = /^[0-9a-f]{2}/;

/**
 * How a found key is reported. The match takes every lowercase letter or digit before the `_`
 * (up to 10) as its prefix, so a key glued to a preceding one (`…\ntg_…` in JSON) matches as
 * `ntg_…`, whose key id is no key's. Such a match is read under a shorter prefix that ends it
 * (the longest such, as `--revoke`'s hash lookup would find it), with the letters before it
 * as `precededBy`, when either
 * - the operator `named` the deployment's prefixes (`--prefix`): a longer one is none of them; or
 * - one letter is glued after a backslash (an escape: `\n`, `\t`), or two hex digits after a
 *   `%` (a URL's lower-case escape: `%3d`, `=`), and the rest is the default `tg_`.
 * A base64-encoded key is read the same way: letters glued before its encoding may decode to
 * lowercase letters or digits before it, as a glued word does in text, and `--prefix` tells.
 * Otherwise the prefix is reported whole: with the default alone, `stg_` is a prefix a
 * deployment may use, not `tg_` after a glued `s`.
 */
export function reading(found: FoundKey, prefixes: readonly string[], named: boolean): Omit<ScanFinding, 'file'> {
  const { key, line, column, keyId, prefix, escaped, encoding } = found;
  const whole = { line, column, keyId, prefix, ...(encoding && { encoding }) };
  if (prefixes.includes(prefix)) return whole;
  const known = prefixes.filter((candidate) => prefix.endsWith(candidate)).sort((a, b) => b.length - a.length)[0];
  if (known === undefined) return whole;
  const glued = prefix.length - known.length;
  const escapeTail = (escaped === '\\' && glued === 1) || (escaped === '%' && glued === 2 && HEX_PAIR.test(prefix));
  if (!named && !escapeTail) return whole;
  // In an encoding, the glued bytes are decoded ones: the column stays where the encoding of the match starts.
  return {
    line,
    column: encoding ? column : column + glued,
    keyId: keyIdOf(hashApiKey(key.slice(glued))),
    prefix: known,
    precededBy: prefix.slice(0, glued),
    ...(encoding && { encoding }),
  };
}

/**
 * What `--revoke` submits for one found key: the key, and the same body under each shorter
 * prefix. A key glued to preceding lowercase letters or digits matches with a longer prefix
 * than it was issued with (the checksum covers only the body), and the endpoint's hash lookup,
 * not the scanner, can tell which one is real.
 */
export function revocationCandidates(key: string): string[] {
  const body = key.slice(-API_KEY_BODY_CHARS);
  const prefix = key.slice(0, -API_KEY_BODY_CHARS - 1);
  return Array.from({ length: prefix.length - 1 }, (_, drop) => `${prefix.slice(drop)}_${body}`);
}

/**
 * Submits keys to `POST /leaks/revoke` in batches of the endpoint's maximum. A failure after
 * some batches were taken says how many credentials were.
 */
export async function submitForRevocation(http: ApiHttp, keys: readonly string[]): Promise<void> {
  const candidates = [...new Set(keys.flatMap(revocationCandidates))];
  for (let start = 0; start < candidates.length; start += LeakLimits.maxCredentials) {
    try {
      await http.send({ method: 'POST', path: LeakPath.revoke, json: { credentials: candidates.slice(start, start + LeakLimits.maxCredentials) } });
    } catch (error) {
      if (start === 0) throw error;
      throw new Error(`${(error as Error).message} (after ${start} of ${candidates.length} credentials were submitted)`);
    }
  }
}

/**
 * The findings and a summary. `advise`: how to revoke them; `revoking`: the count only, as
 * `--revoke` prints it before it submits them (and then says how that went).
 */
export function renderScan(result: ScanResult, summary: 'advise' | 'revoking'): string {
  const lines = result.findings.map(
    (finding) =>
      (finding.inName
        ? `${printableName(finding.file)}: Tollgate API key ${finding.keyId} in this name, at ${finding.line}:${finding.column} (prefix ${finding.prefix}`
        : `${printableName(finding.file)}:${finding.line}:${finding.column}: Tollgate API key ${finding.keyId} (prefix ${finding.prefix}`) +
      (finding.encoding ? `, ${finding.encoding}-encoded` : '') +
      (finding.precededBy === undefined ? ')' : `; the "${finding.precededBy}" glued before it is not part of it)`),
  );
  const unread = result.unreadable ? ` ${result.unreadable.length} file(s) or director(ies) could not be read.` : '';
  if (result.findings.length === 0) return [...lines, `No Tollgate API keys in ${result.filesScanned} file(s).${unread}`].join('\n');
  const count = `${result.findings.length} Tollgate API key(s) in ${result.filesScanned} file(s).${unread}`;
  const advice = ' Revoke them: npx tollgate scan --revoke …, or roll them (npx tollgate keys roll <keyId>).';
  return [...lines, summary === 'advise' ? count + advice : count].join('\n');
}

/** The command, without its action (`leak-commands.ts` adds it with the program's context). */
export function scanCommand(): Command {
  return new Command('scan')
    .description('find Tollgate API keys, plain or base64-encoded, in files, directories (as git sees them) or stdin; exit 1 if any')
    .argument('[paths...]', `files or directories (default: the working directory, or standard input when it is a pipe or a file; "${STDIN}": standard input)`)
    .option('--revoke', `submit every key found to the deployment's ${LeakPath.revoke} (no admin token needed)`)
    .option(
      '--prefix <prefix>',
      `the deployment's apiKeyPrefix, again for each earlier one (default ${DEFAULT_API_KEY_PREFIX}): a key glued to letters or digits before it is read under it`,
      prefixList,
    )
    .addHelpText(
      'after',
      [
        '',
        'Keys of any prefix are found, base64-encoded ones too; the checksum is verified offline, so look-alikes are never reported.',
        'Prints file:line:column and the key id (key_…), never the key. Exit status: 0 none found, 1 found (also when --revoke fails), 2 bad path,',
        '4 internal error or something could not be read (when nothing was found in the rest).',
        'Examples:',
        '  npx tollgate scan .',
        '  git diff --cached | npx tollgate scan',
        '  npx tollgate scan --json build/ > findings.json',
        '  npx tollgate scan --prefix acme_ logs/',
        '  npx tollgate --stack Tollgate scan --revoke logs/',
      ].join('\n'),
    );
}

function prefixList(value: string, previous: string[] | undefined): string[] {
  const problem = apiKeyPrefixProblem(value);
  if (problem) throw new InvalidArgumentError(`${problem}.`);
  return [...(previous ?? []), value];
}
