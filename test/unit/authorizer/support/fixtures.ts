/**
 * Test doubles of the authorizer's own ports (key ring source, revocation feed, clock)
 * and builders for events and authorizers. Crypto is always real (see tokens.ts).
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DEFAULT_ROUTES, type RouteRule, type UnmatchedRoutes } from '../../../../common/gateway-contract';
import { FEED_SUSPENSIONS_PARTITION, feedPartition, feedSortKey, SUSPENSION_KINDS, type RevocationKind } from '../../../../common/revocation-feed';
import type { SigningKeyRecord } from '../../../../common/signing-key-items';
import { createAuthorizer, type AuthorizerSettings } from '../../../../lambda/core/authorizer/create-authorizer';
import { resolveServices, type ServiceDefinition } from '../../../../common/services';
import type { KeyRingEvent, KeyRingSource } from '../../../../lambda/core/authorizer/key-ring-cache';
import type { FeedRecord, RevocationFeedSource, RevocationViewEvent } from '../../../../lambda/core/revocation/revocation-view';
import { AUDIENCE, ISSUER } from './tokens';

export const NOW_MS = 1_750_000_000_000;
export const NOW_S = NOW_MS / 1000;
export const API_PREFIX = 'arn:aws:execute-api:eu-west-1:111122223333:abcdef1234/v1/';

export function methodArn(method: string, path: string, prefix = API_PREFIX): string {
  return `${prefix}${method}${path}`;
}

/** A clock tests move by hand. */
export class Clock {
  constructor(public ms = NOW_MS) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** An in-memory ring; `failing` makes `load` reject, `loads` counts calls. */
export class FakeKeySource implements KeyRingSource {
  loads = 0;
  failing = false;
  constructor(public records: SigningKeyRecord[]) {}
  async load(): Promise<SigningKeyRecord[]> {
    this.loads += 1;
    if (this.failing) throw new Error('ring unavailable');
    return this.records;
  }
}

/**
 * An in-memory feed honouring the read contract (partitions + `seq > afterSeq`).
 * `failing` makes reads reject; `reads` records each call's arguments.
 */
export class FakeFeed implements RevocationFeedSource {
  /** Reads of the hour buckets: the cold-start window, then the polls. */
  readonly reads: { partitions: readonly string[]; afterSeq: string }[] = [];
  /** Reads of the suspensions partition (a cold start's, whole). */
  readonly suspensionReads: { afterSeq: string }[] = [];
  failing = false;
  private readonly byPartition = new Map<string, FeedRecord[]>();
  private counter = 0;

  async read(partitions: readonly string[], afterSeq: string): Promise<FeedRecord[]> {
    if (partitions.length === 1 && partitions[0] === FEED_SUSPENSIONS_PARTITION) this.suspensionReads.push({ afterSeq });
    else this.reads.push({ partitions, afterSeq });
    if (this.failing) throw new Error('feed unavailable');
    return partitions.flatMap((p) => (this.byPartition.get(p) ?? []).filter((r) => r.seq > afterSeq));
  }

  /** Appends an entry written at `writtenAtMs` (feed layout of common/revocation-feed.ts: a suspension goes to its partition too). */
  add(kind: RevocationKind, value: string, writtenAtMs: number, purgeAt = Math.floor(writtenAtMs / 1000) + 3600): void {
    const record: FeedRecord = { kind, value, revokedAtMs: writtenAtMs, purgeAt, seq: feedSortKey(writtenAtMs, `e${(this.counter += 1)}`) };
    const partitions = [feedPartition(Math.floor(writtenAtMs / 1000), 0), ...(SUSPENSION_KINDS.has(kind) ? [FEED_SUSPENSIONS_PARTITION] : [])];
    for (const partition of partitions) this.byPartition.set(partition, [...(this.byPartition.get(partition) ?? []), record]);
  }
}

export const SETTINGS: AuthorizerSettings = {
  issuer: ISSUER,
  audience: AUDIENCE,
  clockSkewSeconds: 30,
  routes: DEFAULT_ROUTES,
  unmatchedRoutes: 'deny',
  revocationPollMs: 1000,
  revocationMaxStalenessS: 30,
  keyRingRefreshSeconds: 60,
};

export interface Harness {
  readonly authorizer: ReturnType<typeof createAuthorizer>;
  readonly clock: Clock;
  readonly keySource: FakeKeySource;
  readonly feed: FakeFeed;
  readonly keyEvents: KeyRingEvent[];
  readonly feedEvents: RevocationViewEvent[];
}

/** A started authorizer over fakes, at NOW_MS unless a clock is given. */
export async function harness(
  records: SigningKeyRecord[],
  options: {
    routes?: readonly RouteRule[];
    unmatchedRoutes?: UnmatchedRoutes;
    /** Several services (`common/services.ts`), resolved against the fixtures' issuer. */
    services?: readonly ServiceDefinition[];
    clock?: Clock;
    cacheCapacity?: number;
    fallbackUsageKey?: string;
    start?: boolean;
    onKeyRingEvent?: (event: KeyRingEvent) => void;
    onRevocationEvent?: (event: RevocationViewEvent) => void;
  } = {},
): Promise<Harness> {
  const clock = options.clock ?? new Clock();
  const keySource = new FakeKeySource(records);
  const feed = new FakeFeed();
  const keyEvents: KeyRingEvent[] = [];
  const feedEvents: RevocationViewEvent[] = [];
  const authorizer = createAuthorizer(
    {
      ...SETTINGS,
      routes: options.routes ?? SETTINGS.routes,
      unmatchedRoutes: options.unmatchedRoutes ?? SETTINGS.unmatchedRoutes,
      ...(options.services && { services: resolveServices(options.services, SETTINGS.issuer) }),
      fallbackUsageKey: options.fallbackUsageKey,
    },
    {
      keySource,
      feed,
      now: clock.now,
      onKeyRingEvent: (e) => {
        keyEvents.push(e);
        options.onKeyRingEvent?.(e);
      },
      onRevocationEvent: (e) => {
        feedEvents.push(e);
        options.onRevocationEvent?.(e);
      },
      cacheCapacity: options.cacheCapacity,
    },
  );
  if (options.start !== false) await authorizer.start();
  return { authorizer, clock, keySource, feed, keyEvents, feedEvents };
}

/** A REQUEST authorizer event as API Gateway sends it. */
export function authorizerEvent(
  authorization: string | undefined,
  method = 'GET',
  path = '/orders/42',
  extra: { headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> } = {},
): APIGatewayRequestAuthorizerEvent {
  const headers: Record<string, string> = {
    Host: 'api.example.com',
    ...(authorization === undefined ? {} : { Authorization: authorization }),
    ...extra.headers,
  };
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
  Object.assign(multiValueHeaders, extra.multiValueHeaders);
  return {
    type: 'REQUEST',
    methodArn: methodArn(method, path),
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    pathParameters: { proxy: path.slice(1) },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}
