/**
 * Every plain setting a function reads survives the trip the deployment gives it: CDK
 * context → `readConfig` → `functionSettings` (its descriptor's variable) → that function's
 * own config reader at cold start. Generated over each descriptor's whole range, and for its
 * default; a descriptor whose default breaks its own bounds fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../../common/functions';
import { Env } from '../../../common/names';
import { SETTING_DESCRIPTORS, type SettingDescriptor } from '../../../common/settings';
import { Tables } from '../../../common/tables';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { readFanoutConfig } from '../../../lambda/fanout/config';
import { readMeteringConfig } from '../../../lambda/metering/config';
import { rotationConfig } from '../../../lambda/rotation/config';
import { issuerConfigFrom } from '../../../lambda/token/config';
import { readConfig } from '../../../lib/config';
import { functionSettings } from '../../../lib/function-settings';
import type { SettingName } from '../../../lib/settings';

type Plain = Exclude<SettingDescriptor, { kind: 'custom' }>;
/** A descriptor's `readBy`, whose names `lib/function-settings.ts` has the compiler check. */
const readers = (setting: SettingDescriptor) => (setting.readBy ?? []) as readonly FunctionName[];
const tables = Object.fromEntries(Object.values(Tables).map((table) => [table.envVar, 'table']));
const ISSUER = { [Env.issuer]: 'https://tollgate.test' };

/** What each function's config reader makes of a setting it reads, by setting name. */
const READ_BACK: { readonly [F in FunctionName]?: (env: Record<string, string>) => Partial<Record<SettingName, unknown>> } = {
  authorizer: (env) => {
    const c = authorizerConfigFrom({ ...tables, ...ISSUER, ...env });
    return {
      audience: c.audience,
      unmatchedRoutes: c.unmatchedRoutes,
      revocationPollMs: c.revocationPollMs,
      revocationViewMaxStaleSeconds: c.revocationMaxStalenessS,
      allowLogSampleRate: c.allowLogSampleRate,
    };
  },
  token: (env) => {
    const c = issuerConfigFrom({ ...ISSUER, ...env });
    return { audience: c.audience, tokenTtlSeconds: c.tokenTtlSeconds };
  },
  fanout: (env) => ({ revocationPollMs: readFanoutConfig({ ...tables, ...env }).revocationPollMs }),
  metering: (env) => {
    const { retention } = readMeteringConfig({ ...tables, ...env });
    return { usageMinuteRetentionDays: retention.minuteDays, usageHourRetentionDays: retention.hourDays, usageDayRetentionDays: retention.dayDays };
  },
  rotation: (env) => {
    const c = rotationConfig({ ...tables, ...env });
    return {
      keySpec: c.keySpec,
      rotationIntervalDays: c.timing.rotationIntervalSeconds / 86_400,
      keyDeletionWindowDays: c.timing.deletionWindowDays,
      expiryWarningDays: c.expiryWarningDays,
      staleKeyDays: c.staleKeyDays,
    };
  },
};

const delivered = (SETTING_DESCRIPTORS as readonly SettingDescriptor[]).filter(
  (setting): setting is Plain & { env: string } => setting.kind !== 'custom' && setting.env !== undefined,
);

/** Valid values of a setting, within its bounds and the rules that narrow them at the defaults of the others. */
function values(setting: Plain): fc.Arbitrary<unknown> {
  switch (setting.kind) {
    case 'integer': {
      const narrowed: Record<string, [number, number]> = {
        rotationIntervalDays: [1, setting.max],
        revocationViewMaxStaleSeconds: [setting.min, 900],
        // At least the finer granularity's default retention (7 and 90 days).
        usageHourRetentionDays: [7, setting.max],
        usageDayRetentionDays: [90, setting.max],
      };
      const [min, max] = narrowed[setting.name] ?? [setting.min, setting.max];
      return fc.integer({ min, max });
    }
    case 'number':
      return fc.double({ min: setting.min, max: setting.max, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'choice':
      return fc.constantFrom(...setting.values);
    case 'text':
      return fc.stringMatching(setting.pattern);
  }
}

function readBack(setting: Plain & { env: string }, context: Partial<Record<SettingName, unknown>>): Map<FunctionName, unknown> {
  const config = readConfig((name) => ({ upstreamUrl: 'https://upstream.test', ...context })[name]);
  const env = functionSettings(config);
  return new Map(readers(setting).map((fn) => [fn, READ_BACK[fn]!({ ...env[fn] })[setting.name as SettingName]]));
}

describe('a setting, from CDK context to the functions that read it', () => {
  it('covers every function that reads a plain setting', () => {
    for (const setting of delivered) for (const fn of readers(setting)) expect(READ_BACK[fn], `${setting.name} → ${fn}`).toBeDefined();
  });

  it.each(delivered.map((setting) => [setting.name, setting] as const))('%s: its default reaches every reader as itself', (_name, setting) => {
    for (const [fn, value] of readBack(setting, {})) expect(value, fn).toEqual(setting.default);
  });

  it.each(delivered.map((setting) => [setting.name, setting] as const))('%s: any valid value reaches every reader unchanged', (_name, setting) => {
    fc.assert(
      fc.property(values(setting), (value) => {
        for (const [fn, read] of readBack(setting, { [setting.name]: value })) expect(read, fn).toEqual(value);
      }),
      { numRuns: 50 },
    );
  });

  it.each((SETTING_DESCRIPTORS as readonly SettingDescriptor[]).filter((s): s is Plain => s.kind !== 'custom' && 'default' in s && s.default !== undefined))(
    '$name: its default, given explicitly, passes its own check',
    (setting) => {
      const config = readConfig((name) => ({ upstreamUrl: 'https://upstream.test', [setting.name]: setting.default })[name]);
      expect(config[setting.name as keyof typeof config]).toEqual(setting.default);
    },
  );
});
