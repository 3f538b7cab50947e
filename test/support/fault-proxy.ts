/**
 * A controllable HTTP proxy between the services and DynamoDB Local or the local KMS
 * endpoint, for fault-injection tests and the load-with-faults benchmark. Point a client's
 * endpoint (`EndpointEnv.*`) at {@link FaultProxy.endpoint}; then, at any moment:
 *
 * - `pass()`: forward everything (the default);
 * - `hang()`: accept requests and never answer them (a frozen service, as `SIGSTOP` does);
 * - `delay(ms)`: forward after a delay;
 * - `reset()`: reset the connection (TCP RST) of every request;
 * - `lose()`: forward the request, then drop the answer (the write happened, the caller
 *   never hears of it: the ambiguous case an `Idempotency-Key` exists for);
 * - `refuse()`: stop listening, so new connections are refused (`ECONNREFUSED`);
 * - `fail(name)`: answer as AWS does when throttling or refusing: HTTP 400 with the error
 *   name in `x-amzn-ErrorType` and in the JSON body's `__type` (the awsJson1.0/1.1 protocols
 *   of DynamoDB and KMS), e.g. `ProvisionedThroughputExceededException`,
 *   `ThrottlingException`, `DisabledException`.
 *
 * A fault may be limited to some operations (`X-Amz-Target`, e.g. `DynamoDB_20120810.PutItem`,
 * `TrentService.Sign`) with `only`. `pass()` releases hung requests by resetting them.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Fault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'lose' }
  | { readonly kind: 'fail'; readonly errorName: string; readonly status: number };

export interface FaultScope {
  /** Apply the fault only to requests whose `X-Amz-Target` ends with one of these operations. */
  readonly only?: readonly string[];
  /**
   * Let this many requests through first (shared by every proxy given the same object, so
   * "the process died after its n-th call to DynamoDB or KMS" can be staged).
   */
  readonly after?: Countdown;
  /** Apply the fault to this many requests only, then pass again. */
  readonly times?: number;
}

/** Requests still to let through before a fault applies; decremented by each one. */
export interface Countdown {
  remaining: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Requests seen, by `X-Amz-Target` operation (e.g. `PutItem`), whatever the fault. */
  readonly seen: Map<string, number>;
  /** Forward everything again; listens again after `refuse()`. */
  pass(): Promise<void>;
  hang(scope?: FaultScope): void;
  delay(ms: number, scope?: FaultScope): void;
  reset(scope?: FaultScope): void;
  lose(scope?: FaultScope): void;
  fail(errorName: string, scope?: FaultScope & { readonly status?: number }): void;
  refuse(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let fault: Fault = { kind: 'pass' };
  let only: readonly string[] | undefined;
  let after: Countdown | undefined;
  let times = Number.POSITIVE_INFINITY;
  const hung = new Set<Socket>();
  const sockets = new Set<Socket>();
  const seen = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const operation =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    seen.set(operation, (seen.get(operation) ?? 0) + 1);
    let applies = only === undefined || only.includes(operation);
    if (applies && after && after.remaining > 0) {
      after.remaining -= 1;
      applies = false;
    }
    if (applies) {
      if (times <= 0) applies = false;
      else times -= 1;
    }
    const current: Fault = applies ? fault : { kind: 'pass' };
    switch (current.kind) {
      case 'pass':
        return forward(req, res);
      case 'delay':
        return void setTimeout(() => forward(req, res), current.ms);
      case 'hang':
        hung.add(req.socket);
        req.socket.once('close', () => hung.delete(req.socket));
        req.resume();
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'lose':
        hung.add(req.socket);
        req.socket.once('close', () => hung.delete(req.socket));
        return forward(req, undefined);
      case 'fail':
        req.resume();
        req.once('end', () => {
          res.writeHead(current.status, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-ErrorType': current.errorName });
          res.end(JSON.stringify({ __type: `com.amazonaws.fault-proxy#${current.errorName}`, message: `fault proxy: ${current.errorName}` }));
        });
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  /** To `res`, or nowhere (the answer is read and dropped). */
  function forward(req: IncomingMessage, res: ServerResponse | undefined): void {
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (!res) return void answer.resume();
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  }

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  const port = await listen(0);
  const set = (next: Fault, scope?: FaultScope) => {
    fault = next;
    only = scope?.only;
    after = scope?.after;
    times = scope?.times ?? Number.POSITIVE_INFINITY;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    async pass() {
      set({ kind: 'pass' });
      for (const socket of hung) socket.resetAndDestroy();
      hung.clear();
      if (!server.listening) await listen(port);
    },
    hang: (scope) => set({ kind: 'hang' }, scope),
    delay: (ms, scope) => set({ kind: 'delay', ms }, scope),
    reset: (scope) => set({ kind: 'reset' }, scope),
    lose: (scope) => set({ kind: 'lose' }, scope),
    fail: (errorName, scope) => set({ kind: 'fail', errorName, status: scope?.status ?? 400 }, scope),
    refuse: stopListening,
    close: async () => {
      if (server.listening) await stopListening();
    },
  };
}
