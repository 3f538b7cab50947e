import { describe, expect, it } from 'vitest';
import { upcomingActions } from '../../../lambda/core/rotation/ring-schedule';
import { DEFAULT_TIMING } from './fakes';
import { RING_T0, ringKey } from './fixtures';

const T0 = RING_T0;
const DAY = 86_400;
const key = ringKey;

describe('upcomingActions', () => {
  it('lists what the ring waits for, soonest first', () => {
    const keys = [
      key('a', 'active', { activatedAt: T0 }),
      key('r', 'retiring', { verifyUntil: T0 + 5000 }),
      key('x', 'retired', { deletionScheduledAt: T0 }),
      key('y', 'retired'),
    ];
    expect(upcomingActions(keys, T0 + 100, DEFAULT_TIMING)).toEqual([
      { action: 'schedule-deletion', kid: 'y', at: T0 + 100 },
      { action: 'retire', kid: 'r', at: T0 + 5000 },
      { action: 'rotate', kid: 'a', at: T0 + 30 * DAY },
      { action: 'prune', kid: 'x', at: T0 + 37 * DAY },
    ]);
  });

  it('names activation while a key is pending, and bootstrap on an empty ring', () => {
    expect(upcomingActions([key('a', 'active'), key('b', 'pending', { activateAt: T0 + 600 })], T0, DEFAULT_TIMING)).toEqual([
      { action: 'activate', kid: 'b', at: T0 + 600 },
    ]);
    expect(upcomingActions([], T0, DEFAULT_TIMING)).toEqual([{ action: 'bootstrap', at: T0 }]);
  });

  it('names the missing active key of a ring a compromise left without one', () => {
    const keys = [key('a', 'retired', { compromisedAt: T0, deletionScheduledAt: T0 })];
    expect(upcomingActions(keys, T0 + 10, DEFAULT_TIMING)[0]).toEqual({ action: 'create-active', at: T0 + 10 });
  });
});
