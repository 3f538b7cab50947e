/**
 * Messages between the P4 suite and its authorizer instances (worker threads, each with
 * the real handler module, its caches and its revocation poll).
 */

export interface InstanceToken {
  readonly jti: string;
  readonly token: string;
}

export interface InstanceData {
  /** File URL of the instance module (read by `worker-boot.mjs`). */
  readonly entry: string;
  readonly tokens: readonly InstanceToken[];
  /** Each tick serves one background request plus one per watched token. */
  readonly tickMs: number;
}

export type ToInstance =
  /** This token was revoked: ask for it on every tick until it is refused. */
  { readonly type: 'watch'; readonly jti: string } | { readonly type: 'report' };

export type FromInstance =
  | { readonly type: 'ready' }
  | {
      readonly type: 'report';
      /** jti → monotonic ns (`process.hrtime.bigint()`, one clock per process) of the first 401. */
      readonly rejectedAtNs: ReadonlyMap<string, bigint>;
      readonly decisions: number;
      /** Failures other than the 401 (`Unauthorized`): there must be none. */
      readonly errors: readonly string[];
    };
