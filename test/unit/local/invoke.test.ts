import { describe, expect, it } from 'vitest';
import { asInvoked } from '../../../local/invoke';

describe('local mode invokes a handler across JSON, as Lambda does', () => {
  it('hands the handler a parsed copy of the event: no undefined keys, dates as strings, nothing shared', async () => {
    const event = { headers: { Host: 'api.example.com', 'X-Absent': undefined }, at: new Date(0), list: [1, 2] };
    let seen: unknown;
    const handler = asInvoked(async (received: typeof event) => {
      seen = received;
      received.list.push(3);
      return 'ok';
    });
    await handler(event);
    expect(seen).toEqual({ headers: { Host: 'api.example.com' }, at: '1970-01-01T00:00:00.000Z', list: [1, 2, 3] });
    expect(Object.keys((seen as typeof event).headers)).toEqual(['Host']);
    expect(event.list).toEqual([1, 2]);
  });

  it("gives the caller the serialized answer, not the handler's objects", async () => {
    const kept = { policy: { Effect: 'Allow' }, usageIdentifierKey: undefined, at: new Date(0) };
    const answer = await asInvoked(async (_event: unknown) => kept)({});
    expect(answer).toEqual({ policy: { Effect: 'Allow' }, at: '1970-01-01T00:00:00.000Z' });
    expect(Object.keys(answer)).not.toContain('usageIdentifierKey');
    (answer.policy as { Effect: string }).Effect = 'Deny';
    expect(kept.policy.Effect).toBe('Allow');
  });

  it('passes a thrown error on as it is, and no answer as no answer', async () => {
    const refusal = new Error('Unauthorized');
    await expect(asInvoked(async (_event: unknown) => Promise.reject(refusal))({})).rejects.toBe(refusal);
    await expect(asInvoked(async (_event: unknown) => undefined)({})).resolves.toBeUndefined();
  });
});
