/**
 * A Node.js of the major the functions run on in AWS (`LAMBDA_NODE_MAJOR`), for the tests
 * that run the deployed bundles on it and the benchmark's function suites (`bench/run.ts`).
 * In order: `TOLLGATE_LAMBDA_NODE` (a path), this process's own Node.js when it is of that
 * major, or the one `npm test` and `npm run bench` install in
 * `test/lambda-runtime/` (`scripts/lambda-runtime.mjs`). None of them, or one of another
 * major: an error that says what to do, never a silent run on the wrong runtime.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLambdaNodeMajor, LAMBDA_NODE_MAJOR } from '../../common/functions';

export const LAMBDA_NODE_ENV = 'TOLLGATE_LAMBDA_NODE';

export interface LambdaNode {
  readonly path: string;
  /** As `process.versions.node` gives it. */
  readonly version: string;
}

const INSTALLED = fileURLToPath(new URL(`../lambda-runtime/node_modules/node-${process.platform}-${process.arch}/bin/node`, import.meta.url));

export function lambdaNode(): LambdaNode {
  const given = process.env[LAMBDA_NODE_ENV];
  const path = given || (isLambdaNodeMajor(process.versions.node) ? process.execPath : INSTALLED);
  if (!existsSync(path)) {
    throw new Error(
      `no Node.js ${LAMBDA_NODE_MAJOR} at ${path}: the first step of npm test and npm run bench installs one into test/lambda-runtime/ on linux-x64 and ` +
        'linux-arm64 (run `node scripts/lambda-runtime.mjs` if npm skipped it: ignore-scripts, or optional packages omitted); ' +
        `elsewhere set ${LAMBDA_NODE_ENV} to the path of a Node.js ${LAMBDA_NODE_MAJOR} binary`,
    );
  }
  // npm start runs `node` from PATH: a binary by another name would leave the system's Node.js in its place.
  if (basename(path) !== 'node') throw new Error(`${LAMBDA_NODE_ENV} must name a file called node (npm start runs \`node\` from PATH), got ${path}`);
  const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  if (!isLambdaNodeMajor(version)) throw new Error(`${path} is Node.js ${version}, not of the functions' major ${LAMBDA_NODE_MAJOR}`);
  return { path, version };
}
