/**
 * K1: what installing a Tollgate package costs a user. Builds the packages
 * (`scripts/build-packages.mjs`), packs each with `npm pack --dry-run --json` and reports the
 * tarball's size, the size it unpacks to, and how many production dependencies an install
 * pulls in (its `dependencies`, which for `@tollgate/client` must stay empty: the target; `@tollgate/cli` bundles its
 * third-party code and declares none either, but its size is what the bundle costs), and
 * how many peer dependencies the user's project must provide (`@tollgate/cdk`: aws-cdk-lib
 * and constructs, the app's own copies; its size is mostly the prebuilt functions).
 * Sizes are exact, not sampled: one build, one value.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { figure } from '../lib/figure';
import { runSuite } from '../lib/suite';

export interface PackagesArgs {
  /** Folders under `packages/` to measure. */
  readonly packages: readonly string[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KB = 1000;

interface PackResult {
  readonly name: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
}

function packed(folder: string): PackResult {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', `./packages/${folder}`], { cwd: ROOT, encoding: 'utf8' });
  const [result] = JSON.parse(out) as PackResult[];
  if (!result) throw new Error(`npm pack printed no result for packages/${folder}`);
  return result;
}

await runSuite<PackagesArgs>(async ({ args, emit, progress }) => {
  progress('building the packages');
  execFileSync(process.execPath, ['scripts/build-packages.mjs'], { cwd: ROOT, stdio: 'pipe' });
  for (const folder of args.packages) {
    const pack = packed(folder);
    const manifest = JSON.parse(readFileSync(`${ROOT}packages/${folder}/package.json`, 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const dependencies = Object.keys(manifest.dependencies ?? {});
    const peerDependencies = Object.keys(manifest.peerDependencies ?? {});
    const detail = { package: pack.name, files: pack.entryCount, unpackedKB: pack.unpackedSize / KB, dependencies, peerDependencies };
    emit(figure({ id: `K1.${folder}.packed`, name: `${pack.name}: packed size`, unit: 'kB', samples: [pack.size / KB], detail }));
    emit(figure({ id: `K1.${folder}.unpacked`, name: `${pack.name}: installed size`, unit: 'kB', samples: [pack.unpackedSize / KB], detail }));
    emit(
      figure({
        id: `K1.${folder}.dependencies`,
        name: `${pack.name}: production dependencies`,
        unit: 'packages',
        samples: [dependencies.length],
        ...(folder === 'client' ? { target: { on: 'value' as const, op: '<=' as const, limit: 0, text: 'zero production dependencies' } } : {}),
        detail,
      }),
    );
    if (peerDependencies.length > 0) {
      emit(
        figure({
          id: `K1.${folder}.peerDependencies`,
          name: `${pack.name}: peer dependencies`,
          unit: 'packages',
          samples: [peerDependencies.length],
          detail,
        }),
      );
    }
  }
});
