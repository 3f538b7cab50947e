/**
 * With several bad settings, `readConfig` names the first in the table's order, whether the
 * setting is refused by its own bounds or by a rule relating it to another: an operator who
 * fixes the settings one message at a time meets them in the order docs/deploy.md lists them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SETTING_DESCRIPTORS } from '../../../common/settings';
import { readConfig } from '../../../lib/config';
import { ConfigError, type SettingName } from '../../../lib/settings';

const UPSTREAM = 'https://upstream.example.com';

/** A value of each setting that is refused on its own (bounds or pattern) or by a rule, given the other defaults. */
const BAD: Partial<Record<SettingName, unknown>> = {
  tokenTtlSeconds: 59,
  keyDeletionWindowDays: 6,
  authorizerCacheTtlSeconds: 271, // refused by the rule bounding acceptance after exp
  rotationIntervalDays: 0, // refused by the rule on the ring's overlap windows
  revocationPollMs: 1,
  revocationViewMaxStaleSeconds: 4,
  stageName: 'bad/',
  audience: 'has space',
  expiryWarningDays: 0,
  staleKeyDays: 0,
  forwardBearerToken: 'yes',
  upstreamCertificateGeneration: 0,
  allowLogSampleRate: 2,
  unmatchedRoutes: 'maybe',
  keySpec: 'RSA_1024',
};

const ORDER = SETTING_DESCRIPTORS.map((setting) => setting.name as SettingName).filter((name) => name in BAD);

function namedSetting(settings: Partial<Record<SettingName, unknown>>): string | undefined {
  try {
    readConfig((name) => ({ upstreamUrl: UPSTREAM, ...settings })[name]);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).setting;
  }
}

describe('readConfig names the first bad setting in table order', () => {
  it.each(ORDER)('%s alone is refused', (name) => {
    expect(namedSetting({ [name]: BAD[name] })).toBe(name);
  });

  it('names the earliest of any set of bad settings', () => {
    fc.assert(
      fc.property(fc.subarray(ORDER, { minLength: 2 }), (names) => {
        const settings = Object.fromEntries(names.map((name) => [name, BAD[name]]));
        expect(namedSetting(settings)).toBe(names[0]);
      }),
      { numRuns: 300 },
    );
  });
});
