/**
 * The deployed entry point itself: `lambda/rotation/handler.ts` imported with the
 * environment the stack sets, invoked with the console's test events and the schedule's
 * event, its metrics read back from the EMF lines it prints.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../../common/names';
import { Metric, SERVICE_NAME_ENV } from '../../../common/metrics';
import { InvalidRotationRequest } from '../../../lambda/core/rotation/rotation-errors';
import type { RotationReport } from '../../../lambda/core/rotation/rotation-report';
import { freshTables } from '../../support/aws';
import { rotationEnv } from './support';

type Handler = (event: unknown) => Promise<RotationReport>;

let handler: Handler;
/** As `TollgateFunction` sets it: the deployment's own, which its metrics must carry rather than a constant. */
const DEPLOYED_SERVICE = 'Orders_Auth-rotation';
const printed: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  const tables = await freshTables();
  Object.assign(process.env, rotationEnv(tables), {
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    [SERVICE_NAME_ENV]: DEPLOYED_SERVICE,
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  ({ handler } = (await import('../../../lambda/rotation/handler')) as { handler: Handler });
});

afterAll(() => {
  vi.restoreAllMocks();
  process.env = saved;
});

/** The EMF documents printed since `from`. */
function emf(from: number): Record<string, unknown>[] {
  return printed
    .slice(from)
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('rotation handler', () => {
  it('reports an empty ring on status and bootstraps it on the schedule’s event', async () => {
    const status = await handler({ action: 'status' });
    expect(status.ring).toEqual({ version: 0, activeKid: null, keys: [] });
    expect(status.next).toMatchObject({ action: 'bootstrap' });

    const from = printed.length;
    const step = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
    expect(step).toMatchObject({ action: 'step', scheduled: true, problems: [] });
    expect(step.ring.keys).toEqual([expect.objectContaining({ state: 'active', verifying: true })]);

    const metrics = emf(from);
    expect(metrics).toHaveLength(1);
    const document = metrics[0]!;
    expect(document).toMatchObject({ service: DEPLOYED_SERVICE, [Metric.rotationSucceeded]: 1 });
    expect(document[Metric.activeKeyAgeSeconds]).toEqual(expect.any(Number));
    expect(document).toHaveProperty(Metric.keysExpiring, 0);
    expect(document).toHaveProperty(Metric.keysStale, 0);
    expect(JSON.stringify(document)).toContain(`"Namespace":"${METRICS_NAMESPACE}"`);
  });

  it('refuses an unknown event with an error naming the accepted ones, and counts the failure', async () => {
    const from = printed.length;
    await expect(handler({ action: 'rotate-now' })).rejects.toThrow(InvalidRotationRequest);
    await expect(handler({ action: 'rotate-now' })).rejects.toThrow(/unknown action "rotate-now"; accepted events: \{"action":"rotate"\}/);
    expect(emf(from).map((document) => document[Metric.rotationFailed])).toEqual([1, 1]);
  });

  it('logs each run with what changed, and never key material', async () => {
    const from = printed.length;
    const report = await handler({ action: 'rotate' });
    const pending = report.ring.keys.find((key) => key.state === 'pending')!;
    const logLine = printed
      .slice(from)
      .flatMap((chunk) => chunk.split('\n'))
      .find((line) => line.includes('"rotation run"'));
    expect(JSON.parse(logLine!)).toMatchObject({ level: 'INFO', action: 'rotate', changes: [expect.objectContaining({ kid: pending.kid, to: 'pending' })] });
    const output = printed.join('');
    expect(output).not.toMatch(/BEGIN (PUBLIC|PRIVATE) KEY|MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/);
    expect(output).not.toContain('publicKey');
  });
});
