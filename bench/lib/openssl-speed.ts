/**
 * OpenSSL's own verification loop (`openssl speed`): the signature math of one algorithm
 * with its context set up once, i.e. without the per-call work `crypto.verify` does
 * (argument checks, a job object, an EVP context and method fetch per call) and without
 * hashing the signing input (it verifies a fixed digest). It is the floor under P1's
 * baseline, so the bench can show how much of a verification no JavaScript can remove.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { JwsAlgorithm } from '../../common/tokens';

/** The `openssl speed` test for each algorithm's keys as the bench generates them. */
const SPEED_TEST: Readonly<Record<JwsAlgorithm, { readonly name: string; readonly bits: number }>> = {
  ES256: { name: 'ecdsap256', bits: 256 },
  RS256: { name: 'rsa2048', bits: 2048 },
};

export interface OpensslSpeed {
  /** Verifications per CPU-second (`openssl speed` counts user CPU time unless told `-elapsed`). */
  readonly verifiesPerSecond: number;
  /** The command, as run. */
  readonly command: string;
  /** `openssl version` of the binary that ran it. */
  readonly version: string;
}

/**
 * Runs `openssl speed -mr` for `seconds` and returns its verify rate, without blocking the
 * suite's event loop. Rejects when there is no `openssl`, when it is not OpenSSL 3, whose
 * `-mr` lines give rates (LibreSSL's and OpenSSL 1.1's differ), or when it is of another
 * release series than `linked`, the OpenSSL the measuring Node.js links (Node 24 links 3.5
 * where Debian 12's openssl is 3.0): then its loop is not the math under that Node's
 * `crypto.verify`. The caller reports the figure as missing rather than guessing.
 */
export async function opensslVerifySpeed(alg: JwsAlgorithm, seconds: number, linked = process.versions.openssl): Promise<OpensslSpeed> {
  const { name, bits } = SPEED_TEST[alg];
  const args = ['speed', '-seconds', String(seconds), '-mr', name];
  const run = async (argv: string[]) => (await execFileAsync('openssl', argv, { encoding: 'utf8', timeout: (seconds + 30) * 1000 })).stdout;
  const version = (await run(['version'])).trim();
  if (!/^OpenSSL 3\./.test(version)) throw new Error(`openssl speed: needs OpenSSL 3 (its -mr lines give rates), found "${version}"`);
  if (opensslSeries(version) !== opensslSeries(linked)) {
    throw new Error(`openssl speed: the machine's openssl is "${version}", of another series than the OpenSSL ${linked} this Node.js links`);
  }
  return { verifiesPerSecond: parseVerifyRate(await run(args), bits), command: `openssl ${args.join(' ')}`, version };
}

const execFileAsync = promisify(execFile);

/**
 * The release series (`3.0`) of `openssl version`'s answer (`OpenSSL 3.0.19 27 Jan 2026 …`)
 * or of `process.versions.openssl` (`3.0.19`, `3.5.4+quic`); undefined for anything else.
 */
export function opensslSeries(version: string): string | undefined {
  return /^(?:OpenSSL )?(\d+\.\d+)\.\d+/.exec(version)?.[1];
}

/**
 * The verify rate from OpenSSL 3's `-mr` result line for a key of `bits` bits:
 * `+F<n>:<index>:<bits>:<signs/s>:<verifies/s>` (`+F2` RSA, `+F4` ECDSA).
 */
export function parseVerifyRate(output: string, bits: number): number {
  for (const line of output.split('\n')) {
    const match = /^\+F[24]:\d+:(\d+):([0-9.]+):([0-9.]+)$/.exec(line.trim());
    if (match === null || Number(match[1]) !== bits) continue;
    const rate = Number(match[3]);
    if (!(rate > 0) || !Number.isFinite(rate)) break;
    return rate;
  }
  throw new Error(`openssl speed: no verify rate for ${bits}-bit keys in its output`);
}
