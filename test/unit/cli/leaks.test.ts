/**
 * `tollgate scan` and `tollgate scanner-rules` through the real CLI: findings printed as
 * file:line:column and key id (never the key), exit 1 when found, `.gitignore` respected,
 * stdin, `--json`, `--revoke` against a recording stub; the rules parsed with each tool's own
 * format (TOML for gitleaks, YAML for trufflehog, JSON for GitHub) and their regex matched
 * against real keys, look-alikes and low-entropy strings.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, isWellFormedApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { KEY_ENTROPY_FLOOR } from '../../../cli/scanner-rules';
import { revocationCandidates } from '../../../cli/scan-command';
import { closedPortUrl, startHttpStub, type HttpStub } from '../../support/http-stub';
import { emptyDir, tollgate, writeLocalState } from './harness';

const stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

const keyIdOfKey = (key: string) => keyIdOf(hashApiKey(key));

function tree() {
  const cwd = emptyDir();
  const keys = {
    app: generateApiKey().apiKey,
    nested: generateApiKey(undefined, 'acme_').apiKey,
    ignored: generateApiKey().apiKey,
    reincluded: generateApiKey().apiKey,
  };
  mkdirSync(join(cwd, 'src', 'deep'), { recursive: true });
  mkdirSync(join(cwd, 'node_modules', 'pkg'), { recursive: true });
  mkdirSync(join(cwd, 'logs'), { recursive: true });
  writeFileSync(join(cwd, '.gitignore'), 'node_modules/\n*.log\n!keep.log\n');
  writeFileSync(join(cwd, 'src', 'app.ts'), `// config\nconst a = 1;\nexport const KEY = '${keys.app}';\n`);
  writeFileSync(join(cwd, 'src', 'deep', 'settings.env'), `OTHER=1\nTOLLGATE_KEY=${keys.nested}\n`);
  writeFileSync(join(cwd, 'node_modules', 'pkg', 'index.js'), `module.exports = '${keys.ignored}';\n`);
  writeFileSync(join(cwd, 'logs', 'run.log'), `${keys.ignored}\n`);
  writeFileSync(join(cwd, 'logs', 'keep.log'), `x ${keys.reincluded}\n`);
  // Look-alikes: a typo, the right shape with a random tail, a key with uppercase letters glued after it (a longer body).
  const typo = `${keys.app.slice(0, 10)}${keys.app[10] === 'Z' ? 'Y' : 'Z'}${keys.app.slice(11)}`;
  writeFileSync(join(cwd, 'src', 'lookalikes.txt'), `${typo}\ntg_${'x'.repeat(49)}\n${keys.app}XYZ\n`);
  return { cwd, keys };
}

describe('tollgate scan', () => {
  it('finds the keys in a tree as git sees it, prints file:line:column and the key id, never the key, exits 1', async () => {
    const { cwd, keys } = tree();
    const run = await tollgate(['scan', '.'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`logs/keep.log:1:3: Tollgate API key ${keyIdOfKey(keys.reincluded)} (prefix tg_)`);
    expect(run.stdout).toContain(`src/app.ts:3:21: Tollgate API key ${keyIdOfKey(keys.app)} (prefix tg_)`);
    expect(run.stdout).toContain(`src/deep/settings.env:2:14: Tollgate API key ${keyIdOfKey(keys.nested)} (prefix acme_)`);
    expect(run.stdout).toMatch(/^3 Tollgate API key\(s\) in 5 file\(s\)\./m);
    expect(run.stderr).toBe('tollgate: found 3 Tollgate API key(s)\n');
    for (const key of Object.values(keys)) expect(run.stdout + run.stderr).not.toContain(key);
    expect(run.stdout).not.toContain(keyIdOfKey(keys.ignored));
  });

  it('--json for CI, and exit 0 with nothing found', async () => {
    const { cwd, keys } = tree();
    const run = await tollgate(['--json', 'scan', 'src/app.ts'], { cwd });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      findings: [{ file: 'src/app.ts', line: 3, column: 21, keyId: keyIdOfKey(keys.app), prefix: 'tg_' }],
      filesScanned: 1,
      bytesScanned: expect.any(Number),
    });
    const clean = await tollgate(['scan', 'src/lookalikes.txt'], { cwd });
    expect(clean).toEqual({ code: 0, stdout: 'No Tollgate API keys in 1 file(s).\n', stderr: '' });
  });

  it('reads standard input from a pipe (no path, or "-")', async () => {
    const key = generateApiKey().apiKey;
    for (const argv of [['scan'], ['scan', '-']]) {
      const run = await tollgate(argv, { stdin: `diff --git\n+token=${key}\n` });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`(stdin):2:8: Tollgate API key ${keyIdOfKey(key)}`);
    }
  });

  it('refuses a path that does not exist, and a key given as a path without echoing it (exit 2, nothing scanned)', async () => {
    expect(await tollgate(['scan', 'nope'], { cwd: emptyDir() })).toEqual({ code: 2, stdout: '', stderr: 'tollgate: nope: no such file or directory\n' });
    const key = generateApiKey().apiKey;
    const pasted = await tollgate(['scan', key], { cwd: emptyDir() });
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).toMatch(/that argument is an API key, not a path/);
    expect(pasted.stdout + pasted.stderr).not.toContain(key);
  });

  it('--revoke submits every key found (and its shorter-prefix readings) to POST /leaks/revoke, nothing when none', async () => {
    const stub = await startHttpStub(() => ({ status: 202, body: { status: 'accepted' } }));
    stubs.push(stub);
    const { cwd, keys } = tree();
    const run = await tollgate(['--url', stub.url, 'scan', '--revoke', 'src'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^2 Tollgate API key\(s\) in 3 file\(s\)\.\nSubmitted 2 key\(s\) for revocation\.\n$/m);
    expect(stub.requests.map((request) => [request.method, request.pathname, request.headers['content-type']])).toEqual([
      ['POST', '/leaks/revoke', 'application/json'],
    ]);
    const sent = (JSON.parse(stub.requests[0]!.body) as { credentials: string[] }).credentials;
    expect(sent).toEqual(expect.arrayContaining([keys.app, keys.nested, `me_${keys.nested.slice(5)}`]));
    expect(await tollgate(['--url', stub.url, 'scan', '--revoke', 'src/lookalikes.txt'], { cwd })).toMatchObject({ code: 0 });
    expect(stub.requests).toHaveLength(1);
  });

  it('--revoke with the target unreachable still prints the findings and exits 1 (found), the failed submission on stderr', async () => {
    const { cwd, keys } = tree();
    const url = await closedPortUrl();
    const run = await tollgate(['--url', url, 'scan', '--revoke', 'src/app.ts'], { cwd });
    expect(run).toEqual({
      code: 1,
      stdout: `src/app.ts:3:21: Tollgate API key ${keyIdOfKey(keys.app)} (prefix tg_)\n1 Tollgate API key(s) in 1 file(s).\n`,
      stderr:
        `tollgate: --revoke: cannot reach ${url} (ECONNREFUSED) — is \`npm start\` running?; revoke them with npx tollgate keys revoke <keyId>, or run scan --revoke again\n` +
        'tollgate: found 1 Tollgate API key(s)\n',
    });

    const json = await tollgate(['--json', '--url', url, 'scan', '--revoke', 'src/app.ts'], { cwd });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      findings: [{ file: 'src/app.ts', line: 3, column: 21, keyId: keyIdOfKey(keys.app), prefix: 'tg_' }],
      filesScanned: 1,
      bytesScanned: expect.any(Number),
      revokeSubmitted: false,
    });
    expect(json.stderr).toMatch(/^tollgate: --revoke: cannot reach .*\ntollgate: found 1 Tollgate API key\(s\)\n$/);
  });

  it('--revoke refused by the target (or with no target to trust) is reported the same way: findings, stderr, exit 1', async () => {
    const stub = await startHttpStub(() => ({ status: 400, body: { error: 'invalid_request', error_description: 'Too many credentials.' } }));
    stubs.push(stub);
    const { cwd, keys } = tree();
    const run = await tollgate(['--url', stub.url, 'scan', '--revoke', 'src/app.ts'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`src/app.ts:3:21: Tollgate API key ${keyIdOfKey(keys.app)} (prefix tg_)`);
    expect(run.stderr).toMatch(/^tollgate: --revoke: invalid_request: Too many credentials\. \(HTTP 400\); revoke them with/);

    writeLocalState(cwd, { url: 'https://attacker.example/' });
    const planted = await tollgate(['scan', '--revoke', 'src/app.ts'], { cwd });
    expect(planted.code).toBe(1);
    expect(planted.stdout).toContain(keyIdOfKey(keys.app));
    expect(planted.stderr).toMatch(/^tollgate: --revoke: .*state\.json names https:\/\/attacker\.example, which is not this machine/);
    expect(stub.requests).toHaveLength(1);
  });

  it('reads a key glued to a preceding letter (JSON "\\n") under the deployment\'s prefix, with the right key id, as --revoke does', async () => {
    const cwd = emptyDir();
    const [first, second] = [generateApiKey().apiKey, generateApiKey().apiKey];
    // In JSON text a newline is the two characters `\` `n`: the `n` is glued to the second key.
    writeFileSync(join(cwd, 'keys.json'), `{"keys":"${first}\\n${second}"}\n`);
    const column = `{"keys":"${first}\\n`.length + 1;
    const run = await tollgate(['scan', 'keys.json'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').slice(0, 2)).toEqual([
      `keys.json:1:10: Tollgate API key ${keyIdOfKey(first)} (prefix tg_)`,
      `keys.json:1:${column}: Tollgate API key ${keyIdOfKey(second)} (prefix tg_; the "n" glued before it is not part of it)`,
    ]);
    const json = JSON.parse((await tollgate(['--json', 'scan', 'keys.json'], { cwd })).stdout) as { findings: unknown[] };
    expect(json.findings[1]).toEqual({ file: 'keys.json', line: 1, column, keyId: keyIdOfKey(second), prefix: 'tg_', precededBy: 'n' });
  });

  it('reads a key after a lower-case URL escape (%3d, an =) under the default prefix, with the right key id', async () => {
    const cwd = emptyDir();
    const key = generateApiKey().apiKey;
    writeFileSync(join(cwd, 'urls.txt'), `https://example.com/cb?state=x%26api_key%3d${key}\n`);
    const json = JSON.parse((await tollgate(['--json', 'scan', 'urls.txt'], { cwd })).stdout) as { findings: Record<string, unknown>[] };
    expect(json.findings).toHaveLength(1);
    expect(json.findings[0]).toMatchObject({ keyId: keyIdOfKey(key), prefix: 'tg_', precededBy: '3d' });
  });

  it("--prefix names the deployment's prefixes: a glued key is read under the longest that ends its match; an unknown prefix is read whole", async () => {
    const cwd = emptyDir();
    const acme = generateApiKey(undefined, 'acme_').apiKey;
    const ntg = generateApiKey(undefined, 'ntg_').apiKey;
    writeFileSync(join(cwd, 'log.txt'), `x${acme}\n${ntg}\n`);
    const found = async (...argv: string[]) =>
      (JSON.parse((await tollgate(['--json', 'scan', ...argv, 'log.txt'], { cwd })).stdout) as { findings: Array<Record<string, unknown>> }).findings.map(
        ({ column, keyId, prefix, precededBy }) => ({ column, keyId, prefix, precededBy }),
      );
    expect(await found('--prefix', 'acme_', '--prefix', 'ntg_')).toEqual([
      { column: 2, keyId: keyIdOfKey(acme), prefix: 'acme_', precededBy: 'x' },
      { column: 1, keyId: keyIdOfKey(ntg), prefix: 'ntg_', precededBy: undefined },
    ]);
    // With the default tg_ only, nothing glued after a backslash: both are read whole (ntg_ may be a deployment's own prefix).
    expect(await found()).toEqual([
      { column: 1, keyId: keyIdOfKey(`x${acme}`), prefix: 'xacme_', precededBy: undefined },
      { column: 1, keyId: keyIdOfKey(ntg), prefix: 'ntg_', precededBy: undefined },
    ]);
    const bad = await tollgate(['scan', '--prefix', 'ACME', 'log.txt'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prefix .*2–10 lowercase letters or digits/);
  });

  it('with the default prefix alone, a key whose own prefix ends in tg_ (stg_) is reported whole, under its own key id', async () => {
    const cwd = emptyDir();
    const staging = generateApiKey(undefined, 'stg_').apiKey;
    writeFileSync(join(cwd, 'env'), `TOLLGATE_API_KEY=${staging}\n`);
    const run = await tollgate(['scan', 'env'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')[0]).toBe(`env:1:18: Tollgate API key ${keyIdOfKey(staging)} (prefix stg_)`);
  });

  it('a key glued to lowercase letters matches with a longer prefix; --revoke also submits the shorter readings', () => {
    const key = generateApiKey().apiKey;
    expect(revocationCandidates(`ab${key}`)).toEqual([`abtg_${key.slice(3)}`, `btg_${key.slice(3)}`, key]);
    expect(revocationCandidates(key)).toEqual([key]);
  });
});

/** Shannon entropy in bits per character, as gitleaks and trufflehog compute it. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  return [...counts.values()].reduce((sum, count) => sum - (count / text.length) * Math.log2(count / text.length), 0);
}

/** Go RE2 and JavaScript agree on this regex's syntax (`\b`, classes, a bounded repeat); RE2 has no lookaround, and it has none. */
function jsRegex(source: string): RegExp {
  expect(source).not.toMatch(/\(\?[=!<]/);
  return new RegExp(source, 'g');
}

describe('tollgate scanner-rules', () => {
  const keys = Array.from({ length: 500 }, () => generateApiKey(undefined, 'acme_').apiKey);
  const badChecksum = keys.slice(0, 50).map((key) => `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`);

  it('gitleaks: TOML that parses to one rule whose regex matches real keys, and whose entropy floor drops low-entropy look-alikes', async () => {
    const run = await tollgate(['scanner-rules', '--format', 'gitleaks', '--prefix', 'acme_']);
    expect(run.code).toBe(0);
    const config = parseToml(run.stdout) as { rules: Array<{ id: string; description: string; regex: string; entropy: number; keywords: string[] }> };
    expect(config.rules).toHaveLength(1);
    const [rule] = config.rules;
    expect(rule!.id).toBe('tollgate-api-key-acme');
    expect(rule!.keywords).toEqual(['acme_']);
    expect(rule!.entropy).toBe(KEY_ENTROPY_FLOOR);
    const regex = jsRegex(rule!.regex);
    for (const key of keys) {
      expect(`token = "${key}"`.match(regex)).toEqual([key]);
      expect(entropy(key)).toBeGreaterThanOrEqual(rule!.entropy);
    }
    // Another deployment's keys, and keys glued to other word characters, are no match.
    expect(generateApiKey().apiKey.match(regex)).toBeNull();
    expect(`x${keys[0]}`.match(regex)).toBeNull();
    expect(`${keys[0]}0`.match(regex)).toBeNull();
    // The regex cannot check a CRC32: bad-checksum keys match it, so the checksum check is what rejects them.
    for (const bad of badChecksum) {
      expect(bad.match(regex)).toEqual([bad]);
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
    // A low-entropy string of the right shape matches the regex and falls under the floor.
    for (const lookalike of [`acme_${'a'.repeat(49)}`, `acme_${'0123456789'.repeat(5).slice(0, 49)}`, `acme_${'AbAb'.repeat(13).slice(0, 49)}`]) {
      expect(lookalike.match(regex)).toEqual([lookalike]);
      expect(entropy(lookalike)).toBeLessThan(rule!.entropy);
    }
  });

  it("trufflehog: a custom detector YAML with keywords, the regex and a verify webhook (the target API's /leaks/revoke by default)", async () => {
    const run = await tollgate(['--url', 'https://api.example.com/v1', 'scanner-rules', '--format', 'trufflehog', '--prefix', 'acme_']);
    expect(run.code).toBe(0);
    const config = parseYaml(run.stdout) as {
      detectors: Array<{
        name: string;
        keywords: string[];
        regex: Record<string, string>;
        entropy: number;
        verify: Array<{ endpoint: string; unsafe: boolean }>;
      }>;
    };
    expect(config.detectors).toHaveLength(1);
    const [detector] = config.detectors;
    expect(detector!.keywords).toEqual(['acme_']);
    expect(detector!.verify).toEqual([{ endpoint: 'https://api.example.com/v1/leaks/revoke', unsafe: false }]);
    const regex = jsRegex(detector!.regex.key!);
    for (const key of keys) expect(key.match(regex)).toEqual([key]);
    expect(generateApiKey().apiKey.match(regex)).toBeNull();

    const own = parseYaml(
      (await tollgate(['scanner-rules', '--format', 'trufflehog', '--prefix', 'acme_', '--verify-url', 'http://127.0.0.1:9/v'])).stdout,
    ) as typeof config;
    expect(own.detectors[0]!.verify).toEqual([{ endpoint: 'http://127.0.0.1:9/v', unsafe: true }]);
    const detectOnly = parseYaml((await tollgate(['scanner-rules', '--format', 'trufflehog', '--no-verify'])).stdout) as typeof config;
    expect(detectOnly.detectors[0]!.verify).toBeUndefined();
    expect(detectOnly.detectors[0]!.keywords).toEqual(['tg_']);
  });

  it("github: the regex, a description and the alert endpoint, as GitHub's partner onboarding asks", async () => {
    const run = await tollgate(['--url', 'https://api.example.com/v1', 'scanner-rules', '--format', 'github', '--prefix', 'acme_']);
    const rule = JSON.parse(run.stdout) as Record<string, string>;
    expect(rule).toMatchObject({
      secretType: 'Tollgate API key (acme_)',
      tokenType: 'tollgate_api_key',
      alertEndpoint: 'https://api.example.com/v1/secret-scanning/github',
    });
    expect(rule.description).toMatch(/43 random base62 characters, then 6 base62 characters of the CRC32/);
    const regex = jsRegex(rule.regex!);
    for (const key of keys) expect(key.match(regex)).toEqual([key]);
  });

  it('refuses an unknown format or a bad prefix (exit 2)', async () => {
    expect((await tollgate(['scanner-rules', '--format', 'semgrep'])).code).toBe(2);
    const bad = await tollgate(['scanner-rules', '--format', 'gitleaks', '--prefix', 'ACME']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prefix .*2–10 lowercase letters or digits/);
  });
});

describe('tollgate leak-response', () => {
  it("shows and sets a client's leakResponse through the admin API, with the admin token", async () => {
    let mode = 'revoke';
    const stub = await startHttpStub((request) => {
      if (request.method === 'PUT') mode = (JSON.parse(request.body) as { leakResponse: string }).leakResponse;
      return { status: 200, body: { clientId: 'fleet', leakResponse: mode } };
    });
    stubs.push(stub);
    const env = { TOLLGATE_ADMIN_TOKEN: 'tga_test' };
    expect(await tollgate(['--url', stub.url, 'leak-response', 'fleet'], { env })).toEqual({
      code: 0,
      stdout: 'Client fleet: a leaked live key is revoked at once.\n',
      stderr: '',
    });
    const set = await tollgate(['--url', stub.url, '--json', 'leak-response', 'fleet', 'notify'], { env });
    expect(JSON.parse(set.stdout)).toEqual({ clientId: 'fleet', leakResponse: 'notify' });
    expect(stub.requests.map((request) => [request.method, request.pathname, request.headers.authorization, request.body])).toEqual([
      ['GET', '/admin/clients/fleet/leak-response', 'Bearer tga_test', ''],
      ['PUT', '/admin/clients/fleet/leak-response', 'Bearer tga_test', '{"leakResponse":"notify"}'],
    ]);
    const bad = await tollgate(['--url', stub.url, 'leak-response', 'fleet', 'ignore'], { env });
    expect(bad.code).toBe(2);
    expect(stub.requests).toHaveLength(2);
  });
});
