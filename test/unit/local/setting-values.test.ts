/**
 * Local mode hands each function its settings as the stack does: encoded by
 * `Setting.functionEnvironments` into the environment the function reads at import. Here the
 * metering function's own reader gets back the usage retention and anomaly settings
 * `npm start` was given, and its defaults when it was given none.
 */
import { describe, expect, it } from 'vitest';
import * as Setting from '../../../common/settings';
import { ANOMALY_DEFAULTS, anomalySettingsFrom, UsageRetentionDefaults, type AnomalySettings } from '../../../common/usage';
import { readMeteringConfig } from '../../../lambda/metering/config';
import { settingValues, type LocalStackOptions } from '../../../local/stack';
import { tableEnvironment, tableNames } from '../../../local/dynamodb';

const meteringConfigOf = (options: Partial<LocalStackOptions>) =>
  readMeteringConfig({
    ...tableEnvironment(tableNames('t-')),
    ...Setting.functionEnvironments(settingValues({ port: 0, dataDir: '/nowhere', ...options })).metering,
  });

describe('settingValues', () => {
  it("gives the metering function the stack's usage retention and anomaly settings", () => {
    const anomaly = (anomalySettingsFrom({ spikeFactor: 4, spreadNetworks: 3, spreadMinutes: 10 }) as { settings: AnomalySettings }).settings;
    const config = meteringConfigOf({ usageRetention: { minuteDays: 2, hourDays: 20, dayDays: 400 }, anomalySettings: anomaly });
    expect(config.retention).toEqual({ minuteDays: 2, hourDays: 20, dayDays: 400 });
    expect(config.anomaly).toEqual(anomaly);
    expect(config.anomaly.spikeFactor).toBe(4);
  });

  it('takes the retention from the settings when no retention is given, and the defaults otherwise', () => {
    expect(meteringConfigOf({ settings: { usageHourRetentionDays: 45 } }).retention).toEqual({ ...UsageRetentionDefaults, hourDays: 45 });
    const defaults = meteringConfigOf({});
    expect(defaults.retention).toEqual({ ...UsageRetentionDefaults });
    expect(defaults.anomaly).toEqual(ANOMALY_DEFAULTS);
  });
});
