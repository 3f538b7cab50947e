/**
 * `tollgate scan` of keys in the places the outside review found them missed: glued after a
 * URL-encoded `=` (`%3D`: its `D` is a word character) or after `_` (`TOLLGATE_KEY_tg_…`),
 * each found under its own prefix and key id; in a UTF-16 file (PowerShell's `>`); with its `_`
 * written as the JSON escape `\u005f`; base64-encoded (a Kubernetes Secret, a Basic header).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { startHttpStub, type HttpStub } from '../../support/http-stub';
import { emptyDir, tollgate } from './harness';

const stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

const keyIdOfKey = (key: string) => keyIdOf(hashApiKey(key));

async function findings(cwd: string, ...argv: string[]): Promise<Array<Record<string, unknown>>> {
  const run = await tollgate(['--json', 'scan', ...argv], { cwd });
  expect(run.code).toBe(1);
  return (JSON.parse(run.stdout) as { findings: Array<Record<string, unknown>> }).findings;
}

describe('tollgate scan of keys glued to what comes before them', () => {
  it('finds a key after %3D (URL-encoded =) and after _ (a variable name), with its own key id', async () => {
    const cwd = emptyDir();
    const [encoded, named] = [generateApiKey().apiKey, generateApiKey(undefined, 'acme_').apiKey];
    const line = `GET /cb?next=https%3A%2F%2Fapi.example.com%3Fapi_key%3D${encoded} HTTP/1.1`;
    writeFileSync(join(cwd, 'access.log'), `${line}\n`);
    writeFileSync(join(cwd, 'ident.txt'), `TOLLGATE_KEY_${named}\n`);
    expect(await findings(cwd, 'access.log', 'ident.txt')).toEqual([
      { file: 'access.log', line: 1, column: line.indexOf(encoded) + 1, keyId: keyIdOfKey(encoded), prefix: 'tg_' },
      { file: 'ident.txt', line: 1, column: 14, keyId: keyIdOfKey(named), prefix: 'acme_' },
    ]);
  });

  it('finds a key in a UTF-16LE file with a byte-order mark, at its column in characters', async () => {
    const cwd = emptyDir();
    const key = generateApiKey().apiKey;
    writeFileSync(join(cwd, 'profile.ps1'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`$env:API_KEY = "${key}"\r\n`, 'utf16le')]));
    expect(await findings(cwd, '.')).toEqual([{ file: 'profile.ps1', line: 1, column: 17, keyId: keyIdOfKey(key), prefix: 'tg_' }]);
  });

  it('finds a key whose _ is the JSON escape \\u005f, under its key id', async () => {
    const cwd = emptyDir();
    const key = generateApiKey().apiKey;
    writeFileSync(join(cwd, 'escaped.json'), `{"key":"${key.replace('_', '\\u005f')}"}\n`);
    expect(await findings(cwd, 'escaped.json')).toEqual([{ file: 'escaped.json', line: 1, column: 9, keyId: keyIdOfKey(key), prefix: 'tg_' }]);
  });

  it('finds a base64-encoded key (a Kubernetes Secret, a Basic header), says so, never prints it or its encoding, and --revoke submits it', async () => {
    const cwd = emptyDir();
    const key = generateApiKey().apiKey;
    const [inSecret, inHeader] = [Buffer.from(key).toString('base64'), Buffer.from(`shop:${key}`).toString('base64')];
    writeFileSync(join(cwd, 'secret.yaml'), `apiVersion: v1\nkind: Secret\ndata:\n  TOLLGATE_API_KEY: ${inSecret}\n`);
    writeFileSync(join(cwd, 'token.sh'), `curl -H 'Authorization: Basic ${inHeader}' https://api.example.com/oauth2/token\n`);
    const keyId = keyIdOfKey(key);
    expect(await findings(cwd, 'secret.yaml', 'token.sh')).toEqual([
      { file: 'secret.yaml', line: 4, column: 21, keyId, prefix: 'tg_', encoding: 'base64' },
      // The encoding starts at column 31; `shop:` takes its first 6 characters and 2 bits of the 7th.
      { file: 'token.sh', line: 1, column: 37, keyId, prefix: 'tg_', encoding: 'base64' },
    ]);
    const stub = await startHttpStub(() => ({ status: 202, body: { status: 'accepted' } }));
    stubs.push(stub);
    const run = await tollgate(['--url', stub.url, 'scan', '--revoke', 'secret.yaml', 'token.sh'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`secret.yaml:4:21: Tollgate API key ${keyId} (prefix tg_, base64-encoded)\n`);
    for (const secret of [key, inSecret, inHeader, key.slice(3)]) expect(run.stdout + run.stderr).not.toContain(secret);
    expect((JSON.parse(stub.requests[0]!.body) as { credentials: string[] }).credentials).toContain(key);
  });

  it('refuses a base64-encoded key given as a path without echoing it, and redacts one in a missing path it names', async () => {
    const cwd = emptyDir();
    const key = generateApiKey().apiKey;
    const encoded = Buffer.from(key).toString('base64');
    const pasted = await tollgate(['scan', encoded], { cwd });
    expect(pasted).toEqual({
      code: 2,
      stdout: '',
      stderr: 'tollgate: that argument is a base64-encoded API key, not a path; nothing was scanned. To scan text, pipe it in: … | npx tollgate scan\n',
    });
    const missing = await tollgate(['scan', `backup-${Buffer.from(`shop:${key}`).toString('base64url')}`], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toContain(Buffer.from(key).toString('base64url').slice(8, 60));
  });

  it('prints a file whose name is an encoded key followed by more base64 with the encoding redacted', async () => {
    const cwd = emptyDir();
    const named = generateApiKey(undefined, 'acme_').apiKey;
    const name = `${Buffer.from(named).toString('base64url')}Zm9v`;
    writeFileSync(join(cwd, name), `${generateApiKey().apiKey}\n`);
    const run = await tollgate(['scan', '.'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('<redacted base64>Zm9v: Tollgate API key');
    expect(run.stdout).not.toContain(Buffer.from(named).toString('base64url').slice(0, 60));
  });

  it('never echoes a key given where a path or a prefix goes, whatever fails with it', async () => {
    const cwd = emptyDir();
    symlinkSync('loop', join(cwd, 'loop'));
    const key = generateApiKey().apiKey;
    // A word character after the key: no key by the pattern, so the path is looked up, and the lookup fails (ELOOP).
    const looped = await tollgate(['scan', join(cwd, 'loop', `${key}x`)], { cwd });
    expect(looped.code).not.toBe(0);
    expect(looped.stderr).toContain('<redacted>');
    const prefixed = await tollgate(['scan', '--prefix', key, '.'], { cwd });
    expect(prefixed.code).toBe(2);
    for (const run of [looped, prefixed]) expect(run.stdout + run.stderr).not.toContain(key.slice(3, 30));
  });
});
