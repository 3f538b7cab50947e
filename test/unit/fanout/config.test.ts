import { describe, expect, it } from 'vitest';
import { Env } from '../../../common/names';
import { Tables } from '../../../common/tables';
import { ConfigurationError } from '../../../lambda/core/shared/env';
import { parseFlushStages, readFanoutConfig } from '../../../lambda/fanout/config';
import * as Setting from '../../../common/settings';

const tableEnv = {
  [Tables.revocations.envVar]: 'p-Revocations',
  [Tables.apiKeys.envVar]: 'p-ApiKeys',
  [Tables.clients.envVar]: 'p-Clients',
  [Tables.tokens.envVar]: 'p-Tokens',
  [Tables.signingKeys.envVar]: 'p-SigningKeys',
};

describe('readFanoutConfig', () => {
  it('reads the feed table, the stream tables, the stages and the clock skew', () => {
    expect(readFanoutConfig({ ...tableEnv, [Env.flushStages]: 'a1b2c3d4e5/v1', [Env.clockSkewSeconds]: '45', [Setting.revocationPollMs.env]: '250' })).toEqual({
      revocationsTable: 'p-Revocations',
      streamTables: { apiKeys: 'p-ApiKeys', clients: 'p-Clients', tokens: 'p-Tokens', signingKeys: 'p-SigningKeys' },
      flushStages: [{ restApiId: 'a1b2c3d4e5', stageName: 'v1' }],
      clockSkewSeconds: 45,
      revocationPollMs: 250,
    });
  });

  it('defaults: no stage to flush, the default clock skew and poll interval', () => {
    expect(readFanoutConfig(tableEnv)).toMatchObject({ flushStages: [], clockSkewSeconds: 30, revocationPollMs: 500 });
  });

  it('fails naming the poll-interval variable when it is out of range', () => {
    expect(() => readFanoutConfig({ ...tableEnv, [Setting.revocationPollMs.env]: '5000' })).toThrow(Setting.revocationPollMs.env);
  });

  it('fails at cold start naming a missing table variable', () => {
    const { [Tables.signingKeys.envVar]: _missing, ...rest } = tableEnv;
    expect(() => readFanoutConfig(rest)).toThrow(ConfigurationError);
    expect(() => readFanoutConfig(rest)).toThrow(Tables.signingKeys.envVar);
  });

  it('fails naming the clock-skew variable when it is out of range', () => {
    expect(() => readFanoutConfig({ ...tableEnv, [Env.clockSkewSeconds]: '9999' })).toThrow(Env.clockSkewSeconds);
  });
});

describe('parseFlushStages', () => {
  it('reads comma-separated restApiId/stageName pairs, ignoring blanks and repeats', () => {
    expect(parseFlushStages(' abc/v1 , ,def/canary_2,abc/v1 ')).toEqual([
      { restApiId: 'abc', stageName: 'v1' },
      { restApiId: 'def', stageName: 'canary_2' },
    ]);
  });

  it('means none when absent or blank', () => {
    expect(parseFlushStages(undefined)).toEqual([]);
    expect(parseFlushStages('  ')).toEqual([]);
  });

  it.each(['abc', 'abc/', '/v1', 'abc/v1/extra', 'ab-c/v1', 'abc/v 1'])('refuses "%s", naming the variable', (raw) => {
    expect(() => parseFlushStages(raw)).toThrow(ConfigurationError);
    expect(() => parseFlushStages(raw)).toThrow(new RegExp(`${Env.flushStages}.*"${raw.replace(/[/]/g, '\\/')}"`));
  });
});
