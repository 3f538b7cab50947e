/**
 * `@tollgate/cli` as an operator gets it: `npm run build`, `npm pack`, an offline
 * `npm install` of the tarball into a fresh project outside the repository, then the
 * installed `tollgate` bin runs as a child process: its help, an admin command against real
 * local mode (the demo key `npm start` makes), and a usage error that must read exactly as
 * the repository's CLI prints it. Child processes run asynchronously: the stack lives in this
 * process and must keep serving.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceDemoKey, type DemoKey } from '../../local/demo-key';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { buildPackAndInstall, exec, ok, REPO, type PackEntry } from '../support/packed-package';
import { tempDirs } from '../support/temp-dirs';

const tempDir = tempDirs('tollgate-cli-package-');

/** The commands `tollgate --help` must list. */
const COMMANDS = ['keys', 'tokens', 'clients', 'limits', 'usage', 'anomalies', 'signing-keys', 'token', 'smoke', 'scan', 'scanner-rules', 'leak-response'];

describe('@tollgate/cli, packed and installed into a fresh project', () => {
  let stack: LocalStack | undefined;
  let app: string;
  let bin: string;
  let packageDir: string;
  let packed: PackEntry;
  let demo: DemoKey;

  beforeAll(async () => {
    ({ packageDir, packed, app } = await buildPackAndInstall('cli', tempDir('pack-'), tempDir('app-'), { name: 'fixture-operator' }));
    bin = join(app, 'node_modules', '.bin', 'tollgate');
    stack = await startLocalStack({ port: 0, dataDir: tempDir('state-'), fresh: true, log: () => undefined });
    demo = await replaceDemoKey(stack);
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
  });

  /** The installed bin, run from the fixture project (no .local/state.json there). */
  const installed = (args: readonly string[], env: NodeJS.ProcessEnv = {}) => exec(bin, args, app, { TOLLGATE_URL: '', TOLLGATE_ADMIN_TOKEN: '', ...env });

  it('packs only dist/*, package.json, README.md and the LICENSE', async () => {
    const [dryRun] = JSON.parse(await ok('npm', ['pack', '--dry-run', '--json'], packageDir)) as [PackEntry];
    const paths = dryRun.files.map((file) => file.path).sort();
    expect(paths).toEqual(['LICENSE', 'README.md', 'dist/THIRD-PARTY-LICENSES.txt', 'dist/tollgate.js', 'package.json']);
    expect(packed.files.map((file) => file.path).sort()).toEqual(paths);
    expect(readFileSync(join(app, 'node_modules', '@tollgate', 'cli', 'LICENSE'), 'utf8')).toBe(readFileSync(join(REPO, 'LICENSE'), 'utf8'));
    console.info(`@tollgate/cli tarball: ${packed.size} B packed, ${packed.unpackedSize} B unpacked, ${paths.length} files`);
  });

  it('installs with no dependencies, as an executable bin that needs no loader', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', '@tollgate', 'cli', 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@tollgate/cli');
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependencies).toBeUndefined();
    expect(manifest.optionalDependencies).toBeUndefined();
    // The fixture's lockfile: the root project and the one package, nothing pulled in with it.
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
    expect(Object.keys(lock.packages).sort()).toEqual(['', 'node_modules/@tollgate/cli']);
    const script = join(app, 'node_modules', '@tollgate', 'cli', 'dist', 'tollgate.js');
    expect(readFileSync(script, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
    expect(statSync(script).mode & 0o111).not.toBe(0);
    expect(readFileSync(script, 'utf8')).not.toMatch(/["']tsx(\/[^"']*)?["']/);
  });

  it('prints its help and lists every command', async () => {
    const result = await installed(['--help']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: tollgate /);
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('lists the demo client’s keys of a running local mode with the admin token from the environment', async () => {
    const result = await installed(['keys', 'list', 'demo', '--url', stack!.url], { TOLLGATE_ADMIN_TOKEN: stack!.adminToken });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(demo.keyId);
    // A secret never shows in a listing.
    expect(result.stdout).not.toContain(demo.apiKey);
  }, 60_000);

  it('refuses a non-http(s) --url with exit 2 and the repository CLI’s message', async () => {
    const args = ['keys', 'list', 'demo', '--url', 'ftp://x'];
    const result = await installed(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    // The repository's own entry point (`npx tollgate` in a clone), from the same folder.
    const fromRepo = await exec(process.execPath, [join(REPO, 'cli', 'tollgate.mjs'), ...args], app, { TOLLGATE_URL: '', TOLLGATE_ADMIN_TOKEN: '' });
    expect(fromRepo.code).toBe(2);
    expect(result.stderr).toBe(fromRepo.stderr);
    expect(result.stderr).toBe('tollgate: --url must be an http(s) URL: ftp://x\n');
  }, 60_000);
});
