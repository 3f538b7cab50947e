/**
 * What the ring waits for and when: the `next` and `upcoming` of every rotation report. The
 * first scheduled step at or after each moment does it.
 */
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { activeSince, awaitingDeletion, type RingTiming } from './key-ring';

export type UpcomingActionName = 'bootstrap' | 'create-active' | 'activate' | 'retire' | 'schedule-deletion' | 'rotate' | 'prune';

export interface UpcomingAction {
  readonly action: UpcomingActionName;
  readonly kid?: string;
  /** Epoch seconds; the first scheduled run at or after this moment does it. */
  readonly at: number;
}

/** Every timed transition the ring is waiting for, soonest first. */
export function upcomingActions(keys: readonly SigningKeyRecord[], nowSeconds: number, timing: RingTiming): UpcomingAction[] {
  const actions: UpcomingAction[] = [];
  const active = keys.find((key) => key.state === SigningKeyState.Active);
  const pending = keys.filter((key) => key.state === SigningKeyState.Pending);
  if (!active && pending.length === 0) actions.push({ action: keys.length === 0 ? 'bootstrap' : 'create-active', at: nowSeconds });
  for (const key of pending) actions.push({ action: 'activate', kid: key.kid, at: key.activateAt ?? nowSeconds });
  if (active && pending.length === 0) actions.push({ action: 'rotate', kid: active.kid, at: activeSince(active) + timing.rotationIntervalSeconds });
  for (const key of keys.filter((record) => record.state === SigningKeyState.Retiring)) {
    actions.push({ action: 'retire', kid: key.kid, at: key.verifyUntil ?? nowSeconds });
  }
  for (const key of awaitingDeletion(keys)) actions.push({ action: 'schedule-deletion', kid: key.kid, at: nowSeconds });
  for (const key of keys) {
    if (key.state === SigningKeyState.Retired && key.deletionScheduledAt !== undefined) {
      actions.push({ action: 'prune', kid: key.kid, at: key.deletionScheduledAt + timing.pruneAfterSeconds });
    }
  }
  return actions.sort((a, b) => a.at - b.at);
}
