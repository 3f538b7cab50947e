/**
 * At most one refresh of a cache in flight, shared by every caller that wants it. A
 * refresh that has not settled after `abandonAfterMs` is treated as lost (a connection
 * that hangs without a timeout would otherwise block every later refresh of a warm
 * Lambda instance for its whole life) and the next caller starts a new one.
 */
export class SingleFlight {
  private current: Promise<void> | undefined;
  private startedAtMs = 0;

  constructor(private readonly abandonAfterMs: number) {}

  /** Whether a refresh is running and not yet abandoned. */
  running(nowMs: number): boolean {
    return this.current !== undefined && nowMs - this.startedAtMs < this.abandonAfterMs;
  }

  /** Joins the running task, or starts `task`. The returned promise never rejects. */
  run(nowMs: number, task: () => Promise<void>): Promise<void> {
    if (this.current !== undefined && this.running(nowMs)) return this.current;
    this.startedAtMs = nowMs;
    const flight: Promise<void> = task()
      .catch(() => undefined)
      .finally(() => {
        if (this.current === flight) this.current = undefined;
      });
    this.current = flight;
    return flight;
  }
}
