/**
 * The leak-response settings, refused with a message naming the setting at synth
 * (`lib/config.ts`), at `npm start` (`local/start-input.ts`) and at a function's cold start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { functionSettings } from '../../../lib/function-settings';
import { readConfig } from '../../../lib/config';
import type { SettingName } from '../../../lib/settings';
import { apiKeyPrefixFrom } from '../../../lambda/core/shared/env';
import { checkStartInput, parseConfigFile, StartInputError } from '../../../local/start-input';
import * as Setting from '../../../common/settings';

const UPSTREAM = 'https://upstream.example.com';
const read = (settings: Partial<Record<SettingName, unknown>>) => readConfig((name) => ({ upstreamUrl: UPSTREAM, ...settings })[name]);
const noFile = { fresh: false, help: false, noAuthorizerCache: false, bundled: false, configFile: undefined } as const;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('apiKeyPrefix', () => {
  it('defaults to tg_ and reaches the admin function (which issues keys) under the shared variable', () => {
    expect(read({}).apiKeyPrefix).toBe('tg_');
    expect(functionSettings(read({ apiKeyPrefix: 'acme_' })).admin).toEqual({ [Setting.apiKeyPrefix.env]: 'acme_' });
  });

  it('is refused at synth unless 2–10 lowercase letters or digits then "_"', () => {
    for (const bad of ['acme', 'Acme_', 'a_', 'abcdefghijk_', 'ac-me_', 5]) {
      expect(() => read({ apiKeyPrefix: bad })).toThrow(
        /^Invalid Tollgate configuration: apiKeyPrefix must be 2–10 lowercase letters or digits followed by "_"/,
      );
    }
    expect(read({ apiKeyPrefix: '0123456789_' }).apiKeyPrefix).toBe('0123456789_');
  });

  it('is refused at cold start with the variable named, as at synth', () => {
    expect(apiKeyPrefixFrom({})).toBe('tg_');
    expect(apiKeyPrefixFrom({ [Setting.apiKeyPrefix.env]: 'acme_' })).toBe('acme_');
    expect(() => apiKeyPrefixFrom({ [Setting.apiKeyPrefix.env]: 'ACME_' })).toThrow(/environment variable TOLLGATE_API_KEY_PREFIX must be 2–10/);
  });

  it('is refused at npm start, from the config file or the environment', () => {
    expect(parseConfigFile(JSON.stringify({ apiKeyPrefix: 'acme_' }), 'c.json').apiKeyPrefix).toBe('acme_');
    expect(() => parseConfigFile(JSON.stringify({ apiKeyPrefix: 'acme' }), 'c.json')).toThrow(StartInputError);
    expect(() => parseConfigFile(JSON.stringify({ apiKeyPrefix: 'acme' }), 'c.json')).toThrow(/^c\.json: apiKeyPrefix must be 2–10/);
    expect(checkStartInput(noFile, { [Setting.apiKeyPrefix.env]: 'env1_' }).apiKeyPrefix).toBe('env1_');
    expect(() => checkStartInput(noFile, { [Setting.apiKeyPrefix.env]: 'x_' })).toThrow(/^TOLLGATE_API_KEY_PREFIX must be 2–10/);
  });

  it('the environment wins over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-leak-settings-'));
    dirs.push(dir);
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ apiKeyPrefix: 'file_' }));
    expect(checkStartInput({ ...noFile, configFile: file }, {}).apiKeyPrefix).toBe('file_');
    expect(checkStartInput({ ...noFile, configFile: file }, { [Setting.apiKeyPrefix.env]: 'env_' }).apiKeyPrefix).toBe('env_');
  });
});

describe('secretScanningKeysUrl', () => {
  it('is refused at npm start unless an absolute http(s) URL without credentials', () => {
    expect(checkStartInput(noFile, { [Setting.secretScanningKeysUrl.env]: 'http://127.0.0.1:9/keys' }).secretScanningKeysUrl).toBe('http://127.0.0.1:9/keys');
    expect(() => checkStartInput(noFile, { [Setting.secretScanningKeysUrl.env]: 'ftp://x/keys' })).toThrow(
      /^TOLLGATE_SECRET_SCANNING_KEYS_URL must be an http/,
    );
    expect(() => checkStartInput(noFile, { [Setting.secretScanningKeysUrl.env]: 'keys.json' })).toThrow(
      /^TOLLGATE_SECRET_SCANNING_KEYS_URL must be an absolute URL/,
    );
    expect(() => parseConfigFile(JSON.stringify({ secretScanningKeysUrl: 'https://u:p@x/keys' }), 'c.json')).toThrow(
      /^c\.json: secretScanningKeysUrl must not carry credentials/,
    );
  });
});
