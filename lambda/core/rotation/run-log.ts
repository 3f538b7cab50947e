/**
 * The run log has a module of its own so that the report, which shows it, and the steps
 * that write to it (upstream certificates, hygiene, reconciliation) all import it without
 * importing one another.
 */
import type { StateChange } from './key-ring';
import type { WarningLog } from './rotation-ports';

export type RotationChange =
  | ({ readonly kind: 'state' } & StateChange)
  | { readonly kind: 'kms-deletion-scheduled'; readonly kid?: string; readonly kmsKeyArn: string; readonly reason: string }
  | { readonly kind: 'record-pruned'; readonly kid: string; readonly reason: string };

/** What one run changed and what went wrong, collected as it goes. */
export class RunLog {
  readonly changes: RotationChange[] = [];
  readonly problems: string[] = [];

  constructor(private readonly warnings: WarningLog) {}

  stateChanges(changes: readonly StateChange[]): void {
    for (const change of changes) this.changes.push({ kind: 'state', ...change });
  }

  change(change: RotationChange): void {
    this.changes.push(change);
  }

  problem(message: string, details: Readonly<Record<string, unknown>> = {}): void {
    this.problems.push(message);
    this.warnings.warn(message, details);
  }
}
