/**
 * `tollgate scan` of keys in the places the outside review found them missed: glued after a
 * URL-encoded `=` (`%3D`: its `D` is a word character) or after `_` (`TOLLGATE_KEY_tg_…`),
 * each found under its own prefix and key id; in a UTF-16 file (PowerShell's `>`); with its `_`
 * written as the JSON escape `\u005f`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../lambda/core/credentials/api-keys';
import { emptyDir, tollgate } from './harness';

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
});
