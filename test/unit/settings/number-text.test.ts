/**
 * Numbers written as text (`-c name=value`, the functions' environment) are read in plain
 * decimal everywhere: `Number()` alone takes `0x1`, `0b1`, `Infinity` and a blank string,
 * which no setting's docs allow. And a variable two functions read has one range in both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Limits } from '../../../common/defaults';
import { Env } from '../../../common/names';
import { decimalNumber } from '../../../common/setting-checks';
import { allowLogSampleRate } from '../../../common/settings';
import { Tables } from '../../../common/tables';
import { readConfig } from '../../../lib/config';
import { ConfigError } from '../../../lib/settings';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { ConfigurationError, settingFromEnv } from '../../../lambda/core/shared/env';
import { rotationConfig } from '../../../lambda/rotation/config';

/** Not decimal, yet `Number()` reads each as a finite number. */
const NOT_DECIMAL = ['0x1', '0b1', '0o1', ' ', '\t', '0x0', '1_0'];

/** The reference: only digits, signs, `.` and exponents, and a finite `Number()`. */
function reference(text: string): number | undefined {
  const trimmed = text.trim();
  return /^[0-9+\-.eE]+$/.test(trimmed) && Number.isFinite(Number(trimmed)) ? Number(trimmed) : undefined;
}

const finite = (value: number | undefined) => (value !== undefined && Number.isFinite(value) ? value : undefined);

describe('decimalNumber', () => {
  it('agrees with the reference on any text', () => {
    const numberish = fc.stringMatching(/^\s?[-+]?[0-9.]{0,6}(?:[eE][-+]?[0-9]{0,3})?\s?$/);
    fc.assert(
      fc.property(fc.oneof(numberish, fc.string(), fc.constantFrom(...NOT_DECIMAL, 'Infinity', '-Infinity', 'NaN', '1e400')), (text) => {
        expect(finite(decimalNumber(text))).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['12', '-3', '+4', '0.25', '.5', '5.', '1e-3', ' 7 '])('reads %j', (text) => {
    expect(decimalNumber(text)).toBe(Number(text));
  });
});

describe('every reader of a number refuses what is not decimal', () => {
  it.each(NOT_DECIMAL.filter((text) => text.trim() !== ''))('the stack refuses allowLogSampleRate=%j', (text) => {
    const read = (name: string) => ({ upstreamUrl: 'https://upstream.example.com', allowLogSampleRate: text })[name];
    expect(() => readConfig(read)).toThrow(ConfigError);
    expect(() => readConfig(read)).toThrow(/allowLogSampleRate must be a number from 0 to 1/);
  });

  it.each(NOT_DECIMAL.filter((text) => text.trim() !== ''))('a function refuses %j for a number setting and an integer variable', (text) => {
    expect(() => settingFromEnv({ [allowLogSampleRate.env]: text }, allowLogSampleRate)).toThrow(ConfigurationError);
    expect(() => settingFromEnv({ [allowLogSampleRate.env]: text }, allowLogSampleRate)).toThrow(allowLogSampleRate.env);
    expect(() => rotationConfig({ ...ROTATION, [Env.keyRingRefreshSeconds]: text })).toThrow(/TOLLGATE_KEY_RING_REFRESH_SECONDS must be an integer/);
  });

  it('a blank variable is the default, not 0', () => {
    expect(settingFromEnv({ [allowLogSampleRate.env]: '' }, allowLogSampleRate)).toBe(allowLogSampleRate.default);
  });
});

const AUTHORIZER = { [Env.issuer]: 'https://tollgate.test', [Tables.signingKeys.envVar]: 'ring', [Tables.revocations.envVar]: 'feed' };
const ROTATION = { [Tables.signingKeys.envVar]: 'ring', [Tables.apiKeys.envVar]: 'keys' };

describe('TOLLGATE_KEY_RING_REFRESH_SECONDS', () => {
  it('has one range in the authorizer, which polls that often, and in rotation, which times publication by it', () => {
    const refresh = fc.oneof(
      fc.integer({ min: -10, max: Limits.keyRingRefreshSecondsMax + 10 }),
      fc.constantFrom(
        Limits.keyRingRefreshSecondsMin - 1,
        Limits.keyRingRefreshSecondsMin,
        Limits.keyRingRefreshSecondsMax,
        Limits.keyRingRefreshSecondsMax + 1,
      ),
    );
    fc.assert(
      fc.property(refresh, (seconds) => {
        const variable = { [Env.keyRingRefreshSeconds]: String(seconds) };
        const accepts = (read: () => unknown) => {
          try {
            read();
            return true;
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigurationError);
            return false;
          }
        };
        const authorizer = accepts(() => authorizerConfigFrom({ ...AUTHORIZER, ...variable }));
        const rotation = accepts(() => rotationConfig({ ...ROTATION, ...variable }));
        expect(authorizer).toBe(rotation);
        expect(authorizer).toBe(seconds >= Limits.keyRingRefreshSecondsMin && seconds <= Limits.keyRingRefreshSecondsMax);
      }),
      { numRuns: 500 },
    );
  });
});
