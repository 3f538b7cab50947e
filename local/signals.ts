/**
 * Stopping on Ctrl-C or SIGTERM without being killed half-way. One Ctrl-C reaches a process
 * more than once: the terminal signals the whole foreground process group, and `npm run`
 * forwards the signal it got to its child as well. With a `once` listener the second copy
 * finds no listener left, and Node's default action ends the process before its cleanup.
 */

/** A signal this long after the first is a person insisting, not a forwarded copy. */
export const INSIST_AFTER_MS = 2000;

/**
 * Calls `stop` on the first SIGINT or SIGTERM; ignores the copies that follow within
 * `insistAfterMs`, and exits at once (130) on one after that.
 */
export function onStopSignal(
  stop: (signal: NodeJS.Signals) => void,
  onInsist: (signal: NodeJS.Signals) => void = () => undefined,
  insistAfterMs = INSIST_AFTER_MS,
): void {
  let firstMs: number | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (firstMs === undefined) {
      firstMs = Date.now();
      stop(signal);
      return;
    }
    if (Date.now() - firstMs < insistAfterMs) return;
    onInsist(signal);
    process.exit(130);
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
