/**
 * Builds `@tollgate/cli` (packages/cli/dist):
 * - dist/tollgate.js: `cli/main.ts` and everything it imports, third-party code included
 *   (commander, zod, the AWS SDK's CloudFormation client, credential chain and SigV4 signer),
 *   bundled into one executable ES module with a `#!/usr/bin/env node` line, so the package
 *   declares no dependencies and installs offline from its tarball alone. Platform node,
 *   target node20 (the bundled AWS SDK and commander require Node 20), not minified: minifying
 *   would take the tarball from about 430 kB to 305 kB (2.7 MB to 1.4 MB installed), a
 *   one-off download for an operator tool; unminified, the code an operator runs can be
 *   read and audited, and the stack traces Node prints for a crash outside the CLI's own error
 *   handling name real functions. The bundle may import nothing but Node builtins.
 * - dist/THIRD-PARTY-LICENSES.txt: the license texts of every bundled third-party package
 *   (all MIT, MIT-0, Apache-2.0 or 0BSD). esbuild's `legalComments: 'eof'` also keeps the few
 *   `/*!` notices in the bundle itself, but most packages carry their license only as a
 *   LICENSE file, which is why this file is written too.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { BuildError, bundledPackages, disallowedImports, root, thirdPartyLicenses } from './shared.mjs';

const cliDist = join(root, 'packages', 'cli', 'dist');
const cliEntry = join(root, 'cli', 'main.ts');

/** Bundled packages that must not end up in the CLI: it runs as plain JavaScript, no loader. */
const FORBIDDEN_IN_CLI = ['tsx', 'esbuild', 'typescript'];

async function bundleCli() {
  const outfile = join(cliDist, 'tollgate.js');
  const result = await build({
    entryPoints: [cliEntry],
    // Input paths in the metafile are relative to this; the licence collection joins them to root.
    absWorkingDir: root,
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: false,
    metafile: true,
    logLevel: 'warning',
    legalComments: 'eof',
    banner: {
      js: [
        '#!/usr/bin/env node',
        '// @tollgate/cli: built from cli/main.ts by scripts/build-packages.mjs.',
        // Bundled CommonJS packages (the AWS SDK, commander) call require() for Node builtins;
        // an ES module has no require, so give the bundle one.
        "import { createRequire as __tollgateCreateRequire } from 'node:module';",
        'const require = __tollgateCreateRequire(import.meta.url);',
      ].join('\n'),
    },
  });
  const problems = disallowedImports(result.metafile, isBuiltin, 'only Node builtins are allowed');
  const packages = bundledPackages(Object.keys(result.metafile.inputs));
  for (const name of new Set(packages.values())) {
    if (FORBIDDEN_IN_CLI.includes(name)) problems.push(`bundles "${name}", which the installed CLI must not need`);
  }
  if (problems.length > 0) throw new BuildError(`The CLI bundle must run from its tarball alone:\n  ${problems.join('\n  ')}`);
  // npm packs the executable bit as it finds it; the bin must be executable once installed.
  chmodSync(outfile, 0o755);
  writeFileSync(join(cliDist, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(packages, '@tollgate/cli (dist/tollgate.js)'));
  return [...new Set(packages.values())].sort();
}

export async function buildCli() {
  rmSync(cliDist, { recursive: true, force: true });
  mkdirSync(cliDist, { recursive: true });
  const bundled = await bundleCli();
  console.log(`Built ${relative(root, cliDist)}: tollgate.js from cli/main.ts with ${bundled.length} third-party packages (${bundled.join(', ')}).`);
}
