/**
 * Builds the publishable packages under packages/: `@tollgate/client`, `@tollgate/cli` and
 * `@tollgate/cdk`, each by its module in scripts/packages/ (client.mjs, cli.mjs, cdk.mjs, which
 * say what goes into its dist; shared.mjs holds what several use).
 *
 * Each package also gets a copy of the repository's LICENSE (Apache-2.0) at its root.
 *
 * Usage: `npm run build` (or `node scripts/build-packages.mjs`) builds all three;
 * `npm run build -- cli` (or `client`, `cdk`) builds only the one named, leaving the others'
 * dist alone, so the package tests can build in parallel without removing each other's files.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCdk } from './packages/cdk.mjs';
import { buildCli } from './packages/cli.mjs';
import { buildClient } from './packages/client.mjs';
import { BuildError, root } from './packages/shared.mjs';

const BUILDERS = { client: buildClient, cli: buildCli, cdk: buildCdk };

try {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !Object.hasOwn(BUILDERS, name));
  if (unknown.length > 0) throw new BuildError(`unknown package ${unknown.join(', ')}; choose from ${Object.keys(BUILDERS).join(', ')}`);
  for (const name of requested.length > 0 ? requested : Object.keys(BUILDERS)) {
    await BUILDERS[name]();
    // The project's license, where npm looks for it (always packed; ignored by git as a copy).
    copyFileSync(join(root, 'LICENSE'), join(root, 'packages', name, 'LICENSE'));
  }
} catch (error) {
  console.error(error instanceof BuildError ? `build-packages: ${error.message}` : error);
  process.exitCode = 1;
}
