/**
 * The ports of the rotation core: what it needs from the ring store (DynamoDB), the key
 * manager (KMS), the API-key hygiene source (DynamoDB indexes), the event publisher
 * (EventBridge) and metrics. Adapters implement them; unit tests fake them.
 */
import type { SigningKeyRecord } from '../../../common/signing-key-items';
import type { KeySpec } from '../../../common/tokens';
import type { KeyUpdate, RingState, RingTransition } from './key-ring';

export interface RingHead {
  readonly version: number;
  readonly activeKid?: string;
  /** Where the last bounded pass over the account's KMS keys stopped; absent: start over. */
  readonly reconcileCursor?: string;
}

export interface RingSnapshot extends RingState {
  readonly head: RingHead;
}

/** Jobs done at most once per period, claimed on the ring head so overlapping runs do them once. */
export type PeriodicJob = 'reconcile' | 'hygiene';

export interface RingStore {
  /** The whole ring, head included, strongly consistent. */
  snapshot(): Promise<RingSnapshot>;
  /** Writes a transition atomically; throws `RingConflict` if the ring changed since it was read. */
  commit(transition: RingTransition): Promise<void>;
  /** Replaces one key if it is unchanged since it was read; false when it was not. */
  replaceKey(update: KeyUpdate): Promise<boolean>;
  /** Deletes one key if it is unchanged since it was read; false when it was not. */
  removeKey(record: SigningKeyRecord): Promise<boolean>;
  /** Claims `job` for `period` (an increasing number); false when a run already claimed it. */
  claimPeriod(job: PeriodicJob, period: number): Promise<boolean>;
  /** Gives a claim back after the job failed, so the next run does it. */
  releasePeriod(job: PeriodicJob, period: number): Promise<void>;
  saveReconcileCursor(cursor: string | undefined): Promise<void>;
}

export interface CreatedKmsKey {
  readonly kmsKeyArn: string;
  /** Base64 DER SubjectPublicKeyInfo from GetPublicKey. */
  readonly publicKey: string;
}

/** A KMS key tagged as belonging to this ring. */
export interface RingKmsKey {
  readonly kmsKeyArn: string;
  readonly kid?: string;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly pendingDeletion: boolean;
}

export type DeletionOutcome = 'scheduled' | 'already-scheduled' | 'not-found';

export interface KeyManager {
  /** Creates a tagged signing key and reads its public key once. */
  createKey(request: { readonly kid: string; readonly keySpec: KeySpec }): Promise<CreatedKmsKey>;
  scheduleDeletion(kmsKeyArn: string, pendingWindowInDays: number): Promise<DeletionOutcome>;
  /** This ring's keys among at most `maxKeys` of the account's keys, starting at `cursor`. */
  listRingKeys(request: { readonly cursor?: string; readonly maxKeys: number }): Promise<{ readonly keys: readonly RingKmsKey[]; readonly cursor?: string }>;
}

/** An active API key as the hygiene indexes project it: identifiers and times, never the hash. */
export interface ApiKeySighting {
  readonly keyId: string;
  readonly clientId: string;
}

export interface ExpiringApiKey extends ApiKeySighting {
  readonly expiresAt: number;
}

export interface StaleApiKey extends ApiKeySighting {
  readonly lastUsedAt: number;
}

export interface BoundedList<T> {
  readonly items: readonly T[];
  /** More matched than the bounded read returned. */
  readonly truncated: boolean;
}

export interface ApiKeyHygieneSource {
  /** Active keys whose `expiresAt` lies in [fromSeconds, untilSeconds]. */
  expiringBetween(fromSeconds: number, untilSeconds: number): Promise<BoundedList<ExpiringApiKey>>;
  /** Active keys whose `lastUsedAt` is before `beforeSeconds`. */
  unusedSince(beforeSeconds: number): Promise<BoundedList<StaleApiKey>>;
}

export interface HygieneEventEntry {
  readonly detailType: string;
  readonly detail: Readonly<Record<string, string | number>>;
  /** Epoch seconds. */
  readonly time: number;
}

export interface EventPublisher {
  publish(events: readonly HygieneEventEntry[]): Promise<void>;
}

/** API Gateway client certificates: the ones the stage presents to the upstream. */
export interface ClientCertificateSource {
  /** When the certificate expires, in epoch seconds. */
  expiresAt(certificateId: string): Promise<number>;
}

export type MetricUnit = 'Count' | 'Seconds';

export interface MetricsSink {
  record(name: string, value: number, unit: MetricUnit): void;
}

/** Where the core reports what went wrong without failing the run (structured logs). */
export interface WarningLog {
  warn(message: string, details: Readonly<Record<string, unknown>>): void;
}
