/**
 * A service's side of Tollgate: holds a pool of API keys, exchanges one for an access
 * token, caches it, refreshes it before it expires, and attaches it to outgoing requests.
 * Silent by design: no console output; the optional `onEvent` hook receives non-secret
 * events (pool positions, codes, delays), never a key or a token.
 */
import { untilAborted } from '../common/abort';
import { anySignal, defaultSleep, retryDelayMs, retryPolicy, type RetryOptions, type RetryPolicy } from './backoff';
import { ApiKeysRejected, ApiOriginNotAllowed, InvalidTokenResponse, TokenRequestRejected, TokenServiceUnavailable, type TransientReason } from './errors';
import { allowedOrigins, optionalNonNegative, secureHttpUrl, timerMs, validatedKeys } from './client-options';
import { assertResourceIndicator, buildTokenRequest, readTokenResponse, type ApiKeyCredential, type ExchangeOutcome, type TokenGrant } from './token-endpoint';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export type TollgateClientEvent =
  | { readonly type: 'token_issued'; readonly keyPosition: number; readonly expiresInSeconds: number; readonly scope: string }
  | { readonly type: 'key_rejected'; readonly keyPosition: number }
  | {
      readonly type: 'retry_scheduled';
      /** How many attempts have failed so far. */
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: TransientReason;
      readonly status?: number;
    }
  | { readonly type: 'token_invalidated'; readonly reason: 'invalid_token' | 'manual' }
  /**
   * A background refresh failed while the cached token was still valid, so callers keep using
   * it: transiently (`reason` says why), or refused (`reason: 'rejected'`, `error` names the
   * `TollgateClientError` subclass). The next refresh is tried on a later call.
   */
  | { readonly type: 'refresh_failed_using_cached_token'; readonly reason: TransientReason }
  | { readonly type: 'refresh_failed_using_cached_token'; readonly reason: 'rejected'; readonly error: string };

export interface TollgateClientOptions {
  /**
   * Absolute URL of `POST /oauth/token`, e.g. `https://…/v1/oauth/token`. `https:`; `http:`
   * only on a loopback host (local mode), since the API key travels with every exchange.
   */
  readonly tokenUrl: string | URL;
  /**
   * The only origins `fetch` sends the access token to (scheme, host and port, e.g.
   * `https://api.example.com`); a call elsewhere is refused with `ApiOriginNotAllowed`.
   * Same `https:` rule as `tokenUrl`. @default the origin of `tokenUrl`
   */
  readonly apiOrigins?: readonly (string | URL)[];
  /** Tried in order; on `invalid_client` the next one takes over at once. */
  readonly apiKeys: readonly ApiKeyCredential[];
  /** Space-separated scopes to ask for (may only narrow the key's scopes); default: all of the key's. */
  readonly scope?: string;
  /**
   * The service the tokens are for (RFC 8707 `resource`): its URL or its audience. Required
   * when the deployment has several services; one client instance per service.
   */
  readonly resource?: string;
  readonly fetch?: FetchLike;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Refresh when less than this remains. @default max(30 s, 10% of the token's lifetime) */
  readonly refreshBeforeExpirySeconds?: number;
  readonly retry?: RetryOptions;
  /** Per-exchange HTTP timeout; a timed-out exchange is retried like a network error. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Non-secret events for logs and metrics; an exception it throws is ignored. */
  readonly onEvent?: (event: TollgateClientEvent) => void;
  /**
   * How to wait between retries; `signal` aborts once nobody waits for the exchange any more
   * (the wait is abandoned then either way). @default setTimeout
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Options of `getToken`. */
export interface GetTokenOptions {
  /**
   * Stop waiting when it aborts (rejecting with its reason). An exchange other callers wait on
   * goes on for them; one nobody waits on any more is cancelled.
   */
  readonly signal?: AbortSignal;
}

/** One exchange shared by every caller that waits for a token. */
interface Flight {
  readonly promise: Promise<CachedToken>;
  readonly controller: AbortController;
  /** The cache generation it was started in: its token is not cached once the cache was dropped since. */
  readonly generation: number;
  /** Callers that can give up (they passed a signal) and still wait. */
  abortableWaiters: number;
  /** A caller without a signal, or the background refresh, waits: the exchange runs to its end. */
  held: boolean;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAtMs: number;
  readonly refreshAtMs: number;
}

const MIN_REFRESH_WINDOW_MS = 30_000;
const REFRESH_WINDOW_FRACTION = 0.1;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** `fetch` exchanges a key for an `invalid_token` answer at most once per this interval. */
const FORCED_REFRESH_INTERVAL_MS = 10_000;

/** RFC 6750 §3: the resource server's challenge for an expired, revoked or otherwise bad token. */
const INVALID_TOKEN_CHALLENGE = /\bBearer\b[\s\S]*\berror\s*=\s*"?invalid_token"?/i;

export class TollgateClient {
  private readonly tokenUrl: string;
  private readonly apiOrigins: readonly string[];
  private readonly keys: readonly ApiKeyCredential[];
  private readonly scope: string | undefined;
  private readonly resource: string | undefined;
  private readonly send: FetchLike;
  private readonly now: () => number;
  private readonly refreshWindowMs: number | undefined;
  private readonly policy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly emit: (event: TollgateClientEvent) => void;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  /** Positions refused with `invalid_client`: a definitive answer (RFC 6749 §5.2), so never retried. */
  private readonly rejected = new Set<number>();
  private cached: CachedToken | undefined;
  private inflight: Flight | undefined;
  /**
   * After an exchange that failed on the token service's side (retries spent, or a
   * `Retry-After` longer than the client waits), no new one starts until then (ms since the
   * epoch): a caller without a valid token gets that failure at once, a background refresh is
   * not tried. A success ends it early (`store`).
   */
  private pausedUntilMs = 0;
  /** When `fetch` last dropped its token for an `invalid_token` answer ({@link FORCED_REFRESH_INTERVAL_MS}). */
  private lastForcedRefreshMs = Number.NEGATIVE_INFINITY;
  private pausedBy: TokenServiceUnavailable | undefined;
  /** Bumped when the cached token is dropped: an exchange started before then neither serves new callers nor fills the cache. */
  private generation = 0;

  constructor(options: TollgateClientOptions) {
    this.tokenUrl = secureHttpUrl(options.tokenUrl, 'tokenUrl').href;
    this.apiOrigins = allowedOrigins(options.apiOrigins, new URL(this.tokenUrl).origin);
    this.keys = validatedKeys(options.apiKeys);
    this.scope = options.scope;
    if (options.resource !== undefined) assertResourceIndicator(options.resource, 'resource');
    this.resource = options.resource;
    this.send = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.refreshWindowMs = optionalNonNegative(options.refreshBeforeExpirySeconds, 'refreshBeforeExpirySeconds', 1000);
    this.policy = retryPolicy(options.retry);
    this.requestTimeoutMs = timerMs(options.requestTimeoutMs, 'requestTimeoutMs', DEFAULT_REQUEST_TIMEOUT_MS);
    this.emit = safeSink(options.onEvent);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * A valid access token. While the cached one has not expired it is returned at once; inside
   * its refresh window a single background exchange replaces it, and an outage of the token
   * service never holds a caller up. Only callers without a valid token wait, sharing one
   * exchange.
   */
  async getToken(options: GetTokenOptions = {}): Promise<string> {
    const { signal } = options;
    // Before anything else: an aborted caller must not make the client send its API key.
    signal?.throwIfAborted();
    const cached = this.cached;
    const nowMs = this.now();
    if (cached && nowMs < cached.expiresAtMs) {
      if (nowMs >= cached.refreshAtMs) this.refreshInBackground(nowMs);
      return cached.token;
    }
    // The service asked for time (Retry-After) or kept failing: callers are told so, not sent again.
    if (this.pausedBy !== undefined && nowMs < this.pausedUntilMs && this.inflight === undefined) throw this.pausedBy;
    return (await this.refresh(signal)).token;
  }

  /** Drops the cached token, so the next call exchanges a key again. */
  invalidate(): void {
    if (this.cached) this.emit({ type: 'token_invalidated', reason: 'manual' });
    this.dropCache();
    // "The next call exchanges a key again": a pause after an earlier failure ends too.
    this.pausedUntilMs = 0;
    this.pausedBy = undefined;
  }

  /** An exchange in flight may carry a token from before the drop (one the API just refused): later callers start afresh. */
  private dropCache(): void {
    this.cached = undefined;
    this.inflight = undefined;
    this.generation += 1;
  }

  /**
   * `fetch` with `Authorization: Bearer <token>`. On a 401 whose challenge says
   * `invalid_token` (revoked, or expired early by a clock difference) it drops that token,
   * gets a fresh one and retries once, at most once per 10 s (a second refusal within that
   * time is returned as it is); any other answer is returned as it is.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const signal = request.signal;
    const origin = new URL(request.url).origin;
    if (!this.apiOrigins.includes(origin)) throw new ApiOriginNotAllowed(origin, this.apiOrigins);
    const token = await this.getToken({ signal });
    const first = await this.send(withBearer(request.clone(), token));
    if (first.status !== 401 || !INVALID_TOKEN_CHALLENGE.test(first.headers.get('www-authenticate') ?? '')) return first;
    // Only the API's own challenge speaks for the token: not that of a host a redirect led to.
    if (first.redirected && !this.apiOrigins.includes(new URL(first.url).origin)) return first;
    if (this.cached?.token === token) {
      // API Gateway challenges every refusal with invalid_token, an authorizer outage and a
      // wrong audience too, which no fresh token cures: at most one forced exchange per
      // interval, so a refusing API does not cost an exchange per call.
      const nowMs = this.now();
      if (nowMs - this.lastForcedRefreshMs < FORCED_REFRESH_INTERVAL_MS) return first;
      this.lastForcedRefreshMs = nowMs;
      this.dropCache();
      this.emit({ type: 'token_invalidated', reason: 'invalid_token' });
    }
    await first.body?.cancel();
    return this.send(withBearer(request, await this.getToken({ signal })));
  }

  /** Single flight; failures go to `onEvent` (never an unhandled rejection) and pause the next try. */
  private refreshInBackground(nowMs: number): void {
    if (this.inflight || nowMs < this.pausedUntilMs) return;
    this.refresh().catch((error: unknown) => {
      // A refused exchange pauses the background refresh too (the flight pauses the rest: `pauseAfter`).
      if (!(error instanceof TokenServiceUnavailable)) this.pausedUntilMs = this.now() + this.policy.maxDelayMs;
      this.emit(
        error instanceof TokenServiceUnavailable
          ? { type: 'refresh_failed_using_cached_token', reason: error.reason }
          : { type: 'refresh_failed_using_cached_token', reason: 'rejected', error: error instanceof Error ? error.name : 'Error' },
      );
    });
  }

  /** Joins the shared exchange (starting one if none runs); a signal only ends this caller's wait. */
  private refresh(signal?: AbortSignal): Promise<CachedToken> {
    const flight = this.inflight ?? this.startFlight();
    if (signal === undefined) {
      flight.held = true;
      return flight.promise;
    }
    flight.abortableWaiters += 1;
    const leave = () => {
      flight.abortableWaiters -= 1;
      if (flight.abortableWaiters > 0 || flight.held) return;
      // Nobody waits any more: stop sending the key, and let the next caller start afresh.
      if (this.inflight === flight) this.inflight = undefined;
      flight.controller.abort(signal.reason);
    };
    signal.addEventListener('abort', leave, { once: true });
    const settled = () => signal.removeEventListener('abort', leave);
    flight.promise.then(settled, settled);
    return untilAborted(flight.promise, signal);
  }

  private startFlight(): Flight {
    const controller = new AbortController();
    const generation = this.generation;
    const promise = this.exchange(controller.signal, generation).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = undefined;
    });
    // Every waiter gets the outcome through its own chain; this one pauses the next exchange
    // after a failure of the service, and keeps an exchange nobody waits for any more from
    // becoming an unhandled rejection.
    promise.catch((error: unknown) => this.pauseAfter(error, generation));
    const flight: Flight = { promise, controller, generation, abortableWaiters: 0, held: false };
    this.inflight = flight;
    return flight;
  }

  /** One logical exchange: pool failover on `invalid_client`, bounded retries on transient failures. */
  private async exchange(signal: AbortSignal, generation: number): Promise<CachedToken> {
    let failures = 0;
    for (;;) {
      signal.throwIfAborted();
      const position = this.keys.findIndex((_, index) => !this.rejected.has(index));
      if (position < 0) throw new ApiKeysRejected(this.keys.map((_, index) => index));
      const sentAtMs = this.now();
      const outcome = await this.attempt(position, signal);
      // Cancelled meanwhile (a fetch that ignored the signal answered anyway): nobody takes its token.
      signal.throwIfAborted();
      if (outcome.kind === 'token') return this.store(outcome.grant, position, sentAtMs, generation);
      if (outcome.kind === 'rejected') {
        if (outcome.error !== 'invalid_client') throw new TokenRequestRejected(outcome.status, outcome.error, outcome.description, position);
        this.rejected.add(position);
        this.emit({ type: 'key_rejected', keyPosition: position });
        continue;
      }
      failures += 1;
      await this.pauseOrGiveUp(outcome, failures, signal);
    }
  }

  private async attempt(position: number, signal: AbortSignal): Promise<ExchangeOutcome> {
    const request = buildTokenRequest(this.keys[position]!, this.scope, this.resource);
    let response: Response;
    // Bounded whether or not the injected fetch honours its signal: the wait ends either way.
    const bounded = anySignal([AbortSignal.timeout(this.requestTimeoutMs), signal]);
    try {
      // No redirects: a token request re-sent elsewhere would carry the API key with it.
      response = await untilAborted(this.send(this.tokenUrl, { ...request, redirect: 'manual', signal: bounded }), bounded);
    } catch {
      signal.throwIfAborted();
      return { kind: 'transient', reason: 'network' };
    }
    try {
      return await untilAborted(readTokenResponse(response, this.now()), bounded);
    } catch (error) {
      if (error instanceof InvalidTokenResponse) throw error;
      signal.throwIfAborted();
      return { kind: 'transient', reason: 'network' };
    }
  }

  private async pauseOrGiveUp(outcome: Extract<ExchangeOutcome, { kind: 'transient' }>, failures: number, signal: AbortSignal): Promise<void> {
    const { reason, status, retryAfterMs } = outcome;
    if (failures >= this.policy.maxAttempts) throw new TokenServiceUnavailable(reason, failures, status);
    if (retryAfterMs !== undefined && retryAfterMs > this.policy.maxRetryAfterMs) {
      throw new TokenServiceUnavailable(reason, failures, status, retryAfterMs);
    }
    const delayMs = retryDelayMs(this.policy, failures - 1, this.random, retryAfterMs);
    this.emit({ type: 'retry_scheduled', attempt: failures, delayMs, reason, ...(status === undefined ? {} : { status }) });
    signal.throwIfAborted();
    await untilAborted(this.sleep(delayMs, signal), signal);
  }

  /** At most as long as a `Retry-After` the client would wait for, at least one backoff step. */
  private pauseAfter(error: unknown, generation: number): void {
    // An exchange from before the cache was dropped speaks for no caller since: it pauses nothing.
    if (!(error instanceof TokenServiceUnavailable) || generation !== this.generation) return;
    this.pausedUntilMs = this.now() + Math.min(Math.max(this.policy.maxDelayMs, error.retryAfterMs ?? 0), this.policy.maxRetryAfterMs);
    this.pausedBy = error;
  }

  /** Lifetimes count from when the request left, so clock time spent in transit is never credited. */
  private store(grant: TokenGrant, position: number, sentAtMs: number, generation: number): CachedToken {
    const lifetimeMs = grant.expiresInSeconds * 1000;
    const window = this.refreshWindowMs ?? Math.max(MIN_REFRESH_WINDOW_MS, lifetimeMs * REFRESH_WINDOW_FRACTION);
    // A window longer than half the lifetime would refresh on nearly every call.
    const refreshAtMs = sentAtMs + lifetimeMs - Math.min(window, lifetimeMs / 2);
    const cached = { token: grant.accessToken, expiresAtMs: sentAtMs + lifetimeMs, refreshAtMs };
    // Its waiters get it; the cache only if it was not dropped since the exchange began.
    if (generation !== this.generation) return cached;
    this.cached = cached;
    this.pausedUntilMs = 0;
    this.pausedBy = undefined;
    this.emit({ type: 'token_issued', keyPosition: position, expiresInSeconds: grant.expiresInSeconds, scope: grant.scope });
    return cached;
  }
}

/** A sink that throws must not change what callers get, nor stop retries or a refresh. */
function safeSink(sink: ((event: TollgateClientEvent) => void) | undefined): (event: TollgateClientEvent) => void {
  return (event) => {
    try {
      const result: unknown = sink?.(event);
      // An async sink's rejection too: unhandled, it would end the process.
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') Promise.resolve(result).catch(() => undefined);
    } catch {
      // Dropped on purpose: the client is silent, and the event was only informational.
    }
  };
}

function withBearer(request: Request, token: string): Request {
  const headers = new Headers(request.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return new Request(request, { headers });
}
