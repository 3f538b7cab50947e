/**
 * `settingFromEnv`: a function reads a plain setting from the variable its descriptor
 * names, refusing a bad value with a message that names the variable, for every kind.
 */
import { describe, expect, it } from 'vitest';
import { audience, type SettingDescriptor } from '../../../common/settings';
import { Tables } from '../../../common/tables';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { ConfigurationError, type EnvSetting, settingFromEnv } from '../../../lambda/core/shared/env';
import { issuerConfigFrom } from '../../../lambda/token/config';

const SWITCH = { name: 'someSwitch', kind: 'boolean', default: false, env: 'TOLLGATE_SOME_SWITCH', readBy: ['admin'] } as const satisfies SettingDescriptor;
const WORD = { name: 'someWord', kind: 'text', default: 'abc', pattern: /^[a-z]+$/, rule: 'must be lower-case letters', env: 'TOLLGATE_SOME_WORD' } as const;

describe('settingFromEnv', () => {
  it.each([
    [SWITCH, {}, false],
    [SWITCH, { TOLLGATE_SOME_SWITCH: 'true' }, true],
    [SWITCH, { TOLLGATE_SOME_SWITCH: '' }, false],
    [WORD, {}, 'abc'],
    [WORD, { TOLLGATE_SOME_WORD: 'xyz' }, 'xyz'],
  ] as [EnvSetting, Record<string, string>, unknown][])('reads %o from %o', (setting, env, expected) => {
    expect(settingFromEnv(env, setting)).toBe(expected);
  });

  it.each([
    [SWITCH, { TOLLGATE_SOME_SWITCH: 'yes' }, 'environment variable TOLLGATE_SOME_SWITCH must be "true" or "false", got "yes"'],
    [WORD, { TOLLGATE_SOME_WORD: 'X Y' }, 'environment variable TOLLGATE_SOME_WORD must be lower-case letters, got "X Y"'],
  ] as [EnvSetting, Record<string, string>, string][])('refuses a bad value of %o, naming the variable', (setting, env, message) => {
    expect(() => settingFromEnv(env, setting)).toThrow(ConfigurationError);
    expect(() => settingFromEnv(env, setting)).toThrow(message);
  });

  it('refuses at cold start an audience the stack would refuse at synth', () => {
    const env = { [audience.env]: 'has space', TOLLGATE_ISSUER: 'https://i.test' };
    const tables = Object.fromEntries(Object.values(Tables).map((table) => [table.envVar, 'table']));
    const message = `environment variable ${audience.env} must be 1–256 characters without whitespace, got "has space"`;
    expect(() => authorizerConfigFrom({ ...tables, ...env })).toThrow(message);
    expect(() => issuerConfigFrom(env)).toThrow(message);
  });
});
