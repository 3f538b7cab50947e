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
  constructor(stage: string, cause: unknown) {
    super(`${stage} failed (${describeError(cause)}); the ring is still valid and the next run retries`, { cause });
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

/** `Name: message` of anything thrown, for reports and logs (SDK errors carry no secrets). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
