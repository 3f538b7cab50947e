/**
 * `allowLogSampleRate`, the first setting declared only in the descriptor table: the stack
 * reads and checks it and hands it to the authorizer (whose telemetry samples allow decisions
 * by it: test/unit/authorizer/handler.test.ts), and `npm start`'s config file sets it too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { functionEnvironments } from '../../../common/settings';
import { Tables } from '../../../common/tables';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { readConfig } from '../../../lib/config';
import { functionSettings } from '../../../lib/function-settings';
import { checkStartInput, parseCommandLine, parseConfigFile } from '../../../local/start-input';

const read = (context: Record<string, unknown>) =>
  readConfig((name) => (({ upstreamUrl: 'https://upstream.test', ...context }) as Record<string, unknown>)[name]);
const tables = Object.fromEntries(Object.values(Tables).map((table) => [table.envVar, 'table']));
const VAR = 'TOLLGATE_ALLOW_LOG_SAMPLE_RATE';

describe('allowLogSampleRate', () => {
  it('is read from CDK context (a -c string or a cdk.json number) and handed to the authorizer alone', () => {
    expect(read({}).allowLogSampleRate).toBe(0.01);
    expect(read({ allowLogSampleRate: '0.25' }).allowLogSampleRate).toBe(0.25);
    const env = functionSettings(read({ allowLogSampleRate: 1 }));
    expect(env.authorizer[VAR]).toBe('1');
    expect(
      Object.entries(env)
        .filter(([, vars]) => VAR in vars)
        .map(([fn]) => fn),
    ).toEqual(['authorizer']);
    expect(authorizerConfigFrom({ ...tables, TOLLGATE_ISSUER: 'https://i.test', ...env.authorizer }).allowLogSampleRate).toBe(1);
  });

  it.each([[2], [-0.1], ['often'], [true]])('refuses %o at synth, naming the setting', (value) => {
    expect(() => read({ allowLogSampleRate: value })).toThrow(/Invalid Tollgate configuration: allowLogSampleRate must be a number from 0 to 1, got /);
  });

  it('refuses a bad value at cold start, naming the variable', () => {
    expect(() => authorizerConfigFrom({ ...tables, TOLLGATE_ISSUER: 'https://i.test', [VAR]: '1.5' })).toThrow(
      `environment variable ${VAR} must be a number from 0 to 1`,
    );
  });
});

describe('allowLogSampleRate in npm start', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is a key of the config file, checked from its descriptor, and reaches the authorizer through its variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sample-'));
    dirs.push(dir);
    const file = join(dir, 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ allowLogSampleRate: 1 }));
    const input = checkStartInput(parseCommandLine(['--config', file]), {});
    expect(input.settings).toEqual({ allowLogSampleRate: 1 });
    expect(functionEnvironments(input.settings!)).toEqual({ authorizer: { [VAR]: '1' } });
  });

  it.each([
    [2, '2'],
    ['0.5', '"0.5"'],
  ])('refuses %o in the config file, naming the file and the key', (value, shown) => {
    expect(() => parseConfigFile(JSON.stringify({ allowLogSampleRate: value }), 'my.config.json')).toThrow(
      `my.config.json: allowLogSampleRate must be a number from 0 to 1, got ${shown}`,
    );
  });
});
