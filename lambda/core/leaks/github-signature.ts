/**
 * GitHub's secret-scanning signatures: each alert is signed with ECDSA P-256 / SHA-256 (a
 * base64 DER signature over the RAW body) by one of the keys GitHub lists as
 * `{"public_keys":[{"key_identifier","key" (PEM),"is_current"}]}`; the request names the key
 * by `Github-Public-Key-Identifier`. Keys are cached by identifier, loaded on first use and
 * refetched for an unknown identifier at most once per `keysRefetchIntervalMs` (whoever
 * sends the request chooses the identifier, so an unknown one must not buy a fetch each).
 * `is_current` is not consulted, as GitHub's own verification samples do not: every listed
 * key verifies, and a key stops verifying once GitHub drops it from the list.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { LeakLimits } from '../../../common/leaks';
import { SingleFlight } from '../shared/single-flight';

/** Fetches the key list document (JSON, parsed); throws when it cannot. */
export type KeyListSource = () => Promise<unknown>;

/** Why a signature was refused: logged and counted, never told to the caller. */
export type SignatureRefusal = 'missing_headers' | 'malformed_signature' | 'unknown_key' | 'bad_signature';

export type SignatureVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: SignatureRefusal };

/** The key list could not be fetched or read: nothing can be verified (the caller answers 503). */
export class KeyListUnavailable extends Error {
  override readonly name = 'KeyListUnavailable';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A DER ECDSA-Sig-Value for P-256 is at most 72 bytes; anything far longer is not one. */
const MAX_SIGNATURE_CHARS = 200;

/** The P-256 public keys of a key list document, by identifier; keys of any other kind are left out. */
export function parseKeyList(document: unknown): Map<string, KeyObject> {
  const list = (document as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list)) throw new KeyListUnavailable('the key list has no public_keys array');
  const keys = new Map<string, KeyObject>();
  for (const entry of list) {
    const { key_identifier: id, key: pem } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof id !== 'string' || typeof pem !== 'string') continue;
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') keys.set(id, key);
    } catch {
      // One unreadable entry must not take the others down with it.
    }
  }
  return keys;
}

export class GitHubSignatureVerifier {
  private keys = new Map<string, KeyObject>();
  private fetchedAtMs: number | undefined;
  private readonly flight = new SingleFlight(2 * LeakLimits.keysFetchTimeoutMs);
  private lastError: Error | undefined;

  constructor(
    private readonly source: KeyListSource,
    /** Epoch milliseconds. */
    private readonly now: () => number,
  ) {}

  /** Checks the signature over `body` exactly as received; throws {@link KeyListUnavailable} only. */
  async verify(keyIdentifier: string | undefined, signature: string | undefined, body: Buffer): Promise<SignatureVerdict> {
    if (!keyIdentifier || !signature) return { ok: false, reason: 'missing_headers' };
    if (signature.length > MAX_SIGNATURE_CHARS || !BASE64.test(signature)) return { ok: false, reason: 'malformed_signature' };
    const key = await this.keyFor(keyIdentifier);
    if (!key) return { ok: false, reason: 'unknown_key' };
    let valid: boolean;
    try {
      valid = verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      // A signature that is not DER at all makes OpenSSL throw rather than return false.
      return { ok: false, reason: 'malformed_signature' };
    }
    return valid ? { ok: true } : { ok: false, reason: 'bad_signature' };
  }

  private async keyFor(identifier: string): Promise<KeyObject | undefined> {
    // A key GitHub has withdrawn must stop verifying in a warm instance too: the list is read
    // again once it is older than `keysMaxAgeMs`, known key or not (a failed read keeps the last list).
    if (this.fetchedAtMs !== undefined && this.now() - this.fetchedAtMs >= LeakLimits.keysMaxAgeMs && !this.flight.running(this.now())) {
      await this.flight.run(this.now(), () => this.fetchKeys());
    }
    const known = this.keys.get(identifier);
    if (known) return known;
    const due = this.fetchedAtMs === undefined || this.now() - this.fetchedAtMs >= LeakLimits.keysRefetchIntervalMs;
    if (due || this.flight.running(this.now())) await this.flight.run(this.now(), () => this.fetchKeys());
    // Never loaded: the list is unreachable, and no signature can be checked (not the caller's fault).
    if (this.fetchedAtMs !== undefined && this.keys.size === 0 && this.lastError) throw new KeyListUnavailable(this.lastError.message);
    return this.keys.get(identifier);
  }

  private async fetchKeys(): Promise<void> {
    // Counted from the attempt, so a failing list endpoint is not hammered either.
    this.fetchedAtMs = this.now();
    try {
      const keys = parseKeyList(await this.source());
      this.keys = keys;
      this.lastError = undefined;
    } catch (error) {
      // The keys already known stay in use: GitHub's list changes rarely.
      this.lastError = error as Error;
    }
  }
}
