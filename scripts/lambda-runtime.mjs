/**
 * The first step of `npm test` and `npm run bench` (`pretest`, `prebench`): makes sure
 * `test/lambda-runtime/` holds the Node.js its lockfile pins for this platform, the major the
 * functions run on in AWS, which the tests that run the deployed bundles start them on and
 * the benchmark's function suites run on (`test/support/lambda-node.ts`). Installs it
 * from the npm registry when it is missing or another version; otherwise does nothing. Where
 * the lockfile has no package for this platform it installs nothing, and those tests say
 * what to do instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../test/lambda-runtime/', import.meta.url));
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const folder = `node_modules/node-${process.platform}-${process.arch}`;
const pinned = readJson(`${dir}package-lock.json`).packages[folder];
const installed = `${dir}${folder}/package.json`;
if (pinned === undefined) {
  process.stdout.write(
    `no Node.js package for ${process.platform}-${process.arch} in test/lambda-runtime/: set TOLLGATE_LAMBDA_NODE to a Node.js of the functions' major, or run the tests on one\n`,
  );
} else if (!(existsSync(installed) && readJson(installed).version === pinned.version)) {
  process.stdout.write(
    `installing Node.js ${pinned.version} to run the functions on their runtime's major in the tests and the benchmark (test/lambda-runtime/)\n`,
  );
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
}
