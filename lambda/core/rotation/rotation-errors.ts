/**
 * Typed errors of the rotation function. The Lambda console shows an invocation's error
 * type and message as they are, so each message says what went wrong and what to do.
 */

/** The four console test events and the schedule's event, as the console user types them. */
export const ACCEPTED_ROTATION_EVENTS = [
  '{"action":"rotate"}',
  '{"action":"step"}',
  '{"action":"status"}',
  '{"action":"compromised","kid":"<kid>"}',
  'an EventBridge "Scheduled Event" (treated as step)',
] as const;

export class InvalidRotationRequest extends Error {
  override readonly name = 'InvalidRotationRequest';
  constructor(problem: string) {
    super(`${problem}; accepted events: ${ACCEPTED_ROTATION_EVENTS.join(', ')}`);
  }
}

export class UnknownSigningKey extends Error {
  override readonly name = 'UnknownSigningKey';
  constructor(
    readonly kid: string,
    knownKids: readonly string[],
  ) {
    super(`no signing key with kid "${kid}" in the ring; known kids: ${knownKids.length ? knownKids.join(', ') : '(none: the ring is empty)'}`);
  }
}

/** Another invocation changed the ring between our read and our write, more often than we retry. */
export class RingConflict extends Error {
  override readonly name = 'RingConflict';
  constructor(readonly attempts: number) {
    super(`the signing-key ring changed under this invocation ${attempts} times in a row; nothing was lost, the next run retries`);
  }
}

/** A planned ring would break an invariant; it is never written. */
export class RingInvariantViolation extends Error {
  override readonly name = 'RingInvariantViolation';
  constructor(readonly violations: readonly string[]) {
    super(`refusing to write a signing-key ring that ${violations.join('; ')}`);
  }
}

/** KMS or DynamoDB failed while the ring was being changed; what was written stays valid. */
export class RotationStepFailed extends Error {
  override readonly name = 'RotationStepFailed';
  /** What failed, without the outlook, for messages that have their own. */
  readonly failure: string;
  constructor(stage: string, cause: unknown) {
    const failure = `${stage} failed (${describeError(cause)})`;
    super(`${failure}; the ring is still valid and the next run retries`, { cause });
    this.failure = failure;
  }
}

/**
 * A `compromised` run whose compromise did not (or may not) reach the ring. Nothing retries
 * a compromise by itself (a scheduled step knows nothing of it), so the message says to
 * invoke it again.
 */
export class CompromiseNotApplied extends Error {
  override readonly name = 'CompromiseNotApplied';
  constructor(
    readonly kid: string,
    /** False when the ring could not be read to check whether the write landed after all. */
    readonly certain: boolean,
    cause: unknown,
  ) {
    const again = `{"action":"compromised","kid":"${kid}"}`;
    super(
      certain
        ? `the compromise of ${kid} was NOT applied (${failureOf(cause)}): ${kid} is still trusted and may still sign; nothing retries a compromise by itself, invoke ${again} again`
        : `the compromise of ${kid} may NOT have been applied (${failureOf(cause)}), and the ring could not be read to check: invoke {"action":"status"}, and unless ${kid} shows "compromised": true, invoke ${again} again`,
      { cause },
    );
  }
}

/**
 * A `compromised` run whose compromise took effect but whose replacement active key could
 * not be made (KMS CreateKey throttled, say): the ring has no active key until a later run
 * makes one.
 */
export class CompromiseNotReplaced extends Error {
  override readonly name = 'CompromiseNotReplaced';
  constructor(
    readonly kid: string,
    /** Whether the compromised key's KMS key is scheduled for deletion (by this run or an earlier one). */
    readonly deletionScheduled: boolean,
    cause: unknown,
  ) {
    const deletion = deletionScheduled
      ? 'its KMS key is scheduled for deletion'
      : 'scheduling its KMS key for deletion failed too (see problems in the log; every step retries it)';
    super(
      `the compromise of ${kid} took effect: it no longer signs or verifies, every token it signed is revoked, ${deletion}. ` +
        `But making the ring's next active key failed (${failureOf(cause)}), so, unless another run has made one since, the ring has no active key and the token endpoint answers 503 temporarily_unavailable with Retry-After until one exists. ` +
        'The next scheduled step (hourly) makes it; to make it now, invoke {"action":"step"}',
      { cause },
    );
  }
}

/** A `compromised` run that took effect, whose report could not be made (the ring read for it failed). */
export class CompromiseUnreported extends Error {
  override readonly name = 'CompromiseUnreported';
  constructor(
    readonly kid: string,
    cause: unknown,
  ) {
    super(
      `the compromise of ${kid} took effect (it no longer signs or verifies, every token it signed is revoked), but reading the ring for this run's report failed (${failureOf(cause)}): invoke {"action":"status"} to see the ring`,
      { cause },
    );
  }
}

/** EventBridge refused some hygiene events even after one retry of the failed entries. */
export class EventPublishFailed extends Error {
  override readonly name = 'EventPublishFailed';
  constructor(
    readonly failed: number,
    readonly errorCodes: readonly string[],
  ) {
    super(`EventBridge refused ${failed} event(s): ${[...new Set(errorCodes)].join(', ') || 'no error code given'}`);
  }
}

/** What went wrong, without a `RotationStepFailed`'s outlook (the compromise errors say what happens next themselves). */
function failureOf(error: unknown): string {
  return error instanceof RotationStepFailed ? error.failure : describeError(error);
}

/** `Name: message` of anything thrown, for reports and logs (SDK errors carry no secrets). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
