/**
 * `@tollgate/cdk` as a team gets it: `npm run build -- cdk`, `npm pack`, and an offline
 * `npm install` of the tarball, with `aws-cdk-lib`, `constructs`, `cdk-nag` and `@types/node`
 * at the repository's versions, into a fresh project outside the repository. Then
 * - a plain-JS `.mjs` app, run by `node` as a child process, puts `Tollgate` in its own stack
 *   and synthesizes offline with cdk-nag's AwsSolutionsChecks: no finding is left
 *   unacknowledged, the resources (types and counts) are those of this repository's app, the
 *   functions have its handlers and runtime, and every function's asset is the package's own
 *   prebuilt bundle (the project has no esbuild and no handler sources to build one from);
 * - the same app with a bad setting fails at construction with the ConfigError naming it;
 * - a `.ts` app type-checks against the published declarations (nodenext, strict, library
 *   checks on), and a misspelt setting in a second file is refused.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Functions, type FunctionName } from '../../common/functions';
import { buildApp, resourceCounts, UPSTREAM } from '../infra/app';
import { buildPackAndInstall, exec, ok, REPO, type PackEntry } from '../support/packed-package';
import { tempDirs } from '../support/temp-dirs';

const require = createRequire(import.meta.url);
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const tempDir = tempDirs('tollgate-cdk-package-');
/** The fixture's own dependencies, at exactly the repository's locked versions (all in the npm cache). */
const FIXTURE_DEPENDENCIES = ['aws-cdk-lib', 'constructs', 'cdk-nag', '@types/node'];

/** A team's CDK app: Tollgate inside its own stack, cdk-nag on, settings from the environment. */
const APP_FIXTURE = `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, Tollgate } from '@tollgate/cdk';

const app = new App({ outdir: process.env.OUTDIR });
const stack = new Stack(app, 'Orders');
try {
  new Tollgate(stack, 'Auth', { settings: JSON.parse(process.env.SETTINGS) });
} catch (error) {
  console.log(JSON.stringify({ error: error.name, setting: error.setting, isConfigError: error instanceof ConfigError, message: error.message }));
  process.exit(3);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
console.log(JSON.stringify({ synthesized: true }));
`;

/** The public API the way a TypeScript CDK app uses it; must type-check cleanly. */
const TYPED_FIXTURE = `import { App, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  ConfigError,
  readConfig,
  SETTINGS,
  StackOutput,
  Tollgate,
  TollgateApiStack,
  TollgateDataStack,
  type ServiceDefinition,
  type SettingName,
  type TollgateConfig,
  type TollgateSettings,
} from '@tollgate/cdk';

const services: ServiceDefinition[] = [
  { name: 'orders', pathPrefix: '/orders', upstreamUrl: 'https://orders.internal.example.com', routes: [{ method: 'GET', path: '/{proxy+}', scopes: ['orders:read'] }] },
];
const settings: TollgateSettings = { services, tokenTtlSeconds: 900, forwardBearerToken: false, operatorPrincipals: ['arn:aws:iam::123456789012:role/ops'] };

class OrdersStack extends Stack {
  readonly tokenUrl: string;
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const auth = new Tollgate(this, 'Auth', { settings, requireUsageKey: false });
    this.tokenUrl = \`\${auth.api.gateway.api.url}oauth/token\`;
    auth.api.functions.authorizer.fn.addEnvironment('EXTRA', '1');
    const ttl: number = auth.config.tokenTtlSeconds;
    console.log(ttl, auth.data.tables, auth.api.issuer);
  }
}

const app = new App();
new OrdersStack(app, 'Orders');
const names: readonly SettingName[] = SETTINGS;
let config: TollgateConfig;
try {
  config = readConfig((name) => settings[name], Object.keys(settings));
} catch (error) {
  if (error instanceof ConfigError) throw new Error(\`\${error.setting}: \${error.message}\`);
  throw error;
}
const data = new TollgateDataStack(app, 'TollgateData');
new TollgateApiStack(app, 'Tollgate', { config, tables: data.data.tables });
console.log(names.length, StackOutput.apiUrl);
`;

/** A setting's name is checked by the type too: tsc has to refuse this. */
const MISUSE_FIXTURE = `import { App, Stack } from 'aws-cdk-lib';
import { Tollgate } from '@tollgate/cdk';

new Tollgate(new Stack(new App(), 'Orders'), 'Auth', { settings: { upstreamUrl: 'https://orders.example.com', tokenTTLSeconds: 900 } });
`;

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

describe('@tollgate/cdk, packed and installed into a fresh CDK app', () => {
  let app: string;
  let packageDir: string;
  let packed: PackEntry;
  let installed: string;

  beforeAll(async () => {
    ({ packageDir, packed, app } = await buildPackAndInstall(
      'cdk',
      tempDir('pack-'),
      tempDir('app-'),
      {
        name: 'fixture-cdk-app',
        type: 'module',
      },
      FIXTURE_DEPENDENCIES,
    ));
    installed = join(app, 'node_modules', '@tollgate', 'cdk');
    writeFileSync(join(app, 'app.mjs'), APP_FIXTURE);
  }, 240_000);

  /** Each function's asset, as CDK staged it into the cloud assembly at `outdir`, is the package's bundle. */
  const expectPackagedAssets = (outdir: string) => {
    const resources = (JSON.parse(readFileSync(join(outdir, 'Orders.template.json'), 'utf8')) as { Resources: Resources }).Resources;
    for (const name of Object.keys(Functions) as FunctionName[]) {
      const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `Tollgate ${name}`)!;
      // The code's S3 key is `<asset hash>.zip`; the staged copy sits in `asset.<hash>` of the assembly.
      const staged = join(outdir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(readdirSync(staged).sort(), name).toEqual(['index.mjs', 'index.mjs.map']);
      for (const file of ['index.mjs', 'index.mjs.map']) {
        expect(readFileSync(join(staged, file)).equals(readFileSync(join(installed, 'dist', 'functions', name, file))), `${name}/${file}`).toBe(true);
      }
    }
  };

  const synth = (settings: Record<string, unknown>, outdir: string) =>
    exec(process.execPath, ['app.mjs'], app, { OUTDIR: outdir, SETTINGS: JSON.stringify(settings), CDK_DISABLE_VERSION_CHECK: '1' });

  it('packs the bundle, the prebuilt functions and the declarations, and nothing else', async () => {
    const [dryRun] = JSON.parse(await ok('npm', ['pack', '--dry-run', '--json'], packageDir)) as [PackEntry];
    const paths = dryRun.files.map((file) => file.path).sort();
    const functions = Object.keys(Functions).flatMap((name) => [`dist/functions/${name}/index.mjs`, `dist/functions/${name}/index.mjs.map`]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/THIRD-PARTY-LICENSES.txt',
        'dist/types/lib/index.d.ts',
        ...functions,
      ]),
    );
    // Exactly the seven functions' folders, each with its bundle and source map.
    expect(paths.filter((path) => path.startsWith('dist/functions/'))).toEqual([...functions].sort());
    for (const path of paths)
      expect(path).toMatch(
        /^(LICENSE|package\.json|README\.md|dist\/index\.js|dist\/THIRD-PARTY-LICENSES\.txt|dist\/functions\/[a-z]+\/index\.mjs(\.map)?|dist\/types\/(lib|common)\/[a-z/-]+\.d\.ts)$/,
      );
    expect(packed.files.map((file) => file.path).sort()).toEqual(paths);
    expect(readFileSync(join(app, 'node_modules', '@tollgate', 'cdk', 'LICENSE'), 'utf8')).toBe(readFileSync(join(REPO, 'LICENSE'), 'utf8'));
    console.info(`@tollgate/cdk tarball: ${packed.size} B packed, ${packed.unpackedSize} B unpacked, ${paths.length} files`);
  });

  it('declares aws-cdk-lib and constructs as its only (peer) dependencies, and brings no builder with it', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.optionalDependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    // Nothing in the project could bundle a handler: no esbuild, no TypeScript sources.
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    const shipped = readdirSync(installed, { recursive: true, encoding: 'utf8' });
    expect(shipped.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('synthesizes Tollgate inside the app’s own stack, cdk-nag clean, with the resources of this repository’s app and the package’s prebuilt functions', async () => {
    const outdir = tempDir('cdk.out-');
    const result = await synth({ upstreamUrl: UPSTREAM }, outdir);
    expect(result.stderr).not.toMatch(/AwsSolutions-|esbuild|docker/i);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ synthesized: true });
    const resources = (JSON.parse(readFileSync(join(outdir, 'Orders.template.json'), 'utf8')) as { Resources: Resources }).Resources;

    const repo = buildApp();
    const repoResources = [repo.data, repo.api].map((stack) => Template.fromStack(stack).toJSON().Resources as Resources);
    expect(resourceCounts([resources])).toEqual(resourceCounts(repoResources));
    const functions = (all: readonly Resources[]) =>
      all
        .flatMap((r) => Object.values(r))
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => [r.Properties.Description, r.Properties.Handler, r.Properties.Runtime, r.Properties.Architectures, r.Properties.MemorySize])
        .sort();
    expect(functions([resources])).toEqual(functions(repoResources));

    expectPackagedAssets(outdir);
  }, 120_000);

  it('ships source maps that name only the handlers’ own sources and their bundled packages, by relative path', () => {
    for (const name of Object.keys(Functions)) {
      const { sources } = JSON.parse(readFileSync(join(installed, 'dist', 'functions', name, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      expect(sources.length, name).toBeGreaterThan(0);
      for (const source of sources) {
        expect(isAbsolute(source) || /^[a-z]+:/i.test(source), `${name}: ${source}`).toBe(false);
        // From the repository: lambda/ and common/ only (never test/, local/, bench/, cli/ or lib/); else a package.
        const inRepository = source.replace(/^(\.\.\/)+/, '');
        if (!source.includes('/node_modules/')) expect(inRepository, name).toMatch(/^(lambda|common)\//);
        // A package by its folder only: the build dropped the dependencies' mappings (lib/source-maps.ts).
        else expect(source, name).toMatch(/\/node_modules\/(?:@[^/]+\/)?[^/]+\/$/);
      }
    }
  });

  it('carries the license of every third-party package its function bundles hold', () => {
    const notices = readFileSync(join(installed, 'dist', 'THIRD-PARTY-LICENSES.txt'), 'utf8');
    const listed = new Set([...notices.matchAll(/^((?:@[^/\s]+\/)?[^@\s]+)@\d[^\s]* \(/gm)].map((match) => match[1]));
    const bundled = new Set<string>();
    for (const name of Object.keys(Functions)) {
      const { sources } = JSON.parse(readFileSync(join(installed, 'dist', 'functions', name, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
        if (match) bundled.add(match[1]!);
      }
    }
    expect(bundled).toContain('zod');
    expect(bundled).toContain('@aws/lambda-invoke-store');
    expect([...listed].sort()).toEqual([...bundled].sort());
    // The Apache-2.0 and MIT texts themselves, not only the names.
    expect(notices).toContain('Apache License');
    expect(notices).toMatch(/Permission is hereby granted, free of charge/);
  });

  describe('takes no function code from CDK context', () => {
    /** A handler that would allow every request: what an attacker would swap in. */
    const evil = () => {
      const dir = tempDir('evil-');
      for (const name of Object.keys(Functions)) {
        mkdirSync(join(dir, name));
        writeFileSync(
          join(dir, name, 'index.mjs'),
          'export const handler = async () => ({ principalId: "x", policyDocument: { Statement: [{ Effect: "Allow" }] } });\n',
        );
      }
      return dir;
    };
    const cdk = join(REPO, 'node_modules', 'aws-cdk', 'bin', 'cdk');

    it('from cdk.context.json, through the CDK CLI', async () => {
      const outdir = tempDir('cdk.out-');
      writeFileSync(join(app, 'cdk.context.json'), JSON.stringify({ 'tollgate:functionCode': { prebuilt: evil() } }));
      try {
        const result = await exec(process.execPath, [cdk, 'synth', '--quiet', '--no-notices', '--app', 'node app.mjs', '--output', outdir], app, {
          OUTDIR: outdir,
          SETTINGS: JSON.stringify({ upstreamUrl: UPSTREAM }),
          CDK_DISABLE_VERSION_CHECK: '1',
          CDK_DISABLE_CLI_TELEMETRY: 'true',
        });
        expect(result.code, result.stderr).toBe(0);
        expectPackagedAssets(outdir);
      } finally {
        rmSync(join(app, 'cdk.context.json'));
      }
    }, 120_000);

    it('from CDK_CONTEXT_JSON', async () => {
      const outdir = tempDir('cdk.out-');
      const result = await exec(process.execPath, ['app.mjs'], app, {
        OUTDIR: outdir,
        SETTINGS: JSON.stringify({ upstreamUrl: UPSTREAM }),
        CDK_DISABLE_VERSION_CHECK: '1',
        CDK_CONTEXT_JSON: JSON.stringify({ 'tollgate:functionCode': { prebuilt: evil() } }),
      });
      expect(result.code, result.stderr).toBe(0);
      expectPackagedAssets(outdir);
    }, 60_000);
  });

  it('refuses at synth a prebuilt function whose files are not those the package was built with', async () => {
    const file = join(installed, 'dist', 'functions', 'authorizer', 'index.mjs');
    const original = readFileSync(file);
    writeFileSync(file, 'export const handler = async () => ({ principalId: "x" });\n');
    try {
      const result = await synth({ upstreamUrl: UPSTREAM }, tempDir('cdk.out-'));
      // The fixture reports an error at construction on stdout and exits 3.
      expect(result.code).toBe(3);
      expect(JSON.parse(result.stdout).message).toMatch(/functions\/authorizer\/index\.mjs is not the file the package was built with .*reinstall the package/);
    } finally {
      writeFileSync(file, original);
    }
    const extra = join(installed, 'dist', 'functions', 'token', 'extra.js');
    writeFileSync(extra, '');
    try {
      const result = await synth({ upstreamUrl: UPSTREAM }, tempDir('cdk.out-'));
      expect(result.code).toBe(3);
      expect(JSON.parse(result.stdout).message).toMatch(
        /functions\/token holds extra\.js, index\.mjs, index\.mjs\.map, not index\.mjs, index\.mjs\.map as built/,
      );
    } finally {
      rmSync(extra);
    }
  }, 60_000);

  it('fails at construction with the ConfigError naming a bad setting', async () => {
    const result = await synth({ upstreamUrl: UPSTREAM, tokenTtlSeconds: 7200 }, tempDir('cdk.out-'));
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({
      error: 'ConfigError',
      setting: 'tokenTtlSeconds',
      isConfigError: true,
      message: 'Invalid Tollgate configuration: tokenTtlSeconds must be a whole number from 60 to 3600, got 7200',
    });
  }, 60_000);

  const typecheck = (file: string) =>
    exec(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', file],
      app,
    );

  it('type-checks a TypeScript CDK app against the published declarations, and refuses a misspelt setting', async () => {
    writeFileSync(join(app, 'orders.ts'), TYPED_FIXTURE);
    writeFileSync(join(app, 'misuse.ts'), MISUSE_FIXTURE);
    const good = await typecheck('orders.ts');
    expect(good.stdout + good.stderr).toBe('');
    expect(good.code).toBe(0);
    const bad = await typecheck('misuse.ts');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(
      /misuse\.ts\(\d+,\d+\): error TS2561: .*'tokenTTLSeconds' does not exist in type 'TollgateSettings'\. Did you mean to write 'tokenTtlSeconds'\?/,
    );
  }, 60_000);
});
