/**
 * Which ring key the issuer signs with: the ACTIVE one, and nothing else (docs/rotation.md: a
 * pending key is published but not yet known to every verifier; retiring, retired and
 * compromised keys must not sign new tokens). The ring is cached briefly so a burst of
 * exchanges costs one Query, while a rotation is picked up within seconds.
 */
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { TemporarilyUnavailable } from '../shared/issuance-errors';
import type { SigningKeyRef } from './jws';

/**
 * How long the issuer trusts its copy of the ring. Short against the rotation's signer-lag
 * margin (`RotationTiming.signerLagMarginSeconds`, 60 s), so a key that stops being active
 * stops signing well within the time verifiers keep accepting it.
 */
export const ISSUER_RING_CACHE_MS = 5_000;

export interface RingSource {
  load(): Promise<readonly SigningKeyRecord[]>;
}

/** The ring, re-read at most once per `ttlMs`; concurrent callers share one in-flight read. */
export class CachedRing implements RingSource {
  private value: readonly SigningKeyRecord[] | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private failedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<readonly SigningKeyRecord[]> | undefined;

  constructor(
    private readonly source: RingSource,
    private readonly now: () => number,
    private readonly ttlMs: number = ISSUER_RING_CACHE_MS,
  ) {}

  async load(): Promise<readonly SigningKeyRecord[]> {
    if (this.value && this.now() - this.loadedAt < this.ttlMs) return this.value;
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * For the JWKS: the ring as `load` gives it, or, while the table cannot be read, the last
   * ring read successfully, however old (a verifier is better served by a slightly old key
   * set than by none). After a failed read the last good ring is served at once for one
   * cache window, so requests do not each wait for a dependency that just failed. Rejects
   * only when no read ever succeeded. `failure`: the error of the read this call made, if
   * it made one and it failed (at most one per cache window, for the log). Never used to
   * pick a signing key.
   */
  async loadOrLastGood(): Promise<{ readonly records: readonly SigningKeyRecord[]; readonly stale: boolean; readonly failure?: unknown }> {
    if (this.value && this.now() - this.failedAt < this.ttlMs) return { records: this.value, stale: true };
    try {
      return { records: await this.load(), stale: false };
    } catch (error) {
      if (!this.value) throw error;
      return { records: this.value, stale: true, failure: error };
    }
  }

  private async refresh(): Promise<readonly SigningKeyRecord[]> {
    const startedAt = this.now();
    let records: readonly SigningKeyRecord[];
    try {
      records = await this.source.load();
    } catch (error) {
      this.failedAt = this.now();
      throw error;
    }
    this.value = records;
    this.loadedAt = startedAt;
    return records;
  }
}

/** The newest active, uncompromised key, if any. */
export function activeSigningKey(records: readonly SigningKeyRecord[]): SigningKeyRecord | undefined {
  const active = records.filter((record) => record.state === SigningKeyState.Active && record.compromisedAt === undefined);
  return active.sort((a, b) => (b.activatedAt ?? b.createdAt) - (a.activatedAt ?? a.createdAt))[0];
}

/** The key to sign with now; `temporarily_unavailable` when the ring cannot be read or has no active key. */
export async function issuingKey(ring: RingSource): Promise<SigningKeyRef> {
  let records: readonly SigningKeyRecord[];
  try {
    records = await ring.load();
  } catch (error) {
    if (error instanceof TemporarilyUnavailable) throw error;
    throw new TemporarilyUnavailable(`signing_key_ring_unreadable: ${(error as Error).name}`);
  }
  const active = activeSigningKey(records);
  if (!active) throw new TemporarilyUnavailable('no_active_signing_key');
  return { kid: active.kid, alg: active.alg, kmsKeyArn: active.kmsKeyArn };
}
