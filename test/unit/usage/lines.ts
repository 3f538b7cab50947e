/** Access-log lines for the meter's tests, written by the local gateway's own line writer. */
import { accessLogLine } from '../../../local/access-log';

export interface LineSpec {
  readonly atMs: number;
  readonly clientId?: string;
  readonly keyId?: string;
  readonly method?: string;
  readonly path?: string;
  readonly resourcePath?: string;
  readonly status?: number;
  readonly errorType?: string;
  readonly sourceIp?: string;
}

let sequence = 0;

export function line(spec: LineSpec): string {
  sequence += 1;
  const context: Record<string, string> = {};
  if (spec.clientId !== undefined) context.clientId = spec.clientId;
  if (spec.keyId !== undefined) context.keyId = spec.keyId;
  return accessLogLine({
    call: {
      method: spec.method ?? 'GET',
      path: spec.path ?? '/orders/1',
      query: new URLSearchParams(),
      headers: new Map(),
      body: Buffer.alloc(0),
      sourceIp: spec.sourceIp ?? '198.51.100.7',
      requestId: `req-${sequence}`,
      receivedAtMs: spec.atMs,
    },
    status: spec.status ?? 200,
    latencyMs: 3,
    resourcePath: spec.resourcePath ?? '/{proxy+}',
    ...(spec.errorType ? { errorType: spec.errorType } : {}),
    ...(spec.clientId ? { principalId: spec.clientId } : {}),
    context,
  });
}
