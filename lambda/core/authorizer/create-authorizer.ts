/**
 * Wires the authorizer core from its configuration and ports: the handler does this once
 * at cold start with DynamoDB adapters; tests and the benchmark do it with fakes or
 * DynamoDB Local and an injected clock.
 */
import { tokenTtlSeconds } from '../../../common/settings';
import { AccessTokenVerifier } from './access-token-verifier';
import { Authorizer } from './authorizer';
import { KeyRingCache, type KeyRingEvent, type KeyRingSource } from './key-ring-cache';
import { RevocationView, type RevocationFeedSource, type RevocationViewEvent } from '../revocation/revocation-view';
import { resolveServices, singleService, type ResolvedService } from '../../../common/services';
import type { RouteRule, UnmatchedRoutes } from '../../../common/gateway-contract';
import { ServiceRouter } from './service-router';

/** What the core needs of the authorizer's settings (`lambda/authorizer/config.ts` reads them). */
export interface AuthorizerSettings {
  readonly issuer: string;
  /** The single-service form: its audience, routes and fallback. */
  readonly audience: string;
  readonly clockSkewSeconds: number;
  readonly routes: readonly RouteRule[];
  readonly unmatchedRoutes: UnmatchedRoutes;
  /** From `TOLLGATE_SERVICES`; absent: the one service of `audience`, `routes` and `unmatchedRoutes`. */
  readonly services?: readonly ResolvedService[];
  readonly revocationPollMs: number;
  readonly revocationMaxStalenessS: number;
  readonly keyRingRefreshSeconds: number;
  /** `usageIdentifierKey` for tokens without a `uik` claim; absent: none (usage plans not in force). */
  readonly fallbackUsageKey?: string;
}

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
    windowSeconds: tokenTtlSeconds.max + settings.clockSkewSeconds + REVOCATION_WINDOW_MARGIN_SECONDS,
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
      maxLifetimeSeconds: tokenTtlSeconds.max,
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
