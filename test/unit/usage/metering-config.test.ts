import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { Env } from '../../../common/names';
import { ANOMALY_DEFAULTS, UsageRetentionDefaults } from '../../../common/usage';
import { readMeteringConfig } from '../../../lambda/metering/config';
import * as Setting from '../../../common/settings';

const tables = { TOLLGATE_USAGE_TABLE: 'usage', TOLLGATE_CLIENTS_TABLE: 'clients', TOLLGATE_API_KEYS_TABLE: 'keys' };

describe('readMeteringConfig (cold start)', () => {
  it('reads the tables, and the defaults for what the stack did not set', () => {
    expect(readMeteringConfig(tables)).toEqual({
      usageTable: 'usage',
      clientsTable: 'clients',
      apiKeysTable: 'keys',
      retention: UsageRetentionDefaults,
      routes: DEFAULT_ROUTES,
      anomaly: ANOMALY_DEFAULTS,
    });
  });

  it('reads what the stack hands it', () => {
    const config = readMeteringConfig({
      ...tables,
      [Setting.usageMinuteRetentionDays.env]: '3',
      [Setting.routes.env]: JSON.stringify([{ method: 'GET', path: '/x', scopes: ['x'] }]),
      [Setting.anomalyDetection.env]: JSON.stringify({ ...ANOMALY_DEFAULTS, spikeFactor: 12 }),
      [Env.eventBusName]: 'bus',
    });
    expect(config).toMatchObject({ retention: { minuteDays: 3, hourDays: 90 }, routes: [{ path: '/x' }], anomaly: { spikeFactor: 12 }, eventBusName: 'bus' });
  });

  it.each([
    [{}, /TOLLGATE_USAGE_TABLE is required/],
    [{ ...tables, [Setting.usageHourRetentionDays.env]: '3' }, /TOLLGATE_USAGE_HOUR_RETENTION_DAYS must be at least usageMinuteRetentionDays/],
    [{ ...tables, [Setting.usageDayRetentionDays.env]: 'x' }, /TOLLGATE_USAGE_DAY_RETENTION_DAYS must be a whole number of days/],
    [{ ...tables, [Setting.routes.env]: '[' }, /TOLLGATE_ROUTES is not valid JSON/],
    [{ ...tables, [Setting.anomalyDetection.env]: '{"alpha": 2}' }, /TOLLGATE_ANOMALY_SETTINGS threshold alpha must be a number from 0.001 to 1/],
  ])('fails the cold start naming the variable: %j', (env, message) => {
    expect(() => readMeteringConfig(env as Record<string, string>)).toThrow(message);
  });
});
