/**
 * Runs `bench/cold-start.mjs` once, in a fresh Node process as Lambda starts a function:
 * without tsx, and with the functions' own `NODE_OPTIONS` (`FUNCTION_NODE_OPTIONS`; under
 * `--enable-source-maps` Node reads a bundle's map as it loads the bundle) in place of the
 * caller's. Returns the timings it writes to fd 3. Used by P5 (`bench/suites/bundle.ts`) and
 * `bench/function-cold-start.ts`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FUNCTION_NODE_OPTIONS } from '../../common/functions';

const COLD_START = fileURLToPath(new URL('../cold-start.mjs', import.meta.url));

export interface ColdStartRun {
  /** Its arguments (`bundle <file>`, `sdk-floor …`, `first-error <file>`). */
  readonly args: readonly string[];
  /** Added to the caller's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default this process's node */
  readonly node?: string;
}

export function coldStart<T>({ args, env = {}, node = process.execPath }: ColdStartRun): Promise<T> {
  const child = spawn(node, [COLD_START, ...args], {
    env: { ...process.env, ...env, NODE_OPTIONS: FUNCTION_NODE_OPTIONS },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
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
