import { describe, expect, it } from 'vitest';
import { currentDeadline, DeadlineExceeded, withDeadline } from '../../../lambda/adapters/clients/deadline';

describe('withDeadline', () => {
  it('gives the work a budget that its async continuations see, and none outside it', async () => {
    expect(currentDeadline()).toBeUndefined();
    const seen = await withDeadline(10_000, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentDeadline();
    });
    expect(seen?.signal.aborted).toBe(false);
    expect(seen!.at).toBeGreaterThan(Date.now());
    expect(currentDeadline()).toBeUndefined();
  });

  it('aborts the signal with a TimeoutError-named DeadlineExceeded when the budget is spent', async () => {
    const signal = await withDeadline(5, async () => {
      const own = currentDeadline()!.signal;
      await new Promise((resolve) => own.addEventListener('abort', resolve, { once: true }));
      return own;
    });
    expect(signal.reason).toBeInstanceOf(DeadlineExceeded);
    expect((signal.reason as Error).name).toBe('TimeoutError');
  });

  it('keeps the earlier deadline when budgets nest: an inner budget never extends the request’s', async () => {
    await withDeadline(1_000, async () => {
      const outer = currentDeadline()!;
      await withDeadline(60_000, async () => expect(currentDeadline()).toBe(outer));
      await withDeadline(10, async () => expect(currentDeadline()!.at).toBeLessThan(outer.at));
    });
  });

  it('passes the work’s result and failure through', async () => {
    expect(await withDeadline(1_000, async () => 42)).toBe(42);
    await expect(withDeadline(1_000, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});
