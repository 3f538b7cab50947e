/**
 * Wires the authorizer core from its configuration and ports: the handler does this once
 * at cold start with DynamoDB adapters; tests and the benchmark do it with fakes or
 * DynamoDB Local and an injected clock.
 */
import { Limits } from '../../../common/defaults';
import { AccessTokenVerifier } from './access-token-verifier';
import { Authorizer } from './authorizer';
import type { AuthorizerConfig } from './authorizer-config';
import { KeyRingCache, type KeyRingEvent, type KeyRingSource } from './key-ring-cache';
import { RevocationView, type RevocationFeedSource, type RevocationViewEvent } from '../revocation/revocation-view';
import { resolveServices, singleService } from '../../../common/services';
import { ServiceRouter } from './service-router';

export type AuthorizerSettings = Omit<AuthorizerConfig, 'tables' | 'allowLogSampleRate'>;

export interface AuthorizerPorts {
  readonly keySource: KeyRingSource;
  readonly feed: RevocationFeedSource;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly onKeyRingEvent?: (event: KeyRingEvent) => void;
  readonly onRevocationEvent?: (event: RevocationViewEvent) => void;
  readonly cacheCapacity?: number;
  readonly unknownKidIntervalMs?: number;
}

/**
 * Extra time a revocation entry is read back at cold start beyond the longest token
 * lifetime plus skew: covers fan-out delay between the revoke and the feed write.
 */
export const REVOCATION_WINDOW_MARGIN_SECONDS = 300;

export function createAuthorizer(settings: AuthorizerSettings, ports: AuthorizerPorts): Authorizer {
  const keys = new KeyRingCache({
    source: ports.keySource,
    refreshIntervalMs: settings.keyRingRefreshSeconds * 1000,
    unknownKidIntervalMs: ports.unknownKidIntervalMs,
    onEvent: ports.onKeyRingEvent,
  });
  let authorizer: Authorizer | undefined;
  const revocations = new RevocationView({
    source: ports.feed,
    pollIntervalMs: settings.revocationPollMs,
    maxStalenessMs: settings.revocationMaxStalenessS * 1000,
    windowSeconds: Limits.tokenTtlSecondsMax + settings.clockSkewSeconds + REVOCATION_WINDOW_MARGIN_SECONDS,
    now: ports.now,
    onEvent: ports.onRevocationEvent,
    onRevoked: () => authorizer?.forgetRevoked(),
  });
  const services = new ServiceRouter(settings.services ?? resolveServices([singleService(settings)], settings.issuer));
  authorizer = new Authorizer({
    verifier: new AccessTokenVerifier({
      issuer: settings.issuer,
      audience: services.audiences,
      clockSkewSeconds: settings.clockSkewSeconds,
      maxLifetimeSeconds: Limits.tokenTtlSecondsMax,
    }),
    keys,
    revocations,
    services,
    clockSkewSeconds: settings.clockSkewSeconds,
    now: ports.now,
    cacheCapacity: ports.cacheCapacity,
    fallbackUsageKey: settings.fallbackUsageKey,
  });
  return authorizer;
}
