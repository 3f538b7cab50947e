/**
 * The local rotation schedule on the real local stack: a scheduled step that changes
 * nothing prints nothing (no `rotation run` line, no EMF blob), while a manual run still
 * prints the function's own line and a scheduled step that changes the ring is logged. With
 * the functions' sources, and with their bundles as deployed (`npm start -- --bundled`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack';

const STEP_SECONDS = 1;

/** Waits for `condition`, bounded only so a broken stack fails with a reason instead of hanging. */
async function until(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(['source', 'bundled'] as const)('the local rotation schedule, functions from their %s', (handlerCode) => {
  let stack: LocalStack;
  let dataDir: string;
  const stdout: string[] = [];
  const logged: string[] = [];
  let scheduledSteps = 0;
  /** Waits until `count` more scheduled steps have finished, however long a loaded machine takes. */
  const moreSteps = async (count: number) => {
    const target = scheduledSteps + count;
    await until(() => scheduledSteps >= target, `${count} scheduled steps`);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-schedule-'));
    // Powertools writes through a Console bound to process.stdout: what a person would see.
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      stdout.push(...String(chunk).split('\n').filter(Boolean));
      return write(chunk, ...(rest as []));
    });
    stack = await startLocalStack({
      port: 0,
      dataDir,
      fresh: true,
      rotationStepSeconds: STEP_SECONDS,
      handlerCode,
      log: (line) => logged.push(line),
      onScheduledStep: () => (scheduledSteps += 1),
    });
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const rotationLines = () => stdout.filter((line) => line.includes('"service":"tollgate-rotation"'));
  const scheduledRuns = () => logged.filter((line) => line.startsWith('{"event":"rotation_run"')).map((line) => JSON.parse(line) as Record<string, unknown>);

  it('prints nothing for scheduled steps that change nothing', { timeout: 120_000 }, async () => {
    // The bootstrap step at start is a manual step and prints as in Lambda.
    expect(rotationLines().some((line) => line.includes('"message":"rotation run"') && line.includes('"scheduled":false'))).toBe(true);
    const before = rotationLines().length;
    await moreSteps(3);
    expect(rotationLines().slice(before)).toEqual([]);
    expect(scheduledRuns()).toEqual([]);
    expect(logged.filter((line) => line.includes('rotation_step_failed'))).toEqual([]);
  });

  it('still shows a manual rotation and the scheduled step that activates its key', async () => {
    const before = rotationLines().length;
    await stack.rotate({ action: 'rotate' });
    const manual = rotationLines().slice(before);
    expect(manual.some((line) => line.includes('"message":"rotation run"') && line.includes('"action":"rotate"'))).toBe(true);

    // The pending key becomes active on the first scheduled step after its publication wait (10 s locally).
    await until(() => scheduledRuns().length > 0, 'the scheduled step that activates the key');
    const [run] = scheduledRuns();
    expect(run).toMatchObject({ event: 'rotation_run', action: 'step', scheduled: true });
    expect(run!.changes).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'state', to: 'active' }), expect.objectContaining({ kind: 'state', to: 'retiring' })]),
    );
    // Only that one step changed something; the quiet instance never prints EMF.
    await moreSteps(2);
    expect(scheduledRuns()).toHaveLength(1);
    expect(rotationLines().slice(before + manual.length)).toEqual([]);
  }, 240_000);
});
