/**
 * `node scripts/trim-source-map.mjs <bundle>`: what every build of a function does after
 * esbuild (`afterBuild` in lib/build-function.ts), for `NodejsFunction`'s `afterBundling` hook,
 * which runs commands: the bundle's source map (`<bundle>.map`) loses its dependencies'
 * mappings (lib/source-maps.ts).
 */
import { tsImport } from 'tsx/esm/api';

const [bundle] = process.argv.slice(2);
if (!bundle) {
  process.stderr.write('usage: node scripts/trim-source-map.mjs <bundle>\n');
  process.exit(2);
}
const { afterBuild } = await tsImport('../lib/build-function.ts', import.meta.url);
afterBuild(bundle);
