/**
 * The authorizer's copy of the signing-key ring: public keys by `kid`, loaded at cold
 * start, refreshed in the background every `refreshIntervalMs`, and refetched for an
 * unknown `kid` at most once per `unknownKidIntervalMs` (the penalty box), so a stream
 * of tokens with random kids costs one DynamoDB read per interval, not one per request.
 */
import type { KeyObject } from 'node:crypto';
import type { SigningKeyRecord } from '../../../common/signing-key-items';
import type { JwsAlgorithm } from '../../../common/tokens';
import { ES256_SIGNATURE_BYTES, es256Check, rs256Check, type SignatureCheck } from './signature-check';
import { verificationKey, type SkippedKey } from '../rotation/signing-keys';
import { SingleFlight } from '../shared/single-flight';

/** Where the ring comes from: `DynamoSigningKeyStore` in AWS, anything with `load()` in tests. */
export interface KeyRingSource {
  load(): Promise<SigningKeyRecord[]>;
}

/** A key that verifies tokens, prepared once so verification allocates nothing per token. */
export interface TrustedKey {
  readonly kid: string;
  /** The key decides the algorithm; a token's header `alg` must equal it. */
  readonly alg: JwsAlgorithm;
  /** The signature check for this key's algorithm, prepared once. */
  readonly check: SignatureCheck;
  /** RFC 7518 §3.4 (ES256: r‖s, 64 bytes) and §3.3 (RS256: the modulus length). */
  readonly signatureBytes: number;
  /** Epoch seconds from which the key no longer verifies (a retiring key's `verifyUntil`). */
  readonly verifyUntil: number;
}

export interface KeyLookup {
  /** The key named `kid` if it verifies at `nowSeconds`. */
  lookup(kid: string, nowSeconds: number): TrustedKey | undefined;
}

export type KeyRingEvent =
  | { readonly type: 'refreshed'; readonly keys: number; readonly skipped: readonly SkippedKey[] }
  | { readonly type: 'refresh_failed'; readonly error: unknown };

export interface KeyRingCacheOptions {
  readonly source: KeyRingSource;
  readonly refreshIntervalMs: number;
  readonly unknownKidIntervalMs?: number;
  /** Telemetry hook: called once per refresh attempt. */
  readonly onEvent?: (event: KeyRingEvent) => void;
}

/** Penalty box: how often an unknown `kid` may trigger a ring read. */
export const UNKNOWN_KID_REFRESH_INTERVAL_MS = 10_000;
/** A ring read still pending after this long is abandoned and may be retried. */
const REFRESH_ABANDON_MS = 10_000;
/** After a failed read the next background refresh is due this soon, not a whole interval later. */
const RETRY_AFTER_FAILURE_MS = 1_000;
/** RFC 7518 §3.3: RS256 keys must be at least 2048 bits. */
const MIN_RSA_MODULUS_BITS = 2048;

export class KeyRingCache implements KeyLookup {
  private keys = new Map<string, TrustedKey>();
  private loadedOnce = false;
  private lastRefreshFailed = false;
  private lastRefreshStartMs = Number.NEGATIVE_INFINITY;
  private lastUnknownKidRefreshMs = Number.NEGATIVE_INFINITY;
  private readonly flight = new SingleFlight(REFRESH_ABANDON_MS);
  private readonly unknownKidIntervalMs: number;

  constructor(private readonly options: KeyRingCacheOptions) {
    this.unknownKidIntervalMs = options.unknownKidIntervalMs ?? UNKNOWN_KID_REFRESH_INTERVAL_MS;
  }

  /** Whether a ring has ever been loaded (until then every token is refused). */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  get size(): number {
    return this.keys.size;
  }

  lookup(kid: string, nowSeconds: number): TrustedKey | undefined {
    const key = this.keys.get(kid);
    return key !== undefined && nowSeconds < key.verifyUntil ? key : undefined;
  }

  /** Loads the ring now (cold start, tests); joins a refresh already in flight. */
  refresh(nowMs: number): Promise<void> {
    return this.flight.run(nowMs, () => {
      this.lastRefreshStartMs = nowMs;
      return this.load(nowMs);
    });
  }

  /** Starts a background refresh when the interval has passed; never waits for it. */
  refreshIfDue(nowMs: number): void {
    const interval = this.lastRefreshFailed ? RETRY_AFTER_FAILURE_MS : this.options.refreshIntervalMs;
    if (nowMs - this.lastRefreshStartMs >= interval && !this.flight.running(nowMs)) {
      void this.refresh(nowMs);
    }
  }

  /**
   * Before the first successful load there is nothing to verify with, so a request waits
   * for the load in flight, or starts one if the last failure is old enough; it does not
   * wait when a load failed moments ago (the request is refused at once instead).
   */
  async ensureLoaded(nowMs: number): Promise<void> {
    if (this.loadedOnce) return;
    if (this.flight.running(nowMs) || nowMs - this.lastRefreshStartMs >= RETRY_AFTER_FAILURE_MS) await this.refresh(nowMs);
  }

  /**
   * For a token whose `kid` is not in the ring: reload the ring unless that was done for
   * an unknown kid less than `unknownKidIntervalMs` ago, or join the reload in flight.
   * True when the ring was reloaded for the caller.
   */
  async refreshForUnknownKid(nowMs: number): Promise<boolean> {
    if (nowMs - this.lastUnknownKidRefreshMs < this.unknownKidIntervalMs) {
      // Inside the penalty interval a reload still in flight is joined (it costs no read and
      // may bring this kid: requests arriving together with a new key's first tokens).
      if (!this.flight.running(nowMs)) return false;
      await this.refresh(nowMs);
      return true;
    }
    this.lastUnknownKidRefreshMs = nowMs;
    await this.refresh(nowMs);
    return true;
  }

  private async load(nowMs: number): Promise<void> {
    let records: SigningKeyRecord[];
    try {
      records = await this.options.source.load();
    } catch (error) {
      this.lastRefreshFailed = true;
      this.options.onEvent?.({ type: 'refresh_failed', error });
      throw error;
    }
    const { keys, skipped } = trustedKeys(records, Math.floor(nowMs / 1000));
    this.keys = keys;
    this.loadedOnce = true;
    this.lastRefreshFailed = false;
    this.options.onEvent?.({ type: 'refreshed', keys: keys.size, skipped });
  }
}

/**
 * The verifying keys of a ring. Records are converted one at a time so one malformed
 * record (bad DER, an algorithm its key cannot do) costs that key, not the whole ring.
 */
export function trustedKeys(records: readonly SigningKeyRecord[], nowSeconds: number): { keys: Map<string, TrustedKey>; skipped: SkippedKey[] } {
  const keys = new Map<string, TrustedKey>();
  const skipped: SkippedKey[] = [];
  for (const record of records) {
    try {
      const verifying = verificationKey(record, nowSeconds);
      if (verifying) keys.set(record.kid, prepare(record.kid, verifying.alg, verifying.key, verifying.verifyUntil));
    } catch (error) {
      skipped.push({ kid: String(record.kid), problem: (error as Error).message });
    }
  }
  return { keys, skipped };
}

function prepare(kid: string, alg: JwsAlgorithm, key: KeyObject, verifyUntil: number): TrustedKey {
  const details = key.asymmetricKeyDetails ?? {};
  if (alg === 'ES256') {
    // P-256 only: an ES256 signature from any other curve must never verify (RFC 7518 §3.4).
    if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') throw new Error('ES256 key is not an EC P-256 key');
    return { kid, alg, check: es256Check(key), signatureBytes: ES256_SIGNATURE_BYTES, verifyUntil };
  }
  if (alg === 'RS256') {
    const bits = details.modulusLength ?? 0;
    if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_MODULUS_BITS) throw new Error('RS256 key is not an RSA key of 2048 bits or more');
    const signatureBytes = Math.ceil(bits / 8);
    return { kid, alg, check: rs256Check(key, signatureBytes), signatureBytes, verifyUntil };
  }
  throw new Error(`unsupported algorithm ${String(alg)}`);
}
