import { describe, expect, it } from 'vitest';
import { coveredMs, instrumentSdk, sdkScope, type SdkCall } from '../../../bench/lib/sdk-timing';

const ms = (value: number) => BigInt(value * 1e6);
const span = (from: number, to: number) => ({ startNs: ms(from), endNs: ms(to) });

describe('coveredMs', () => {
  it('counts overlapping calls once and clips calls to the window', () => {
    expect(coveredMs([span(1, 3), span(2, 4), span(6, 7)], ms(0), ms(10))).toBe(4);
    expect(coveredMs([span(-5, 2), span(9, 20)], ms(0), ms(10))).toBe(3);
    expect(coveredMs([span(2, 8), span(3, 4)], ms(0), ms(10))).toBe(6);
    expect(coveredMs([], ms(0), ms(10))).toBe(0);
    expect(coveredMs([span(11, 12)], ms(0), ms(10))).toBe(0);
  });
});

class Command {
  constructor(readonly input: unknown) {}
}
class GetThing extends Command {}
class FakeBase {
  send(command: Command): Promise<unknown> | undefined {
    if (command.input === 'callback') return undefined;
    return command.input === 'fail' ? Promise.reject(new Error('nope')) : Promise.resolve(command.input);
  }
}
class FakeClient extends FakeBase {}
class OtherClient extends FakeBase {}

describe('instrumentSdk', () => {
  it('times each call on the shared base once, attributes it to its scope, and can be undone', async () => {
    const seen: SdkCall[] = [];
    const undo = instrumentSdk([FakeClient, OtherClient], (call) => seen.push(call));
    const scoped: SdkCall[] = [];
    await sdkScope.run(scoped, () => new FakeClient().send(new GetThing('a')));
    await expect(new OtherClient().send(new GetThing('fail'))).rejects.toThrow('nope');
    expect(new FakeClient().send(new GetThing('callback'))).toBeUndefined();
    expect(scoped.map((c) => [c.command, c.input])).toEqual([['GetThing', 'a']]);
    expect(seen.map((c) => c.input)).toEqual(['a', 'fail']);
    expect(seen.every((c) => c.endNs >= c.startNs)).toBe(true);
    undo();
    await new FakeClient().send(new GetThing('after'));
    expect(seen).toHaveLength(2);
  });
});
