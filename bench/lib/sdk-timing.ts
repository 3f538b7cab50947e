/**
 * Times every AWS SDK call the process makes, without touching the code that makes them:
 * the handlers build their clients at module scope, so instead of wrapping those clients
 * this wraps `send` on the Smithy client base class every SDK v3 client inherits it from.
 * A call is attributed to the exchange that made it through AsyncLocalStorage (the local
 * stack's stream poller and fan-out share the process and call the SDK too).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { nowNs } from './timing';

export interface SdkCall {
  /** Command class name, e.g. `SignCommand`, `GetCommand`. */
  readonly command: string;
  readonly input: unknown;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** Where the calls made inside `sdkScope.run(log, …)` are recorded. */
export const sdkScope = new AsyncLocalStorage<SdkCall[]>();

type Send = (this: unknown, command: { constructor: { name: string }; input: unknown }, ...rest: unknown[]) => unknown;
interface SendOwner {
  send: Send;
}

/**
 * Wraps `send` of the base class of each given client class (one wrap per distinct base);
 * `onCall` sees every completed call, in or out of a scope. Returns the undo.
 */
export function instrumentSdk(clientClasses: readonly { readonly prototype: object }[], onCall: (call: SdkCall) => void): () => void {
  const bases = new Set(clientClasses.map((cls) => Object.getPrototypeOf(cls.prototype) as SendOwner));
  const undo: Array<() => void> = [];
  for (const base of bases) {
    const original = base.send;
    base.send = function timedSend(this: unknown, command, ...rest) {
      const startNs = nowNs();
      const log = sdkScope.getStore();
      const result = original.call(this, command, ...rest);
      if (result instanceof Promise) {
        const record = () => {
          const call = { command: command.constructor.name, input: command.input, startNs, endNs: nowNs() };
          log?.push(call);
          onCall(call);
        };
        result.then(record, record);
      }
      return result;
    };
    undo.push(() => (base.send = original));
  }
  return () => {
    for (const restore of undo) restore();
  };
}

/** Milliseconds of [fromNs, toNs] covered by at least one call: overlapping calls count once. */
export function coveredMs(calls: readonly Pick<SdkCall, 'startNs' | 'endNs'>[], fromNs: bigint, toNs: bigint): number {
  const clipped = calls
    .map((c) => [c.startNs < fromNs ? fromNs : c.startNs, c.endNs > toNs ? toNs : c.endNs] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let covered = 0n;
  let reach = fromNs;
  for (const [start, end] of clipped) {
    if (end <= reach) continue;
    // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.max does not accept bigint.
    covered += end - (start > reach ? start : reach);
    reach = end;
  }
  return Number(covered) / 1e6;
}
