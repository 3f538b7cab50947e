/**
 * The rotation function's configuration, read and checked once at cold start: a bad value
 * fails the init with a message naming the variable.
 */
import { pendingPublicationSeconds } from '../../common/defaults';
import { Env } from '../../common/names';
import type { KeySpec } from '../../common/tokens';
import { clockSkewSecondsFrom, ConfigurationError, keyRingRefreshSecondsFrom, optionalInt, settingFromEnv, tableNamesFrom } from '../core/shared/env';
import { expiryWarningDays, keyDeletionWindowDays, keySpec, rotationIntervalDays, staleKeyDays } from '../../common/settings';
import { ringTiming, type RingTiming } from '../core/rotation/key-ring';
import type { UpstreamCertificates } from '../core/rotation/upstream-certificates';

type Environment = Readonly<Record<string, string | undefined>>;

export interface RotationConfig {
  readonly tables: { readonly signingKeys: string; readonly apiKeys: string };
  readonly keySpec: KeySpec;
  readonly timing: RingTiming;
  readonly expiryWarningDays: number;
  readonly staleKeyDays: number;
  /** Absent: the account's default event bus. */
  readonly eventBusName?: string;
  /** Absent: the stage presents no client certificate to watch (local mode). */
  readonly upstreamCertificates?: UpstreamCertificates;
}

/**
 * API Gateway resource ids are short alphanumerics (e.g. `a1b2c3`); the bound only has to
 * keep a stray value (a whole ARN, a path) from reaching the request path.
 */
const CLIENT_CERTIFICATE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function rotationConfig(env: Environment): RotationConfig {
  const eventBusName = env[Env.eventBusName] || undefined;
  const keyRingRefreshSeconds = keyRingRefreshSecondsFrom(env);
  const pendingSecondsOverride = pendingOverride(env, keyRingRefreshSeconds);
  const upstreamCertificates = upstreamCertificatesFrom(env);
  return {
    tables: tableNamesFrom(env, ['signingKeys', 'apiKeys']),
    keySpec: settingFromEnv(env, keySpec),
    timing: ringTiming({
      rotationIntervalDays: settingFromEnv(env, rotationIntervalDays),
      keyDeletionWindowDays: settingFromEnv(env, keyDeletionWindowDays),
      keyRingRefreshSeconds,
      clockSkewSeconds: clockSkewSecondsFrom(env),
      ...(pendingSecondsOverride !== undefined && { pendingSecondsOverride }),
    }),
    expiryWarningDays: settingFromEnv(env, expiryWarningDays),
    staleKeyDays: settingFromEnv(env, staleKeyDays),
    ...(eventBusName && { eventBusName }),
    ...(upstreamCertificates && { upstreamCertificates }),
  };
}

function upstreamCertificatesFrom(env: Environment): UpstreamCertificates | undefined {
  const id = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    if (!CLIENT_CERTIFICATE_ID.test(raw)) {
      throw new ConfigurationError(`environment variable ${name} must be an API Gateway client-certificate id (letters, digits, "-" or "_"), got "${raw}"`);
    }
    return raw;
  };
  const presented = id(Env.upstreamCertificateId);
  const next = id(Env.nextUpstreamCertificateId);
  if (next === undefined) return presented === undefined ? undefined : { presented };
  if (presented === undefined)
    throw new ConfigurationError(`environment variable ${Env.nextUpstreamCertificateId} is set without ${Env.upstreamCertificateId}`);
  if (next === presented)
    throw new ConfigurationError(
      `environment variables ${Env.upstreamCertificateId} and ${Env.nextUpstreamCertificateId} name the same certificate, "${next}"`,
    );
  return { presented, next };
}

/** A pending window shorter than two ring refreshes could let a key sign before some authorizer knows it. */
function pendingOverride(env: Environment, keyRingRefreshSeconds: number): number | undefined {
  const raw = env[Env.pendingPublicationSeconds];
  if (raw === undefined || raw === '') return undefined;
  return optionalInt(env, Env.pendingPublicationSeconds, 0, 2 * keyRingRefreshSeconds, pendingPublicationSeconds(keyRingRefreshSeconds));
}
