/**
 * Runs `bench/cold-start.mjs` once, in a fresh Node process without tsx and without the
 * caller's `NODE_OPTIONS` (as Lambda starts a function), and returns the timings it writes to
 * fd 3. Used by P5 (`bench/suites/bundle.ts`) and `bench/function-cold-start.ts`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const COLD_START = fileURLToPath(new URL('../cold-start.mjs', import.meta.url));

export interface ColdStartRun {
  /** Its arguments (`bundle <file>`, `sdk-floor …`, `first-error <file>`). */
  readonly args: readonly string[];
  /** Added to the caller's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default this process's node */
  readonly node?: string;
  /** Before the script, e.g. `--enable-source-maps`. */
  readonly nodeArgs?: readonly string[];
}

export function coldStart<T>({ args, env = {}, node = process.execPath, nodeArgs = [] }: ColdStartRun): Promise<T> {
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  const child = spawn(node, [...nodeArgs, COLD_START, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let result = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdio[3]!.on('data', (chunk: Buffer) => (result += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && result) resolve(JSON.parse(result) as T);
      else reject(new Error(`cold start ${args.join(' ')} exited with code ${code}: ${stderr}`));
    });
  });
}
