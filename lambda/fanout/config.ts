/**
 * The fan-out function's configuration, read and checked once at cold start: the feed
 * table, the stream tables (to tell records apart by `eventSourceARN`), the stages whose
 * authorizer cache to flush, and the authorizers' clock-skew allowance and feed poll
 * interval (both as the authorizers themselves read them).
 */
import { Env } from '../../common/names';
import { clockSkewSecondsFrom, ConfigurationError, settingFromEnv, tableNamesFrom } from '../core/shared/env';
import { revocationPollMs } from '../../common/settings';
import { STREAM_TABLES, type StreamTableNames } from '../core/revocation/revocation-events';
import type { StageRef } from '../adapters/authorizer-cache-flusher';

type Environment = Readonly<Record<string, string | undefined>>;

export interface FanoutConfig {
  readonly revocationsTable: string;
  readonly streamTables: StreamTableNames;
  /** Empty: no stage is flushed (e.g. the authorizer cache is disabled). */
  readonly flushStages: readonly StageRef[];
  readonly clockSkewSeconds: number;
  /** The authorizers' feed poll interval (the same `REVOCATION_POLL_MS` they read): it times the flush. */
  readonly revocationPollMs: number;
}

export function readFanoutConfig(env: Environment): FanoutConfig {
  const { revocations, ...streamTables } = tableNamesFrom(env, ['revocations', ...STREAM_TABLES]);
  return {
    revocationsTable: revocations,
    streamTables,
    flushStages: parseFlushStages(env[Env.flushStages]),
    clockSkewSeconds: clockSkewSecondsFrom(env),
    revocationPollMs: settingFromEnv(env, revocationPollMs),
  };
}

/** API Gateway REST API ids are alphanumeric; stage names are letters, digits, `-` and `_`. */
const STAGE_REF = /^([A-Za-z0-9]+)\/([A-Za-z0-9_-]{1,128})$/;

/** `restApiId/stageName[,restApiId/stageName…]`; blank or absent means none. Duplicates collapse. */
export function parseFlushStages(raw: string | undefined): StageRef[] {
  const stages = new Map<string, StageRef>();
  for (const item of (raw ?? '').split(',').map((part) => part.trim())) {
    if (item === '') continue;
    const match = STAGE_REF.exec(item);
    if (!match) {
      throw new ConfigurationError(`environment variable ${Env.flushStages} must list restApiId/stageName pairs separated by commas, got "${item}"`);
    }
    stages.set(item, { restApiId: match[1]!, stageName: match[2]! });
  }
  return [...stages.values()];
}
